"""Run one service's ASGI app: the entry point of every service's `__main__`."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from mitl_runtime.settings import ServiceSettings, logger_levels

S = TypeVar("S", bound=ServiceSettings)
# Allocations between young-generation collections (tune_gc; the default is 700).
GC_THRESHOLD = 50_000
# The largest request line and headers a service reads when uvicorn parses HTTP with h11 (its
# fallback where httptools is missing). h11's default (16 KiB) applies only when the head
# arrives in more than one read, so a long URL (a 3,000-emoji dataset name is 36 KB
# percent-encoded) got uvicorn's plain-text 400 or the app's JSON answer depending on how TCP
# split it. 64 KiB lets such URLs reach the app, which says what is wrong in JSON.
MAX_REQUEST_HEAD_BYTES = 64 * 1024


def serve(create_app: Callable[[S], FastAPI], settings: S) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, level in logger_levels(settings.log_levels).items():
        logging.getLogger(name).setLevel(level)
    app = create_app(settings)
    tune_gc()
    # Access logs are noise at thousands of requests a second; errors still reach the log.
    # uvloop and httptools (both locked dependencies): `mitl bench review` on an idle 2-core
    # machine, 100 annotators, took 2.10-2.15 ms of the service's CPU per claim+submit instead
    # of 2.95-2.97 ms with asyncio's loop and h11, p99 45-59 ms instead of 64-78 ms.
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )


def tune_gc() -> None:
    """Move what startup built (modules, models, settings) out of the collector's sight and
    collect the young generation less often. Every event makes a few hundred short-lived
    objects; with the default threshold (700 allocations) the cyclic collector took about a
    tenth of the services' CPU in the TF-IDF benchmark (perf). Reference counting still
    frees almost everything at once; only cycles wait for a collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 20)
