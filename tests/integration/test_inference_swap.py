"""Hot swap against the real broker and Postgres: two inference replicas score a stream of
items while `mitl models promote` makes a new version champion mid-stream. Every item is
scored exactly once, by one version (the one that claimed it), including a batch redelivered
after the swap and an item whose claim a crash left unpublished; both replicas switch; the
items still waiting for a person are re-scored by the new champion, the labeled ones not."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import pytest
from mitl_contracts import topics
from mitl_contracts.events import Event, ItemContent, ItemIngested, Label, Prediction
from mitl_inference.app import create_app
from mitl_inference.settings import Settings
from mitl_ml.bootstrap import bootstrap_splits, build_bootstrap
from mitl_ml.manifest import read_manifest
from mitl_runtime.broker import EventPublisher
from mitl_runtime.settings import ServiceSettings

from tests.support import TopicReader, eventually, own_broker, own_database, running_app

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def swap_db() -> Iterator[str]:
    yield from own_database("mitl_swap")


# A broker of this module's own: its promotions are no other module's history.
kafka = pytest.fixture(scope="module", name="kafka")(own_broker)


@pytest.fixture(scope="module")
def second_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another MiniLM head, trained on a different seed set: a new version of trec6."""
    out = tmp_path_factory.mktemp("models") / "trec6-minilm-s1"
    build_bootstrap(out, dataset="trec6", kind="minilm", seed_size=300, seed=1)
    return out


async def mitl(env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mitl_cli.main",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return int(process.returncode or 0), out.decode()


class Stream:
    """Publishes ingested items of one run, remembering their order."""

    def __init__(self, kafka: str, run: str, database_url: str) -> None:
        self.publisher = EventPublisher(ServiceSettings(kafka_bootstrap_servers=kafka), "test")
        self.run = run
        self.database_url = database_url
        self.texts = bootstrap_splits("trec6", seed_size=300, seed=0).pool.texts()
        self.sent: list[ItemIngested] = []

    def item(self, name: str) -> ItemIngested:
        return ItemIngested(
            event_id=f"ing-{self.run}-{name}",
            dataset="trec6",
            item_id=f"{self.run}-{name}",
            external_id=name,
            batch_id=self.run,
            content=ItemContent(text=self.texts[len(self.sent) % len(self.texts)]),
        )

    async def send(self, events: list[Event], topic: str = topics.ITEMS_INGESTED) -> None:
        await self.publisher.publish(topic, events)

    async def chunk(self, size: int) -> list[ItemIngested]:
        chunk = [self.item(str(len(self.sent) + i)) for i in range(size)]
        self.sent += chunk
        await self.send(list(chunk))
        await self.claimed(chunk)
        return chunk

    async def claimed(self, items: list[ItemIngested]) -> None:
        """Until inference has claimed every item of `items`: the stream goes at the pace the
        replicas take it, so the promotion lands among chunks still being scored."""
        conn = await asyncpg.connect(self.database_url)
        try:
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = $2 FROM registry.scored WHERE item_id = ANY($1::text[])",
                    [i.item_id for i in items],
                    len(items),
                ),
                timeout=60,
                interval=0.02,
            )
        finally:
            await conn.close()


async def test_promotion_mid_stream_scores_every_item_once(
    kafka: str, swap_db: str, bootstrap_model: Path, second_model: Path, tmp_path: Path
) -> None:
    datasets = tmp_path / "datasets.yaml"
    datasets.write_text(
        "datasets:\n  trec6:\n    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]\n"
        f"    model: {bootstrap_model}\n"
    )
    common = {
        "kafka_bootstrap_servers": kafka,
        "database_url": swap_db,
        "datasets_file": datasets,
        "artifact_dir": tmp_path / "artifacts",
    }
    cli_env = {f"MITL_{k.upper()}": str(v) for k, v in common.items()}
    old, new = read_manifest(bootstrap_model).version, read_manifest(second_model).version
    code, out = await mitl(cli_env, "models", "register", str(second_model))
    assert code == 0, out
    settings = Settings(
        **common,
        kafka_session_timeout_ms=2000,
        kafka_heartbeat_interval_ms=300,
        kafka_max_batch=32,
        rescore_settle_ms=500,
        rescore_window=5000,
    )
    run = uuid.uuid4().hex[:8]
    stream = Stream(kafka, run, swap_db)
    await stream.publisher.start()
    async with AsyncExitStack() as replicas:
        clients = [
            await replicas.enter_async_context(
                running_app(create_app(settings.model_copy(update={"replica_id": r})))
            )
            for r in "ab"
        ]
        first = await stream.chunk(20)
        # The router auto-accepted these: they are labeled and never re-scored.
        labeled = first[:10]
        await stream.send(
            [
                Label(
                    event_id=f"label-{i.item_id}",
                    dataset="trec6",
                    item_id=i.item_id,
                    label="LOC",
                    source="model",
                    action="auto_accept",
                    model_version=old,
                )
                for i in labeled
            ],
            topics.LABELS,
        )
        pool = await asyncpg.connect(swap_db)

        async def labels_known() -> bool:
            count = await pool.fetchval(
                "SELECT count(*) FROM registry.recent WHERE labeled AND item_id = ANY($1::text[])",
                [i.item_id for i in labeled],
            )
            return count == len(labeled)

        await eventually(labels_known, timeout=60)
        # A replica crashed after claiming this item for the old champion, before publishing.
        crashed = stream.item("crashed")
        await pool.execute(
            "INSERT INTO registry.scored (dataset, item_id, model_version) VALUES ($1, $2, $3)",
            "trec6",
            crashed.item_id,
            old,
        )
        await pool.close()

        promote = asyncio.create_task(mitl(cli_env, "models", "promote", "trec6", new))
        while not promote.done() and len(stream.sent) < 300:
            await stream.chunk(8)
        code, out = await promote
        assert code == 0, out
        await stream.send([crashed])
        after = [i for _ in range(6) for i in await stream.chunk(10)]
        await stream.send(list(stream.sent[:30]))  # redelivered after the swap
        items = [*stream.sent, crashed]

        async with TopicReader(kafka, topics.PREDICTIONS) as reader:

            def mine() -> list[Prediction]:
                return [p for p in reader.events(Prediction) if p.batch_id == run]

            await reader.wait_for(
                lambda _: {p.item_id for p in mine()} >= {i.item_id for i in items}, timeout=120
            )
            pool = await asyncpg.connect(swap_db)
            rows = await pool.fetch(
                "SELECT item_id, model_version, published FROM registry.scored"
                " WHERE item_id LIKE $1",
                f"{run}-%",
            )
            await pool.close()
            claimed = {r["item_id"]: r["model_version"] for r in rows}
            unlabeled_old = {i for i, v in claimed.items() if v == old} - {
                i.item_id for i in labeled
            }
            await reader.wait_for(
                lambda _: {p.item_id for p in mine() if p.model_version == new} >= unlabeled_old,
                timeout=120,
            )
            # Anything scored twice would show up within this second.
            until = time.monotonic() + 1.0
            await reader.wait_for(lambda _: time.monotonic() > until)

        async def switched() -> bool:
            served = [(await c.get("/v1/models")).json()["trec6"]["version"] for c in clients]
            return served == [new, new]

        await eventually(switched)
    await stream.publisher.stop()

    predictions = mine()
    assert len(rows) == len(items) and all(r["published"] for r in rows)
    assert set(claimed.values()) == {old, new}, "the promotion did not land mid-stream"
    assert claimed[crashed.item_id] == old
    assert all(claimed[i.item_id] == new for i in after)
    records = Counter(p.event_id for p in predictions)
    contents: dict[str, set[str]] = defaultdict(set)
    for p in predictions:
        contents[p.event_id].add(json.dumps([p.model_version, p.probabilities]))
    # A record redelivered by Kafka is the same event (same id, same content).
    assert all(len(c) == 1 for c in contents.values())
    ids_by_item: dict[str, set[str]] = defaultdict(set)
    for p in predictions:
        ids_by_item[p.item_id].add(p.model_version)
    for item in items:
        versions = ids_by_item[item.item_id]
        expected = {old, new} if item.item_id in unlabeled_old else {claimed[item.item_id]}
        assert versions == expected, (item.item_id, versions, claimed[item.item_id])
    assert len(records) == len(items) + len(unlabeled_old)
