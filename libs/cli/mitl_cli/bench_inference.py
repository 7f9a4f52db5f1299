"""`mitl bench inference`: one model, bare in onnxruntime and through the running pipeline.

Starts a broker (Apache Kafka; `--broker embedded` for the in-memory stand-in), a fresh
Postgres database and ingest, inference and router as real processes (LocalStack, free
ports), warms it (`--warm-up-seconds` of bursts, see WARM_UP_S), then:
1. bare: the model scores the items in micro-batches in this process (onnxruntime, 2 threads),
   before the stack starts and again after it stopped (the mean is the reference: other work
   on a shared machine moves both figures);
2. saturation: all items are POSTed to ingest as fast as it takes them; throughput is items
   over the time from the first POST to the last routing decision;
3. sustained: items are POSTed at `--sustained-fraction` of that throughput; latency is each
   decision's occurred_at minus the time its item was POSTed (same clock, same machine);
   then again at each of `--latency-loads` (latency_by_load).
With `--pin MODEL:OTHERS` the bare run and the inference process get the MODEL CPUs (one
onnxruntime thread each) and the broker, Postgres, ingest, router and the client the others
(pinning.py): the ratio is then what the platform costs the model's own cores.
Prints model, items, bare_items_per_s, pipeline_items_per_s, ratio, p50_ms and p99_ms (of the
sustained phase), burst latencies, inference_rss_mb, warm_up_s and warm_up_items (items
sent before anything was measured), the broker it ran on (`broker`, e.g.
"apache-kafka 4.4.0"), and stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mitl_runtime.localinfra import item_fetch_max_wait_ms
from mitl_runtime.progress import Progress
from mitl_runtime.settings import ServiceSettings

from mitl_cli.commands.bench import (
    BATCH_TIMEOUT_MS,
    FETCH_MAX_WAIT_MS,
    Decisions,
    Poster,
    at_most,
    cpu_by_name,
    cpu_seconds,
    emit,
    machine,
    memory_mb,
    paced,
    percentile,
)
from mitl_cli.options import add_broker_argument, add_progress_argument
from mitl_cli.pinning import Pinning, parse_pinning, pin_process, pin_tree, postmaster_pid

if TYPE_CHECKING:
    from mitl_ml.bootstrap import Kind

    from mitl_cli.stack import LocalStack

ROOT = Path.cwd()
DATASET = "trec6"
# `hybrid`: the kind the trainer serves for text after its first retraining
# (MITL_MODEL_KIND, hybrid-logreg), trained here on the bootstrap seed labels with the default
# encoder (mitl_ml.quantize.default_encoder), as the trainer's candidates are.
MODELS = ("minilm", "minilm-int8", "tfidf", "hybrid")
# mitl_ml.bootstrap.DEFAULT_TEXT_KIND, without importing the ML stack to build the parser.
DEFAULT_MODEL = "minilm-int8"
BOOTSTRAP_KIND = {"minilm": "minilm-logreg", "minilm-int8": "minilm-int8-logreg"}
POST_INTERVAL_S = 0.05
SETTLE_S = 5.0
# A fresh Kafka node compiles its request path for its first minute or two of traffic: at 650
# items/s its C2 compiler thread used 0.14 cores in the first 30 s, 0.11 in the next, then
# 0.01-0.04, and the whole node 0.33 -> 0.14-0.17 cores (thread CPU from /proc, 30 s windows).
# Production brokers run warm, so the figures are measured after this much traffic.
WARM_UP_S = 90.0
# Inference's own defaults (MITL_KAFKA_MAX_BATCH 128, MITL_KAFKA_BACKLOG_BATCH off), here
# given to all three services: smaller batches halved p99 at 80 % for a pipeline 3-7 % slower
# (docs/models.md, "Smaller batches").
MICRO_BATCH = 128
BACKLOG_BATCH = ServiceSettings.model_fields["kafka_backlog_batch"].default


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("inference", help="model bare vs through the pipeline")
    parser.add_argument(
        "--model",
        choices=MODELS,
        default=DEFAULT_MODEL,
        help="bootstrap kind (mitl_ml.bootstrap): MiniLM on the shipped or the int8 encoder; "
        "hybrid: the trainer's text kind (MiniLM + TF-IDF word and char n-grams)",
    )
    parser.add_argument("--items", type=int, default=3000, help="items in the saturation run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--micro-batch",
        type=int,
        default=MICRO_BATCH,
        help="services' max_records (MITL_KAFKA_MAX_BATCH), and the bare run's batch size",
    )
    parser.add_argument(
        "--backlog-batch",
        type=int,
        default=BACKLOG_BATCH,
        help="a full batch on the item path grows to this many from what is already fetched "
        "(MITL_KAFKA_BACKLOG_BATCH; 0: off)",
    )
    parser.add_argument(
        "--batch-timeout-ms",
        type=int,
        default=BATCH_TIMEOUT_MS,
        help="consumers' wait for a first record (MITL_KAFKA_BATCH_TIMEOUT_MS)",
    )
    parser.add_argument(
        "--fetch-max-wait-ms",
        type=int,
        default=None,
        help="consumers' fetch wait on the item path (MITL_KAFKA_FETCH_MAX_WAIT_MS; default: "
        f"the broker's, {FETCH_MAX_WAIT_MS} on Apache Kafka, "
        f"{item_fetch_max_wait_ms('embedded')} on the embedded stand-in)",
    )
    parser.add_argument("--post-batch", type=int, default=500, help="items per POST (saturation)")
    parser.add_argument(
        "--warm-up-seconds",
        type=float,
        default=WARM_UP_S,
        help="bursts of --items through the pipeline for this long before anything is measured "
        "(the broker's JIT compiles its request path in its first minute or two of traffic); "
        "0: measure the cold broker",
    )
    parser.add_argument("--sustained-fraction", type=float, default=0.8)
    parser.add_argument("--sustained-seconds", type=float, default=15.0)
    parser.add_argument(
        "--latency-loads",
        default="0.25,0.5",
        help="more sustained phases, as fractions of the throughput (latency_by_load)",
    )
    parser.add_argument(
        "--hops",
        action="store_true",
        help="also read the ingested items and predictions, and split each phase's latency "
        "into hops (ingest, inference, router; hops_ms): costs the client some CPU",
    )
    parser.add_argument(
        "--ort-spinning", action="store_true", help="let idle onnxruntime threads busy-wait"
    )
    parser.add_argument(
        "--pin",
        type=pinning_argument,
        default=None,
        metavar="MODEL_CPUS:OTHER_CPUS",
        help="the bare run and the inference process on MODEL_CPUS (one onnxruntime thread "
        "each), the broker, Postgres, ingest, router and this client on OTHER_CPUS (e.g. 1:0; "
        "auto: the highest CPU for the model, the rest for the others): the ratio then leaves "
        "out what the other parts take from the model's cores",
    )
    add_broker_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local" / "bench" / "inference")
    parser.set_defaults(func=run)


def pinning_argument(spec: str) -> Pinning:
    try:
        return parse_pinning(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def bundle_for(kind: str, workdir: Path) -> Path:
    """The bootstrap bundle of `kind`: the repository's (`make models`) if it is of that kind,
    else built here."""
    from mitl_ml.bootstrap import build_bootstrap
    from mitl_ml.manifest import read_manifest

    shipped = ROOT / "models" / "trec6-bootstrap"
    if (shipped / "manifest.json").exists() and read_manifest(shipped).kind == BOOTSTRAP_KIND.get(
        kind
    ):
        return shipped
    out = workdir / f"trec6-{kind}"
    if not (out / "manifest.json").exists() or (kind == "hybrid" and not on_default_encoder(out)):
        if kind == "hybrid":
            build_hybrid(out)
        else:
            build_bootstrap(out, dataset=DATASET, kind=cast("Kind", kind))
    return out


def on_default_encoder(bundle: Path) -> bool:
    """Was the bundle at `bundle` trained on the default encoder (a hybrid built here before
    the default changed is built again)?"""
    from mitl_ml.encoder import ENCODER_ID
    from mitl_ml.manifest import read_manifest
    from mitl_ml.quantize import DEFAULT_ENCODER_ID

    return read_manifest(bundle).training.get("encoder", ENCODER_ID) == DEFAULT_ENCODER_ID


def build_hybrid(out: Path) -> None:
    """A hybrid-logreg bundle trained on the bootstrap seed set (mitl_ml.bootstrap's split),
    on the default encoder (carried in the bundle when it is the int8 one)."""
    from mitl_ml.bootstrap import bootstrap_splits
    from mitl_ml.manifest import write_bundle
    from mitl_ml.train import train_hybrid_logreg

    seed_set = bootstrap_splits(DATASET, seed_size=300, seed=0).seed_set
    name = f"{DATASET}-hybrid"
    manifest, files = train_hybrid_logreg(
        seed_set.texts(),
        seed_set.label_list(),
        list(seed_set.labels),
        seed=0,
        name=name,
        version=f"{name}-bootstrap-s0",
        dataset=DATASET,
    )
    write_bundle(out, manifest, files)


def texts(n: int) -> list[str]:
    from mitl_ml.datasets import load_dataset

    return list(itertools.islice(itertools.cycle(load_dataset(DATASET).texts()), n))


def bare_throughput(
    bundle: Path, items: list[str], micro_batch: int, spinning: bool, threads: int
) -> float:
    """Items per second of the model alone, scoring `items` in micro-batches, with the
    onnxruntime options inference runs it with."""
    from mitl_ml.runtime import load_model

    model = load_model(bundle, intra_op_threads=threads, allow_spinning=spinning)
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


def cpu_snapshot(stack: LocalStack) -> dict[str, float]:
    """CPU seconds used so far by each part of the pipeline, and by this process (the
    client: POSTs and the decision reader)."""
    # Both brokers LocalStack starts (Apache Kafka, the stand-in) are a process of ours.
    broker = getattr(stack.broker, "process", None)
    assert broker is not None
    used = {name: cpu_seconds(proc.pid) for name, proc in stack.processes.items()}
    used["broker"] = cpu_seconds(broker.pid)
    used["postgres"] = cpu_by_name(["postgres"])["postgres"]
    used["bench_client"] = cpu_seconds(os.getpid())
    return used


def cores_used(
    before: dict[str, float], after: dict[str, float], seconds: float
) -> dict[str, float]:
    """Cores each part kept busy between two `cpu_snapshot`s (2 = this whole machine)."""
    return {k: round((after[k] - v) / seconds, 2) for k, v in before.items()}


async def warm_up(poster: Poster, decisions: Decisions, args: argparse.Namespace) -> int:
    """Bursts of `args.items` (each POSTed as the saturation run POSTs, then decided) until
    `args.warm_up_seconds` have passed; returns the items sent. Bursts, not one long stream,
    so that no backlog builds up for the measured phases to inherit."""
    pool = texts(args.items)
    ends = time.monotonic() + args.warm_up_seconds
    while time.monotonic() < ends:
        before = set(poster.sent_at)
        await at_most(2, poster.calls(pool, args.post_batch))
        await decisions.wait(set(poster.sent_at) - before, "warm-up")
    return poster.count


async def measure(
    ingest_url: str,
    bootstrap: str,
    args: argparse.Namespace,
    snapshot: Callable[[], dict[str, float]],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    import httpx

    decisions = Decisions(bootstrap, Progress(enabled=args.progress), hops=args.hops)
    await decisions.consumer.start()
    reader = asyncio.create_task(decisions.collect())
    try:
        async with httpx.AsyncClient(base_url=ingest_url, timeout=120, headers=headers) as client:
            warm = Poster(client, DATASET, "warm")
            await warm.post(texts(min(args.micro_batch, args.post_batch)))
            await decisions.wait(set(warm.sent_at), "warm-up")
            warmed = await warm_up(warm, decisions, args)

            burst = Poster(client, DATASET, "burst")
            cpu_before = snapshot()
            started = time.time()
            await at_most(2, burst.calls(texts(args.items), args.post_batch))
            burst_s = await decisions.wait(set(burst.sent_at), "burst") - started
            throughput = args.items / burst_s
            cpu_after = snapshot()
            burst_cores = cores_used(cpu_before, cpu_after, burst_s)
            phase_cores: dict[str, dict[str, float]] = {}

            async def sustain(fraction: float, phase: str) -> tuple[Poster, float, float]:
                """(poster, target rate, achieved rate) of a phase at `fraction` of the
                throughput. The burst (or the previous phase) leaves work behind (labels,
                pseudo-labels, vacuum): it settles first."""
                await asyncio.sleep(SETTLE_S)
                rate = throughput * fraction
                steady = Poster(client, DATASET, phase)
                # Whole items per POST, and the interval that makes them the rate: at a fixed
                # 50 ms a rate under 20 items/s was rounded to 20 (a phase at "25 %" of 30
                # items/s ran at 67 %).
                per_post = max(1, round(rate * POST_INTERVAL_S))
                interval = per_post / rate
                pool = texts(per_post * max(1, round(args.sustained_seconds / interval)))
                cpu_before = snapshot()
                started = time.time()
                await paced(interval, steady.calls(pool, per_post))
                done = await decisions.wait(set(steady.sent_at), phase)
                phase_cores[phase] = cores_used(cpu_before, snapshot(), done - started)
                return steady, per_post / interval, len(pool) / (done - started)

            steady, rate, sustained = await sustain(args.sustained_fraction, "steady")
            by_load = []
            for fraction in sorted({float(f) for f in args.latency_loads.split(",") if f}):
                phase, target, achieved = await sustain(fraction, f"load-{fraction}")
                ms = decisions.latencies_ms(phase.sent_at)
                by_load.append(
                    {
                        "fraction": fraction,
                        "target_items_per_s": round(target, 1),
                        "items_per_s": round(achieved, 1),
                        "p50_ms": round(percentile(ms, 50), 1),
                        "p99_ms": round(percentile(ms, 99), 1),
                        **({"hops_ms": decisions.hops_ms(phase.sent_at)} if args.hops else {}),
                    }
                )
    finally:
        reader.cancel()
        await decisions.consumer.stop()
    steady_ms = decisions.latencies_ms(steady.sent_at)
    burst_ms = decisions.latencies_ms(burst.sent_at)
    return {
        "pipeline_items_per_s": throughput,
        "sustained_target_items_per_s": rate,
        "sustained_items_per_s": sustained,
        "p50_ms": percentile(steady_ms, 50),
        "p99_ms": percentile(steady_ms, 99),
        "burst_p50_ms": percentile(burst_ms, 50),
        "burst_p99_ms": percentile(burst_ms, 99),
        "burst_post_p50_ms": percentile(burst.post_ms, 50),
        "burst_cores": burst_cores,
        "phase_cores": phase_cores,
        "latency_by_load": by_load,
        **({"hops_ms": decisions.hops_ms(steady.sent_at)} if args.hops else {}),
        "warm_up_s": args.warm_up_seconds,
        "warm_up_items": warmed,
    }


def run(args: argparse.Namespace) -> int:
    from mitl_ml.manifest import read_manifest

    from mitl_cli.stack import LocalStack

    args.workdir.mkdir(parents=True, exist_ok=True)
    # A fresh database, so fresh topics too: Kafka keeps the last run's under the workdir.
    shutil.rmtree(args.workdir / "kafka", ignore_errors=True)
    bundle = bundle_for(args.model, args.workdir)
    fetch_max_wait_ms = args.fetch_max_wait_ms or item_fetch_max_wait_ms(args.broker)
    pinning: Pinning | None = args.pin
    threads = len(pinning.model) if pinning else 2
    usable = os.sched_getaffinity(0)

    def bare() -> float:
        if pinning:
            pin_process(os.getpid(), pinning.model)
        try:
            return bare_throughput(
                bundle, texts(args.items), args.micro_batch, args.ort_spinning, threads
            )
        finally:
            if pinning:
                pin_process(os.getpid(), usable)

    before = bare()
    env = {
        "MITL_KAFKA_MAX_BATCH": str(args.micro_batch),
        "MITL_KAFKA_BACKLOG_BATCH": str(args.backlog_batch),
        "MITL_KAFKA_BATCH_TIMEOUT_MS": str(args.batch_timeout_ms),
        "MITL_KAFKA_FETCH_MAX_WAIT_MS": str(fetch_max_wait_ms),
        "MITL_MAX_ITEMS_PER_REQUEST": str(max(1000, args.post_batch)),
        "MITL_INTRA_OP_THREADS": str(threads),
        "MITL_ORT_ALLOW_SPINNING": str(args.ort_spinning).lower(),
        "MITL_ARTIFACT_DIR": str(args.workdir / "artifacts"),
        "MITL_LOG_LEVEL": "WARNING",
    }
    stack = LocalStack(
        broker_kind=args.broker,
        workdir=args.workdir,
        datasets_file=datasets_file(args.workdir, bundle),
        database=f"mitl_bench_{os.getpid()}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        services=("ingest", "inference", "router"),
        extra_env=env,
    )
    postgres_pinned = False
    with stack:
        assert stack.broker is not None
        postmaster = None
        if stack.postgres is not None and stack.postgres.embedded is not None:
            postmaster = postmaster_pid(args.workdir / "pgdata")
        try:
            if pinning:
                postgres_pinned = pin_stack(stack, pinning, postmaster)
            figures = asyncio.run(
                measure(
                    stack.url("ingest"),
                    stack.broker.bootstrap,
                    args,
                    lambda: cpu_snapshot(stack),
                    stack.ingest_headers,
                )
            )
            memory = memory_mb(stack.processes["inference"].pid)
            broker = stack.broker.description
        finally:
            if pinning:
                # The stack's Postgres outlives it (the next run reuses it): unpinned again.
                pin_process(os.getpid(), usable)
                if postmaster is not None:
                    pin_tree(postmaster, usable)
    after = bare()
    bare_mean = (before + after) / 2
    out: dict[str, object] = {
        "model": args.model,
        "model_version": read_manifest(bundle).version,
        "broker": broker,
        "items": args.items,
        "bare_items_per_s": round(bare_mean, 1),
        "bare_before_after_items_per_s": [round(before, 1), round(after, 1)],
        "pipeline_items_per_s": round(figures["pipeline_items_per_s"], 1),
        "ratio": round(figures["pipeline_items_per_s"] / bare_mean, 3),
        **{
            k: round(v, 1) if isinstance(v, float) else v
            for k, v in figures.items()
            if k != "pipeline_items_per_s"
        },
        "inference_rss_mb": round(memory["VmRSS"], 1),
        "inference_peak_rss_mb": round(memory["VmHWM"], 1),
        "micro_batch": args.micro_batch,
        "backlog_batch": args.backlog_batch,
        "batch_timeout_ms": args.batch_timeout_ms,
        "fetch_max_wait_ms": fetch_max_wait_ms,
        "ort_spinning": args.ort_spinning,
        "intra_op_threads": threads,
        "pinned": pinning.as_dict() | {"postgres": postgres_pinned} if pinning else None,
        **machine(),
    }
    emit(out, args.json)
    return 0


def pin_stack(stack: LocalStack, pinning: Pinning, postmaster: int | None) -> bool:
    """The inference process on the model CPUs; the broker, the other services, this process
    (the client) and the stack's own Postgres (`postmaster` and its children) on the others.
    Returns whether Postgres was pinned (not one the stack did not start)."""
    for name, process in stack.processes.items():
        pin_process(process.pid, pinning.model if name == "inference" else pinning.others)
    broker = getattr(stack.broker, "process", None)
    assert broker is not None
    pin_process(broker.pid, pinning.others)
    pin_process(os.getpid(), pinning.others)
    return postmaster is not None and bool(pin_tree(postmaster, pinning.others))
