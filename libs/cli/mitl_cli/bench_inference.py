"""`mitl bench inference`: one model, bare in onnxruntime and through the running pipeline.

Starts a Tansu broker, a fresh Postgres database and ingest, inference and router as real
processes (LocalStack, free ports), then:
1. bare: the model scores the items in micro-batches in this process (onnxruntime, 2 threads);
2. saturation: all items are POSTed to ingest as fast as it takes them; throughput is items
   over the time from the first POST to the last routing decision;
3. sustained: items are POSTed at `--sustained-fraction` of that throughput; latency is each
   decision's occurred_at minus the time its item was POSTed (same clock, same machine).
Prints model, items, bare_items_per_s, pipeline_items_per_s, ratio, p50_ms and p99_ms (of the
sustained phase), burst latencies, inference_rss_mb, and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time
import uuid
from pathlib import Path

from mitl_cli.commands.bench import emit, machine, memory_mb, percentile

ROOT = Path.cwd()
DATASET = "trec6"
POST_INTERVAL_S = 0.05


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("inference", help="model bare vs through the pipeline")
    parser.add_argument("--model", choices=("minilm", "tfidf"), default="minilm")
    parser.add_argument("--items", type=int, default=3000, help="items in the saturation run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--micro-batch", type=int, default=256, help="services' max_records")
    parser.add_argument("--batch-timeout-ms", type=int, default=10)
    parser.add_argument("--post-batch", type=int, default=500, help="items per POST (saturation)")
    parser.add_argument("--sustained-fraction", type=float, default=0.8)
    parser.add_argument("--sustained-seconds", type=float, default=15.0)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local" / "bench" / "inference")
    parser.set_defaults(func=run)


def bundle_for(kind: str, workdir: Path) -> Path:
    """The bootstrap bundle of `kind`: the repository's for MiniLM if built, else built here."""
    shipped = ROOT / "models" / "trec6-bootstrap"
    if kind == "minilm" and (shipped / "manifest.json").exists():
        return shipped
    out = workdir / f"trec6-{kind}"
    if not (out / "manifest.json").exists():
        from mitl_ml.bootstrap import build_bootstrap

        build_bootstrap(out, dataset=DATASET, kind="minilm" if kind == "minilm" else "tfidf")
    return out


def texts(n: int) -> list[str]:
    from mitl_ml.datasets import load_dataset

    every = load_dataset(DATASET).texts()
    return list(itertools.islice(itertools.cycle(every), n))


def bare_throughput(bundle: Path, items: list[str], micro_batch: int) -> float:
    """Items per second of the model alone, scoring `items` in micro-batches."""
    from mitl_ml.runtime import load_model

    model = load_model(bundle, intra_op_threads=2)
    model.predict(items[:micro_batch])  # first-run allocations are not throughput
    started = time.perf_counter()
    for start in range(0, len(items), micro_batch):
        model.predict(items[start : start + micro_batch])
    return len(items) / (time.perf_counter() - started)


def datasets_file(workdir: Path, bundle: Path) -> Path:
    import yaml
    from mitl_contracts.datasets import load_catalog

    entry = load_catalog(ROOT / "config" / "datasets.yaml").get(DATASET).model_dump(mode="json")
    entry.pop("name")
    entry["model"] = str(bundle.resolve())
    path = workdir / "datasets.yaml"
    path.write_text(yaml.safe_dump({"datasets": {DATASET: entry}}))
    return path


class Decisions:
    """Reads mitl.decisions.v1 from the start: item id -> decision time (epoch seconds)."""

    def __init__(self, bootstrap: str) -> None:
        from aiokafka import AIOKafkaConsumer

        self.at: dict[str, float] = {}
        self.consumer = AIOKafkaConsumer(
            "mitl.decisions.v1",
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
        )

    async def collect(self) -> None:
        from datetime import datetime

        async for record in self.consumer:
            decision = json.loads(record.value)
            at = datetime.fromisoformat(decision["occurred_at"]).timestamp()
            self.at.setdefault(decision["item_id"], at)

    async def wait(self, item_ids: set[str], timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while not item_ids <= self.at.keys():
            if time.monotonic() > deadline:
                missing = len(item_ids - self.at.keys())
                raise TimeoutError(f"{missing} of {len(item_ids)} items got no decision")
            await asyncio.sleep(0.02)


class Poster:
    """POSTs item batches to ingest; remembers when each item was sent (epoch seconds)."""

    def __init__(self, client: object, phase: str) -> None:
        self.client = client
        self.phase = phase
        self.sent_at: dict[str, float] = {}
        self.count = 0

    async def post(self, batch: list[str]) -> None:
        items = [
            {"external_id": f"{self.phase}-{self.count + i}", "text": t} for i, t in enumerate(batch)
        ]
        self.count += len(batch)
        sent = time.time()
        response = await self.client.post(  # type: ignore[attr-defined]
            "/v1/items", json={"dataset": DATASET, "items": items}
        )
        response.raise_for_status()
        for outcome in response.json()["items"]:
            self.sent_at[outcome["item_id"]] = sent


def latencies_ms(poster: Poster, decisions: Decisions) -> list[float]:
    return [(decisions.at[i] - sent) * 1000 for i, sent in poster.sent_at.items()]


async def measure(ingest_url: str, bootstrap: str, args: argparse.Namespace) -> dict[str, float]:
    import httpx

    decisions = Decisions(bootstrap)
    await decisions.consumer.start()
    reader = asyncio.create_task(decisions.collect())
    limits = httpx.Limits(max_connections=8)
    try:
        async with httpx.AsyncClient(base_url=ingest_url, timeout=120, limits=limits) as client:
            warm = Poster(client, "warm")
            await warm.post(texts(args.micro_batch))
            await decisions.wait(set(warm.sent_at))

            burst, pool = Poster(client, "burst"), texts(args.items)
            started = time.time()
            sends = [
                burst.post(pool[i : i + args.post_batch])
                for i in range(0, len(pool), args.post_batch)
            ]
            await gather_limited(sends, 2)
            await decisions.wait(set(burst.sent_at))
            elapsed = max(decisions.at[i] for i in burst.sent_at) - started
            throughput = len(pool) / elapsed

            rate = throughput * args.sustained_fraction
            steady = Poster(client, "steady")
            per_post = max(1, round(rate * POST_INTERVAL_S))
            posts = max(1, round(args.sustained_seconds / POST_INTERVAL_S))
            pool = texts(per_post * posts)
            steady_started = time.time()
            await paced([pool[i : i + per_post] for i in range(0, len(pool), per_post)], steady)
            await decisions.wait(set(steady.sent_at))
            steady_elapsed = max(decisions.at[i] for i in steady.sent_at) - steady_started
    finally:
        reader.cancel()
        await decisions.consumer.stop()
    sustained, bursty = latencies_ms(steady, decisions), latencies_ms(burst, decisions)
    return {
        "pipeline_items_per_s": throughput,
        "sustained_target_items_per_s": rate,
        "sustained_items_per_s": len(steady.sent_at) / steady_elapsed,
        "p50_ms": percentile(sustained, 50),
        "p99_ms": percentile(sustained, 99),
        "burst_p50_ms": percentile(bursty, 50),
        "burst_p99_ms": percentile(bursty, 99),
    }


async def gather_limited(coroutines: list, limit: int) -> None:  # type: ignore[type-arg]
    gate = asyncio.Semaphore(limit)

    async def one(coroutine) -> None:  # type: ignore[no-untyped-def]
        async with gate:
            await coroutine

    await asyncio.gather(*(one(c) for c in coroutines))


async def paced(batches: list[list[str]], poster: Poster) -> None:
    """One POST every POST_INTERVAL_S, not waiting for answers (so the rate holds)."""
    tasks, next_at = [], time.monotonic()
    for batch in batches:
        tasks.append(asyncio.create_task(poster.post(batch)))
        next_at += POST_INTERVAL_S
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks)


def run(args: argparse.Namespace) -> int:
    from mitl_cli.stack import LocalStack

    args.workdir.mkdir(parents=True, exist_ok=True)
    bundle = bundle_for(args.model, args.workdir)
    bare = bare_throughput(bundle, texts(args.items), args.micro_batch)
    env = {
        "MITL_KAFKA_MAX_BATCH": str(args.micro_batch),
        "MITL_KAFKA_BATCH_TIMEOUT_MS": str(args.batch_timeout_ms),
        "MITL_MAX_ITEMS_PER_REQUEST": str(max(1000, args.post_batch)),
        "MITL_INTRA_OP_THREADS": "2",
        "MITL_ARTIFACT_DIR": str(args.workdir / "artifacts"),
        "MITL_LOG_LEVEL": "WARNING",
    }
    stack = LocalStack(
        workdir=args.workdir,
        datasets_file=datasets_file(args.workdir, bundle),
        database=f"mitl_bench_{os.getpid()}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        services=("ingest", "inference", "router"),
        extra_env=env,
    )
    with stack:
        assert stack.broker is not None
        figures = asyncio.run(measure(stack.url("ingest"), stack.broker.bootstrap, args))
        memory = memory_mb(stack.processes["inference"].pid)
    from mitl_ml.manifest import read_manifest

    out: dict[str, object] = {
        "model": args.model,
        "model_version": read_manifest(bundle).version,
        "items": args.items,
        "bare_items_per_s": round(bare, 1),
        "pipeline_items_per_s": round(figures["pipeline_items_per_s"], 1),
        "ratio": round(figures["pipeline_items_per_s"] / bare, 3),
        **{k: round(v, 1) for k, v in figures.items() if k != "pipeline_items_per_s"},
        "inference_rss_mb": round(memory["VmRSS"], 1),
        "inference_peak_rss_mb": round(memory["VmHWM"], 1),
        "micro_batch": args.micro_batch,
        "batch_timeout_ms": args.batch_timeout_ms,
        **machine(),
    }
    emit(out, args.json)
    return 0
