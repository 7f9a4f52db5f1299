"""Listening for user changes (store.users.CHANGES) on a connection of its own, clearing the
token cache on each: a rotated token, a disabled user or a changed assignment takes effect on
the next request. While the connection is down, the cache caches nothing (every request looks
its token up) until listening again."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from mitl_review.store.users import CHANGES
from mitl_review.token_cache import TokenCache

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


async def listen(database_url: str, cache: TokenCache, stop: asyncio.Event) -> None:
    cache.set_listening(False)
    while not stop.is_set():
        lost = asyncio.Event()
        try:
            conn = await asyncpg.connect(database_url)
        except (OSError, asyncpg.PostgresError) as error:
            log.warning("cannot listen for user changes (%s); tokens are not cached", error)
        else:
            try:
                conn.add_termination_listener(lambda _, lost=lost: lost.set())
                await conn.add_listener(CHANGES, lambda *_: cache.clear())
                cache.set_listening(True)
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
                _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
            finally:
                cache.set_listening(False)
                if not conn.is_closed():
                    await conn.close(timeout=5)
        if not stop.is_set():
            await asyncio.sleep(RECONNECT_SECONDS)
