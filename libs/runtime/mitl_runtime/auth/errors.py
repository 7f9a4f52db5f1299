"""Refusals. The message is what the caller reads: it names the fault without saying which
part of a credential was right, and never holds the credential itself."""

from __future__ import annotations

from mitl_runtime.status_error import StatusError


class AuthError(StatusError):
    """A refusal by the authentication layer; each kind below carries its own status."""


class Unauthenticated(AuthError):
    """No credential, a malformed one, or one that is not (or no longer) valid: 401."""

    status = 401


class Forbidden(AuthError):
    """A valid credential without the right to do this: 403."""

    status = 403


class RateLimited(AuthError):
    """Over the caller's rate limit: 429, with the seconds to wait."""

    status = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooLarge(AuthError):
    """A body over the caller's limit: 413."""

    status = 413


MISSING = "missing credentials: send the header 'Authorization: Bearer <token>'"
NOT_VALID = (
    "the bearer token is not valid (unknown, revoked, expired or not meant for this service)"
)


class Unavailable(AuthError):
    """The identity provider's keys cannot be fetched now: 503, the caller may retry."""

    status = 503
