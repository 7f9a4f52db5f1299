"""The generic `mitl` subcommands, one module each (mitl_cli.main), and the argument types
they share."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """An argparse `type`: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value
