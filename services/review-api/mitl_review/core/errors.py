"""Errors the core raises, each carrying the HTTP status it means and a message for a person."""

from __future__ import annotations


class ReviewError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ReviewError):
    status_code = 404


class Forbidden(ReviewError):
    """The caller is authenticated but their role may not do this."""

    status_code = 403


class Conflict(ReviewError):
    """The task's state does not allow this now (leased by someone else, lease expired, done)."""

    status_code = 409


class Unprocessable(ReviewError):
    """The request is well-formed but its content is not acceptable for this task."""

    status_code = 422
