"""How a `mitl` subcommand hands over a secret it shows only once (a client key, a user's
token): the secret alone on stdout, so that `TOKEN=$(mitl users create ...)` captures it, and
what was done on stderr."""

from __future__ import annotations

import sys


def show_once(secret: str, message: str) -> int:
    """Print `message` to stderr and `secret` to stdout; the command's exit code, 0."""
    print(message, file=sys.stderr)
    print(secret)
    return 0
