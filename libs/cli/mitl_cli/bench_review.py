"""`mitl bench review`: many annotators claiming and submitting against a real review-api.

Starts a broker (Apache Kafka; `--broker embedded` for the in-memory stand-in), a fresh
Postgres database and review-api as its own process (uvicorn, LocalStack with free ports),
uploads gold items, loads `--tasks` review requests through the broker, then runs
`--annotators` simulated people over HTTP (httpx, async, one client each), each claiming and
submitting in a loop until the queue is empty, pausing about `--think-ms` between items as a
person reading the next item would (0: no pause, which measures saturation). Stops everything
afterwards and prints its figures (`--json`: one object), the broker it ran on among them
(`broker`).

Latency is one claim plus one submit, as the person sees it; each person's first item is
reported apart (it opens their connection, while everyone starts at once). Double
assignments are counted three ways: a review task handed to two people, a label in the
database by someone other than the claimer, and an item whose labels on mitl.labels.v1 are
not exactly one, by its claimer.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import shutil
import ssl
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mitl_runtime.progress import Progress

from mitl_cli.commands.bench import (
    cpu_seconds,
    emit,
    machine,
    percentile,
)
from mitl_cli.options import add_broker_argument, add_progress_argument

ROOT = Path.cwd()
DATASET = "bench"
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
GOLD_ITEMS = 50
# Below uvicorn's keep-alive timeout (5 s), see `bench`.
KEEPALIVE_S = 4.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("review", help="annotators claiming and submitting at once")
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=4000, help="review requests to work off")
    parser.add_argument("--think-ms", type=float, default=1000.0, help="mean pause per item")
    parser.add_argument("--gold-rate", type=float, default=0.05, help="the service's gold_rate")
    add_broker_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local" / "bench" / "review")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


@dataclass
class Record:
    """What the simulated people saw: latencies, and who was handed which task."""

    cycles_ms: list[float] = field(default_factory=list)
    claims_ms: list[float] = field(default_factory=list)
    submits_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    holders: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    labeled_by: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold: int = 0
    reconnects: int = 0
    # Told (tasks labeled, tasks loaded) after every submit: the progress bar.
    progress: Callable[[int, int], None] | None = None
    tasks: int = 0


def request(n: int) -> bytes:
    """The n-th ReviewRequested, as the router publishes it."""
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
            "probabilities": [0.05, 0.05, 0.1, 0.55, 0.15, 0.1],
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


async def post(
    client: httpx.AsyncClient,
    url: str,
    record: Record,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    for _ in range(3):
        try:
            return await client.post(url, json=body, headers=headers)
        except (httpx.RemoteProtocolError, httpx.ReadError):
            # The server closed the idle connection as the request went out (uvicorn's
            # keep-alive timeout met a loaded client; a reset if the request was already
            # there): send it again, on a new connection.
            # Claims and submissions are safe to repeat (a claim resumes the caller's lease,
            # a repeated submission answers the same).
            record.reconnects += 1
    return await client.post(url, json=body, headers=headers)


async def annotator(
    client: httpx.AsyncClient, name: str, token: str, think_ms: float, record: Record
) -> None:
    """Claim and submit until the queue is empty: confirm mostly, correct some, and pick a
    label on blind (gold) tasks."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(name)
    first = True
    while True:
        started = time.perf_counter()
        claim = await post(client, f"/v1/queues/{DATASET}/annotator/claim", record, headers)
        claimed = time.perf_counter()
        if claim.status_code == 204:
            return
        if claim.status_code != 200:
            record.errors[f"claim {claim.status_code}"] += 1
            continue
        task = claim.json()
        gold = task["suggestion"] is None
        body: dict[str, Any] = {"action": "confirm", "revision": task["revision"]}
        if gold or rng.random() < 0.3:
            body = {"action": "correct", "label": rng.choice(LABELS), "revision": task["revision"]}
        submit = await post(client, f"/v1/tasks/{task['task_id']}/submit", record, headers, body)
        done = time.perf_counter()
        if submit.status_code != 200:
            record.errors[f"submit {submit.status_code}"] += 1
            continue
        if first:
            record.first_ms.append((done - started) * 1000)
            first = False
        else:
            record.claims_ms.append((claimed - started) * 1000)
            record.submits_ms.append((done - claimed) * 1000)
            record.cycles_ms.append((done - started) * 1000)
        if gold:
            record.gold += 1
        else:
            record.holders[task["task_id"]].add(name)
            record.labeled_by[task["item_id"]] = name
        if record.progress is not None:
            record.progress(len(record.labeled_by), record.tasks)
        if think_ms > 0:
            await asyncio.sleep(rng.expovariate(1000.0 / think_ms))


async def published_labels(bootstrap: str, expected: int) -> dict[str, list[str]]:
    """item_id -> annotators of its label events (the broker is this run's alone)."""
    from aiokafka import AIOKafkaConsumer
    from mitl_contracts import topics

    seen: dict[str, list[str]] = defaultdict(list)
    consumer = AIOKafkaConsumer(
        topics.LABELS, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline, quiet = time.monotonic() + 60, 0
        # Read until all arrived, then one more quiet round: a duplicate would be right behind.
        while quiet < 2 and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    event = json.loads(r.value)
                    seen[event["item_id"]].append(event["annotator"])
            done = sum(len(v) for v in seen.values()) >= expected
            quiet = quiet + 1 if done and not batches else 0
    finally:
        await consumer.stop()
    return seen


async def wait_for_depth(client: httpx.AsyncClient, admin: dict[str, str], depth: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        rows = (await client.get("/v1/queues", headers=admin)).json()["queues"]
        if sum(r["depth"] for r in rows if r["dataset"] == DATASET) == depth:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{depth} tasks were not created within 300 s")


async def create_annotator(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> str:
    response = await client.post(
        "/v1/users", json={"name": name, "role": "annotator"}, headers=admin
    )
    response.raise_for_status()
    return str(response.json()["token"])


async def bench(stack: Any, args: argparse.Namespace) -> dict[str, Any]:
    from mitl_runtime.db import create_pool

    from mitl_cli.surfaces import create_user

    names = [f"bench-ann-{i}" for i in range(args.annotators)]
    admin = {
        "Authorization": f"Bearer {await create_user(stack.database_url, 'bench-admin', 'admin')}"
    }
    url, service = stack.url("review-api"), stack.processes["review-api"].pid
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        # The admin makes the annotators over HTTP: a `mitl users create` process each would
        # take minutes on a busy machine before anything is measured.
        tokens = {name: await create_annotator(client, admin, name) for name in names}
        gold = [
            {"external_id": f"g{i}", "text": f"Gold question {i} ?", "label": LABELS[i % 6]}
            for i in range(GOLD_ITEMS)
        ]
        response = await client.post(f"/v1/gold/{DATASET}", json={"items": gold}, headers=admin)
        response.raise_for_status()
        await load(stack.broker.bootstrap, args.tasks)
        await wait_for_depth(client, admin, args.tasks)
    # One client per person, as each has their own browser (one shared by a hundred would
    # measure httpcore's pool bookkeeping), made before the clock starts and sharing a TLS
    # context: making one loads the CA bundle, which would stall everyone's first request.
    # A person's idle connection is dropped by the client before uvicorn drops it (after 5 s,
    # httpx's default too): with both at 5 s, a request sent after a long pause could meet
    # the server's close and fail with "Server disconnected".
    tls = ssl.create_default_context()
    limits = httpx.Limits(keepalive_expiry=KEEPALIVE_S)
    people = [httpx.AsyncClient(base_url=url, timeout=60, verify=tls, limits=limits) for _ in names]
    bar = Progress(enabled=args.progress)
    record = Record(progress=bar.phase("review tasks: labeled", "tasks"), tasks=args.tasks)
    cpu_before, started = cpu_seconds(service), time.perf_counter()
    await asyncio.gather(
        *(
            annotator(person, name, tokens[name], args.think_ms, record)
            for person, name in zip(people, names, strict=True)
        )
    )
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(service) - cpu_before
    for person in people:
        await person.aclose()
    pool = await create_pool(stack.database_url, max_size=2)
    rows = await pool.fetch(
        "SELECT item_id, completed_by FROM review.tasks WHERE kind = 'review' AND status = 'done'"
    )
    await pool.close()
    in_db = {r["item_id"]: r["completed_by"] for r in rows}
    published = await published_labels(stack.broker.bootstrap, len(in_db))
    double = sum(1 for holders in record.holders.values() if len(holders) > 1)
    double += sum(1 for item, who in record.labeled_by.items() if in_db.get(item) != who)
    double += sum(1 for item, who in published.items() if who != [in_db.get(item)])
    completed = len(record.cycles_ms) + len(record.first_ms)
    ms = record.cycles_ms
    return {
        "annotators": args.annotators,
        "tasks": args.tasks,
        "think_ms": args.think_ms,
        "gold_rate": args.gold_rate,
        "completed": completed,
        "gold_answered": record.gold,
        "review_tasks_done": len(in_db),
        "duration_s": round(elapsed, 2),
        "claims_per_s": round(completed / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "claim_p99_ms": round(percentile(record.claims_ms, 99), 2),
        "submit_p99_ms": round(percentile(record.submits_ms, 99), 2),
        "first_item_p50_ms": round(percentile(record.first_ms, 50), 2),
        "first_item_max_ms": round(percentile(record.first_ms, 100), 2),
        "service_cpu_ms_per_item": round(cpu * 1000 / max(completed, 1), 2),
        "label_events": sum(len(v) for v in published.values()),
        "labels_missing": len(in_db.keys() - published.keys()),
        "double_assignments": double,
        "errors": dict(record.errors),
        "reconnects": record.reconnects,
        **machine(),
    }


def run(args: argparse.Namespace) -> int:
    from mitl_cli.stack import LocalStack

    # httpcore imports sniffio on every request; when it is not installed each failed import
    # searches sys.path again, a cost of this client, not of the service measured. A None
    # entry makes that import fail at once.
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]
    args.workdir.mkdir(parents=True, exist_ok=True)
    datasets = args.workdir / "datasets.yaml"
    # A fresh database, so fresh topics too: Kafka keeps the last run's under the workdir.
    shutil.rmtree(args.workdir / "kafka", ignore_errors=True)
    datasets.write_text(f"datasets:\n  {DATASET}:\n    labels: {LABELS}\n")
    stack = LocalStack(
        broker_kind=args.broker,
        workdir=args.workdir,
        datasets_file=datasets,
        database="mitl_bench_review",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        services=("review-api",),
        extra_env={"MITL_GOLD_RATE": str(args.gold_rate), "MITL_LOG_LEVEL": "WARNING"},
    )
    with stack:
        assert stack.broker is not None
        figures = {"broker": stack.broker.description, **asyncio.run(bench(stack, args))}
    emit(figures, args.json)
    ok = not (figures["double_assignments"] or figures["labels_missing"] or figures["errors"])
    return 0 if ok else 1
