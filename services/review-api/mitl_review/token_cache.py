"""Recently seen tokens and their users, so that a busy annotator's every request does not cost
a database round trip to authenticate. Keyed by the token's sha256, like the users table.

Only active users are cached, and never past their token's expiry. Rotating a token,
disabling a user or changing their datasets is announced by the database (store.users.CHANGES,
listened to by user_changes), which clears the cache at once. While that connection is
known to be down, nothing is cached at all. The bound that remains: a connection that silently
stops delivering leaves a changed user served from the cache for at most `ttl_seconds`. A
lookup that raced a change (it read the user before the change, and the notification cleared
the cache before it was put) is not cached: `put` takes the generation read before the lookup."""

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
        # Bumped by every clear: a lookup begun before it must not repopulate the cache.
        self.generation = 0
        # Whether changes are being listened to; without that nothing is cached.
        self.listening = True

    def get(self, token_sha256: str) -> User | None:
        entry = self.entries.get(token_sha256)
        if entry is None:
            return None
        user, expires = entry
        if expires <= self.clock():
            del self.entries[token_sha256]
            return None
        return user

    def put(
        self,
        token_sha256: str,
        user: User,
        generation: int,
        valid_for_seconds: float | None = None,
    ) -> None:
        """Remember `user` for the token, for `ttl_seconds` but never longer than the token's
        remaining `valid_for_seconds`; nothing if the cache was cleared since `generation`."""
        ttl = self.ttl if valid_for_seconds is None else min(self.ttl, valid_for_seconds)
        if ttl <= 0 or not self.listening or generation != self.generation:
            return
        if len(self.entries) >= MAX_ENTRIES:
            # Unknown tokens are never cached, so only real users fill it; starting over is
            # simpler than an LRU and costs one lookup per active user.
            self.entries.clear()
        self.entries[token_sha256] = (user, self.clock() + ttl)

    def clear(self) -> None:
        self.entries.clear()
        self.generation += 1

    def set_listening(self, listening: bool) -> None:
        """Whether user changes are being heard; when not, nothing cached is trusted."""
        self.listening = listening
        self.clear()
