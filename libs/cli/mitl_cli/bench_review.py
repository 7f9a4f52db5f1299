"""`mitl bench review`: many annotators claiming and submitting against a real review-api.

Starts a Tansu broker, a fresh Postgres database and review-api as its own process (uvicorn),
loads `--tasks` review requests through the broker, then runs `--annotators` simulated people
over HTTP (httpx, async), each claiming and submitting in a loop until the queue is empty,
optionally pausing `--think-ms` between items as a person would. Everything it started is
stopped afterwards. Prints one JSON object (`--json`) or a short summary.

Double assignments are checked three ways: no task was handed to two people (claims seen by
the clients), every review task is done exactly once in the database, and the labels topic
holds exactly one label per item, by the person who claimed it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DATASET = "bench"
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("review", help="annotators claiming and submitting at once")
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=5000, help="review requests to work off")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="mean pause between items (0: none)"
    )
    parser.add_argument("--gold-rate", type=float, default=0.0, help="MITL_GOLD_RATE to run with")
    parser.add_argument("--workdir", type=Path, default=None, help="logs (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


@dataclass
class Record:
    """What the simulated people saw: latencies, and who was handed which task."""

    cycles_ms: list[float] = field(default_factory=list)
    claims_ms: list[float] = field(default_factory=list)
    submits_ms: list[float] = field(default_factory=list)
    holders: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    labeled_by: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold: int = 0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 2)


def request(n: int) -> bytes:
    probabilities = [0.05, 0.05, 0.1, 0.55, 0.15, 0.1]
    return json.dumps(
        {
            "event_id": f"bench-rr-{n}",
            "dataset": DATASET,
            "item_id": f"bench-item-{n}",
            "decision_event_id": f"bench-decision-{n}",
            "queue": "annotator",
            "priority": (n % 100) / 100,
            "reason": "benchmark",
            "content": {"text": f"Benchmark question number {n} ?"},
            "suggested_label": "HUM",
            "confidence": 0.55,
            "labels": LABELS,
            "probabilities": probabilities,
            "model_version": "bench-m1",
            "policy_version": "bench-p1",
        }
    ).encode()


async def load(bootstrap: str, tasks: int) -> None:
    from aiokafka import AIOKafkaProducer
    from mitl_contracts import topics

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n in range(tasks):
            await producer.send(topics.REVIEW_REQUESTED, request(n), key=f"bench-item-{n}".encode())
        await producer.flush()
    finally:
        await producer.stop()


async def annotator(
    client: httpx.AsyncClient, name: str, token: str, think_ms: float, record: Record
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(name)
    while True:
        started = time.perf_counter()
        claim = await client.post(f"/v1/queues/{DATASET}/annotator/claim", headers=headers)
        claimed = time.perf_counter()
        if claim.status_code == 204:
            return
        if claim.status_code != 200:
            record.errors[f"claim {claim.status_code}"] += 1
            continue
        task = claim.json()
        record.holders[task["task_id"]].add(name)
        gold = task["suggestion"] is None
        # A person mostly agrees with the model; gold items are blind, so they pick a label.
        body: dict[str, Any] = {"action": "confirm", "revision": task["revision"]}
        if gold or rng.random() < 0.3:
            body = {"action": "correct", "label": rng.choice(LABELS), "revision": task["revision"]}
        submit = await client.post(
            f"/v1/tasks/{task['task_id']}/submit", json=body, headers=headers
        )
        done = time.perf_counter()
        if submit.status_code != 200:
            record.errors[f"submit {submit.status_code}"] += 1
            continue
        record.claims_ms.append((claimed - started) * 1000)
        record.submits_ms.append((done - claimed) * 1000)
        record.cycles_ms.append((done - started) * 1000)
        if gold:
            record.gold += 1
        else:
            record.labeled_by[task["item_id"]] = name
        if think_ms > 0:
            await asyncio.sleep(rng.expovariate(1000.0 / think_ms))


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def labels_by_item(bootstrap: str, expected: int) -> dict[str, list[str]]:
    """item_id -> annotators of the label events on mitl.labels.v1 (the broker is this run's)."""
    from aiokafka import AIOKafkaConsumer
    from mitl_contracts import topics

    seen: dict[str, list[str]] = defaultdict(list)
    consumer = AIOKafkaConsumer(
        topics.LABELS, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        count, deadline = 0, time.monotonic() + 60
        while count < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    event = json.loads(r.value)
                    seen[event["item_id"]].append(event["annotator"])
                    count += 1
        # Anything published twice would arrive right behind the rest.
        for records in (await consumer.getmany(timeout_ms=1000)).values():
            for r in records:
                event = json.loads(r.value)
                seen[event["item_id"]].append(event["annotator"])
    finally:
        await consumer.stop()
    return seen


async def bench(stack: Any, args: argparse.Namespace) -> dict[str, Any]:
    from mitl_review.store import users
    from mitl_runtime.db import create_pool

    pool = await create_pool(stack.database_url, max_size=2)
    try:
        names = [f"bench-ann-{i}" for i in range(args.annotators)]
        tokens = {name: await users.create(pool, name, "annotator") for name in names}
        admin = {"Authorization": f"Bearer {await users.create(pool, 'bench-admin', 'admin')}"}
        limits = httpx.Limits(max_connections=args.annotators + 10)
        async with httpx.AsyncClient(
            base_url=stack.url("review-api"), limits=limits, timeout=60
        ) as client:
            if args.gold_rate > 0:
                items = [
                    {"external_id": f"g{i}", "text": f"Gold question {i} ?", "label": LABELS[i % 6]}
                    for i in range(50)
                ]
                gold = await client.post(
                    f"/v1/gold/{DATASET}", json={"items": items}, headers=admin
                )
                gold.raise_for_status()
            await load(stack.broker.bootstrap, args.tasks)

            async def loaded() -> bool:
                rows = (await client.get("/v1/queues", headers=admin)).json()["queues"]
                return sum(r["depth"] for r in rows if r["dataset"] == DATASET) == args.tasks

            await wait_for(loaded, 300, f"{args.tasks} tasks to be created")
            record = Record()
            started = time.perf_counter()
            await asyncio.gather(
                *(annotator(client, n, tokens[n], args.think_ms, record) for n in names)
            )
            elapsed = time.perf_counter() - started
        done_rows = await pool.fetch(
            "SELECT item_id, completed_by FROM review.tasks WHERE kind = 'review' AND status = 'done'"
        )
        open_left = await pool.fetchval("SELECT count(*) FROM review.tasks WHERE status = 'open'")
    finally:
        await pool.close()
    published = await labels_by_item(stack.broker.bootstrap, len(done_rows))
    in_db = {r["item_id"]: r["completed_by"] for r in done_rows}
    double = sum(1 for holders in record.holders.values() if len(holders) > 1)
    double += sum(1 for item, who in published.items() if len(who) > 1 or in_db.get(item) != who[0])
    double += sum(1 for item, who in record.labeled_by.items() if in_db.get(item) != who)
    completed = len(record.cycles_ms)
    return {
        "annotators": args.annotators,
        "tasks": args.tasks,
        "think_ms": args.think_ms,
        "gold_rate": args.gold_rate,
        "completed": completed,
        "gold_answered": record.gold,
        "open_tasks_left": open_left,
        "duration_s": round(elapsed, 2),
        "claims_per_s": round(completed / elapsed, 1),
        "p50_ms": percentile(record.cycles_ms, 0.5),
        "p95_ms": percentile(record.cycles_ms, 0.95),
        "p99_ms": percentile(record.cycles_ms, 0.99),
        "claim_p50_ms": percentile(record.claims_ms, 0.5),
        "claim_p99_ms": percentile(record.claims_ms, 0.99),
        "submit_p50_ms": percentile(record.submits_ms, 0.5),
        "submit_p99_ms": percentile(record.submits_ms, 0.99),
        "label_events": sum(len(v) for v in published.values()),
        "double_assignments": double,
        "errors": dict(record.errors),
    }


def run(args: argparse.Namespace) -> int:
    from mitl_cli.stack import LocalStack

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mitl-bench-review-"))
    workdir.mkdir(parents=True, exist_ok=True)
    datasets = workdir / "datasets.yaml"
    datasets.write_text(f"datasets:\n  {DATASET}:\n    labels: {LABELS}\n")
    stack = LocalStack(
        workdir=workdir,
        datasets_file=datasets,
        database=f"mitl_bench_review_{int(time.time())}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        services=("review-api",),
        extra_env={"MITL_GOLD_RATE": str(args.gold_rate), "MITL_LOG_LEVEL": "WARNING"},
    )
    with stack:
        result = asyncio.run(bench(stack, args))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<20}{value}")
    ok = result["double_assignments"] == 0 and result["completed"] + result["gold_answered"] > 0
    return 0 if ok else 1
