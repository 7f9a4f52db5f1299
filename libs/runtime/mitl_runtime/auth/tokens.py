"""Secrets as the platform keeps them: generated with `secrets`, stored and compared only as
their sha256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token(prefix: str = "") -> str:
    """A fresh secret: `prefix` then 43 URL-safe characters (256 bits)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The hex sha256 kept at rest in place of the token (a leaked table leaks no token)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
