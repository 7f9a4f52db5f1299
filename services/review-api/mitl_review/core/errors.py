"""Errors the core raises, each carrying the HTTP status it means and a message for a person."""

from __future__ import annotations

from mitl_runtime.auth.errors import Forbidden, Unauthenticated
from mitl_runtime.status_error import StatusError

# A refusal of the caller (401, 403) is the runtime's, as in every service with guarded routes.
__all__ = ["Conflict", "Forbidden", "NotFound", "ReviewError", "Unauthenticated", "Unprocessable"]


class ReviewError(StatusError):
    """A refusal by the review rules; each kind below carries its own status."""


class NotFound(ReviewError):
    status = 404


class Conflict(ReviewError):
    """The task's state does not allow this now (leased by someone else, lease expired, done)."""

    status = 409


class Unprocessable(ReviewError):
    """The request is well-formed but its content is not acceptable for this task."""

    status = 422
