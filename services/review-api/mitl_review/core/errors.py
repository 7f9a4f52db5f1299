"""Errors the core raises, each carrying the HTTP status it means and a message for a person."""

from __future__ import annotations

from mitl_runtime.status_error import StatusError


class ReviewError(StatusError):
    status = 400


class NotFound(ReviewError):
    status = 404


class Forbidden(ReviewError):
    """The caller is authenticated but their role may not do this."""

    status = 403


class Conflict(ReviewError):
    """The task's state does not allow this now (leased by someone else, lease expired, done)."""

    status = 409


class Unprocessable(ReviewError):
    """The request is well-formed but its content is not acceptable for this task."""

    status = 422
