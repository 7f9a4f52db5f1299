"""The token cache remembers known users for a while, and no longer."""

from __future__ import annotations

from mitl_review import token_cache
from mitl_review.core.auth import User
from mitl_review.token_cache import TokenCache

ANN = User("ann", "annotator")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_user_is_remembered_until_the_ttl_passes() -> None:
    clock = Clock()
    cache = TokenCache(30, clock)
    assert cache.get("h") is None
    cache.put("h", ANN)
    clock.now += 29.9
    assert cache.get("h") == ANN
    clock.now += 0.1
    assert cache.get("h") is None and "h" not in cache.entries


def test_a_zero_ttl_caches_nothing() -> None:
    cache = TokenCache(0, Clock())
    cache.put("h", ANN)
    assert cache.get("h") is None


def test_the_cache_is_bounded() -> None:
    cache = TokenCache(30, Clock())
    for i in range(token_cache.MAX_ENTRIES):
        cache.put(f"h{i}", ANN)
    cache.put("one-more", ANN)
    assert len(cache.entries) == 1 and cache.get("one-more") == ANN
