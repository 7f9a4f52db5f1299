"""Without the connection that hears user changes, the token cache caches nothing, and keeps
trying to listen until asked to stop."""

from __future__ import annotations

import asyncio

import pytest
from mitl_review import user_changes
from mitl_review.core.auth import User
from mitl_review.token_cache import TokenCache

ANN = User("ann", "annotator")


async def test_nothing_is_cached_while_the_database_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(user_changes, "RECONNECT_SECONDS", 0.01)
    cache = TokenCache(30)
    cache.put("h", ANN, cache.generation)
    stop = asyncio.Event()
    # Port 1 on localhost refuses connections at once.
    listener = asyncio.create_task(
        user_changes.listen("postgresql://nobody@127.0.0.1:1/none", cache, stop)
    )
    await asyncio.sleep(0.1)
    assert cache.listening is False and cache.get("h") is None
    cache.put("h", ANN, cache.generation)
    assert cache.get("h") is None
    stop.set()
    await asyncio.wait_for(listener, 5)
