"""The one base for errors that mean an HTTP status: a service's pure core raises them, and its
HTTP layer answers with `status` and `message` (what the caller reads, naming the fault)."""

from __future__ import annotations


class StatusError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
