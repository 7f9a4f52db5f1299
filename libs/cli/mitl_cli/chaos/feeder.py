"""Streams a workload into the platform at a steady rate, as client systems would: HTTP items
in batches to ingest, topic items to the raw topic. A client retries what was not
acknowledged (connection refused while ingest restarts, 5xx while PostgreSQL is down) until it
is; an item counts as "in" once ingest answered for it (accepted, or a duplicate of one it
already has) or the broker acknowledged it on the raw topic.

With several ingest replicas, batches go to them in turn (as a load balancer would), and a
batch whose replica does not answer is retried at the next one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from mitl_contracts import topics
from mitl_runtime.progress import Report

from mitl_cli.chaos.workload import DATASET, Item

MAX_RETRY_DELAY_S = 2.0
HTTP_IN_FLIGHT = 8
# A client gives up on a batch nobody acknowledged for this long (its items are not "in").
GIVE_UP_S = 300.0


@dataclass
class FeedLog:
    """What the clients saw. `sent_at` is the wall time of an item's first attempt; `failures`
    counts failed attempts by kind (an HTTP status, or the client's exception)."""

    sent_at: dict[str, float] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def retries(self) -> int:
        return sum(self.failures.values())

    @property
    def sent(self) -> int:
        return len(self.sent_at)


def raw_event(item: Item) -> bytes:
    """The item as a client publishes it to mitl.items.raw.v1 (a stable event id: a client
    that republishes after a timeout sends the same event)."""
    return json.dumps(
        {
            "event_id": f"raw-{item.external_id}",
            "dataset": DATASET,
            "external_id": item.external_id,
            "text": item.text,
            "metadata": item.metadata,
        }
    ).encode()


class Feeder:
    def __init__(
        self,
        ingest_url: str | Sequence[str],
        bootstrap: str,
        items: list[Item],
        rate: float,
        batch_size: int = 25,
        milestone: int | None = None,
        progress: Report | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Sent with every POST: the ingest client's key.
        self.headers = headers
        self.ingest_urls = [ingest_url] if isinstance(ingest_url, str) else list(ingest_url)
        self._turn = itertools.count()
        self.bootstrap = bootstrap
        self.items = items
        self.rate = rate
        self.batch_size = batch_size
        self.log = FeedLog()
        # Set once `milestone` items were sent (or the stream ended): when a fault goes in.
        self.milestone = milestone if milestone is not None else len(items)
        self.reached = asyncio.Event()
        self._in_flight = asyncio.Semaphore(HTTP_IN_FLIGHT)
        # Told (items sent, items in the stream) after every batch: the progress bar.
        self.progress = progress

    async def run(self) -> FeedLog:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False, linger_ms=5
        )
        await producer.start()
        try:
            async with httpx.AsyncClient(timeout=30, headers=self.headers) as client:
                await self._stream(client, producer)
        finally:
            await producer.stop()
            self.reached.set()
        return self.log

    async def _stream(self, client: httpx.AsyncClient, producer: AIOKafkaProducer) -> None:
        interval = self.batch_size / self.rate if self.rate > 0 else 0.0
        next_at = time.monotonic()
        posts: list[asyncio.Task[None]] = []
        for start in range(0, len(self.items), self.batch_size):
            chunk = self.items[start : start + self.batch_size]
            now = time.time()
            for item in chunk:
                self.log.sent_at[item.item_id] = now
            if self.log.sent >= self.milestone:
                self.reached.set()
            over_http = [i for i in chunk if i.via == "http"]
            if over_http:
                await self._in_flight.acquire()
                posts.append(asyncio.create_task(self._post(client, over_http)))
            await self._publish(producer, [i for i in chunk if i.via == "topic"])
            if self.progress is not None:
                self.progress(self.log.sent, len(self.items))
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*posts)

    async def _post(self, client: httpx.AsyncClient, items: list[Item]) -> None:
        body = {"dataset": DATASET, "items": [i.body() for i in items]}
        give_up = time.monotonic() + GIVE_UP_S
        response: httpx.Response | None = None
        turn = next(self._turn)
        try:
            attempt = 0
            while time.monotonic() < give_up:
                url = self.ingest_urls[(turn + attempt) % len(self.ingest_urls)]
                try:
                    response = await client.post(f"{url}/v1/items", json=body)
                except httpx.HTTPError as error:
                    response = None
                    self.log.failures[type(error).__name__] += 1
                    if isinstance(error, httpx.ConnectError) and (attempt + 1) % len(
                        self.ingest_urls
                    ):
                        attempt += 1  # nobody there: the next replica at once (a pause
                        continue  # only after every replica was tried)
                else:
                    if response.status_code < 500:
                        break
                    self.log.failures[f"http {response.status_code}"] += 1
                attempt += 1
                await asyncio.sleep(min(MAX_RETRY_DELAY_S, 0.05 * 2**attempt))
        finally:
            self._in_flight.release()
        if response is None:
            for item in items:
                self.log.rejected[item.item_id] = f"no answer from ingest in {GIVE_UP_S:.0f}s"
            return
        if response.status_code != 200:
            for item in items:
                self.log.rejected[item.item_id] = f"{response.status_code}: {response.text}"
            return
        for item, outcome in zip(items, response.json()["items"], strict=True):
            if outcome["status"] == "rejected":
                self.log.rejected[item.item_id] = outcome["reason"]
            else:
                self.log.acknowledged.add(item.item_id)

    async def _publish(self, producer: AIOKafkaProducer, items: list[Item]) -> None:
        pending = [(item, await self._send(producer, item)) for item in items]
        for item, delivery in pending:
            attempt = 0
            while True:
                try:
                    await delivery
                    break
                except KafkaError as error:
                    attempt += 1
                    self.log.failures[type(error).__name__] += 1
                    await asyncio.sleep(min(MAX_RETRY_DELAY_S, 0.05 * 2**attempt))
                    delivery = await self._send(producer, item)
            self.log.acknowledged.add(item.item_id)

    @staticmethod
    async def _send(producer: AIOKafkaProducer, item: Item) -> asyncio.Future[object]:
        return await producer.send(topics.ITEMS_RAW, raw_event(item), key=item.item_id.encode())
