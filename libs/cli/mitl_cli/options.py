"""Options several `mitl` commands share: which broker the stack runs on, and no progress."""

from __future__ import annotations

import argparse

from mitl_runtime.localinfra import BROKER_KINDS

BROKER_HELP = "Apache Kafka (needs Java and `make kafka`), or the embedded in-memory stand-in"


def add_progress_argument(
    parser: argparse.ArgumentParser, help: str = "no progress on stderr"
) -> None:
    """`--no-progress` (dest `progress`): no progress on stderr; what goes to stdout is the
    same either way."""
    parser.add_argument("--no-progress", dest="progress", action="store_false", help=help)


def add_broker_argument(parser: argparse.ArgumentParser, help: str = BROKER_HELP) -> None:
    """`--broker`: what the command's stack runs on, Apache Kafka by default."""
    parser.add_argument("--broker", choices=BROKER_KINDS, default="kafka", help=help)
