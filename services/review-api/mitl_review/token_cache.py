"""Recently seen tokens and their users, so that a busy annotator's every request does not cost
a database round trip to authenticate. Keyed by the token's sha256, like the users table."""

from __future__ import annotations

import time
from collections.abc import Callable

from mitl_review.core.auth import User

MAX_ENTRIES = 10_000


class TokenCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self.entries: dict[str, tuple[User, float]] = {}

    def get(self, token_sha256: str) -> User | None:
        entry = self.entries.get(token_sha256)
        if entry is None:
            return None
        user, expires = entry
        if expires <= self.clock():
            del self.entries[token_sha256]
            return None
        return user

    def put(self, token_sha256: str, user: User) -> None:
        if self.ttl <= 0:
            return
        if len(self.entries) >= MAX_ENTRIES:
            # Unknown tokens are never cached, so only real users fill it; starting over is
            # simpler than an LRU and costs one lookup per active user.
            self.entries.clear()
        self.entries[token_sha256] = (user, self.clock() + self.ttl)
