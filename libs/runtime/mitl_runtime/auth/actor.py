"""Who made a change, as the audit chain records it: `user:<id>` for a person over HTTP
(`person`), `cli:<os user>` for a command run with the database's credentials (`local`)."""

from __future__ import annotations

import getpass
import os


def person(user_id: str) -> str:
    return f"user:{user_id}"


def local() -> str:
    """The operating-system user running this process (its uid where it has no name, as in
    a container without a passwd entry)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = f"uid-{os.getuid()}"
    return f"cli:{name}"
