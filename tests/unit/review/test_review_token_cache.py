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
    cache.put("h", ANN, cache.generation)
    clock.now += 29.9
    assert cache.get("h") == ANN
    clock.now += 0.1
    assert cache.get("h") is None and "h" not in cache.entries


def test_a_zero_ttl_caches_nothing() -> None:
    cache = TokenCache(0, Clock())
    cache.put("h", ANN, cache.generation)
    assert cache.get("h") is None


def test_the_cache_is_bounded() -> None:
    cache = TokenCache(30, Clock())
    for i in range(token_cache.MAX_ENTRIES):
        cache.put(f"h{i}", ANN, 0)
    cache.put("one-more", ANN, 0)
    assert len(cache.entries) == 1 and cache.get("one-more") == ANN


def test_never_past_the_token_s_expiry() -> None:
    clock = Clock()
    cache = TokenCache(30, clock)
    cache.put("h", ANN, cache.generation, valid_for_seconds=5)
    clock.now += 4.9
    assert cache.get("h") == ANN
    clock.now += 0.1
    assert cache.get("h") is None
    cache.put("gone", ANN, cache.generation, valid_for_seconds=0)  # expired on arrival
    assert cache.get("gone") is None


def test_a_change_clears_the_cache_and_a_lookup_that_raced_it_is_not_kept() -> None:
    cache = TokenCache(30, Clock())
    cache.put("h", ANN, cache.generation)
    before = cache.generation  # a lookup begins
    cache.clear()  # a user changed meanwhile (the database's notification)
    assert cache.get("h") is None
    cache.put("h2", ANN, before)  # what the lookup read may be stale: not kept
    assert cache.get("h2") is None
    cache.put("h2", ANN, cache.generation)
    assert cache.get("h2") == ANN


def test_nothing_is_cached_while_changes_are_not_heard() -> None:
    cache = TokenCache(30, Clock())
    cache.put("h", ANN, cache.generation)
    cache.set_listening(False)
    assert cache.get("h") is None
    cache.put("h", ANN, cache.generation)
    assert cache.get("h") is None
    cache.set_listening(True)
    cache.put("h", ANN, cache.generation)
    assert cache.get("h") == ANN
