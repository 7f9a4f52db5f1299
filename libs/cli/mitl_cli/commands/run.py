"""`mitl run`: the whole platform on this machine, with a real model and real data flowing.

Starts a broker (Apache Kafka by default; `--broker embedded` for the embedded stand-in on a
machine without Java), Postgres (see mitl_runtime.localinfra), every service, builds the
bootstrap model if it is missing, streams TREC-6 questions through ingest and prints where
the review UI and the metrics are. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import httpx

from mitl_cli.feed import stream
from mitl_cli.options import add_broker_argument
from mitl_cli.oracle import Crew
from mitl_cli.stack import DEV_CLIENT, SERVICES, LocalStack, ServiceExited

ROOT = Path.cwd()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run the platform locally with real data flowing")
    parser.add_argument("--datasets-file", type=Path, default=ROOT / "config" / "datasets.yaml")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".local" / "run")
    parser.add_argument("--database", default="mitl")
    add_broker_argument(parser)
    # A new run starts with empty topics and a fresh database, consistent with each other
    # (otherwise ingest's dedup keys from the last run would call every item a duplicate);
    # --keep-database keeps both.
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="keep the last run's database and Kafka data",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="items per second to stream")
    parser.add_argument("--limit", type=int, default=None, help="stop streaming after N items")
    parser.add_argument(
        "--annotators",
        type=int,
        default=0,
        help="simulated annotators (and one expert) that label the streamed questions with "
        "their true labels, so the loop turns on its own: retraining, a new champion, more "
        "accepted (default 0: people label in the UI)",
    )
    parser.add_argument(
        "--seconds-per-task",
        type=float,
        default=1.0,
        help="how long a simulated person takes over a task (default 1.0)",
    )
    parser.set_defaults(func=run)


def ensure_model(datasets_file: Path) -> None:
    from mitl_contracts.datasets import load_catalog
    from mitl_ml.bootstrap import DEFAULT_TEXT_KIND, build_bootstrap
    from mitl_ml.bootstrap_multilabel import build_multilabel_bootstrap
    from mitl_ml.bootstrap_spans import build_span_bootstrap

    for name, dataset in load_catalog(datasets_file).datasets.items():
        if dataset.model is not None and not (dataset.model / "manifest.json").exists():
            print(f"building the bootstrap model for {name} in {dataset.model} ...", flush=True)
            if dataset.task == "spans":
                manifest = build_span_bootstrap(dataset.model, name, datasets_file)
                print(f"  {manifest.version}: measured {manifest.metrics}", flush=True)
                continue
            if dataset.task == "multilabel":
                manifest = build_multilabel_bootstrap(dataset.model, name)
                print(f"  {manifest.version}: holdout metrics {manifest.metrics}", flush=True)
                continue
            kind = "pixels" if dataset.input_kind == "image" else DEFAULT_TEXT_KIND
            manifest = build_bootstrap(dataset.model, dataset=name, kind=kind)
            print(f"  {manifest.version}: holdout metrics {manifest.metrics}", flush=True)


def decision_counts(router_url: str) -> dict[str, float]:
    text = httpx.get(f"{router_url}/metrics", timeout=5).text
    counts: dict[str, float] = {}
    for match in re.finditer(
        r'^mitl_router_decisions_total\{[^}]*route="(\w+)"[^}]*\} (\S+)', text, re.M
    ):
        counts[match.group(1)] = counts.get(match.group(1), 0.0) + float(match.group(2))
    return counts


def served_model(inference_url: str, dataset: str) -> str | None:
    """The model version inference serves `dataset` with (its model_info gauge)."""
    text = httpx.get(f"{inference_url}/metrics", timeout=5).text
    for match in re.finditer(r"^mitl_inference_model_info\{([^}]*)\} (\S+)", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if labels.get("dataset") == dataset and float(match.group(2)) == 1.0:
            return labels.get("model_version")
    return None


def decisions_line(counts: dict[str, float], since: dict[str, float]) -> str:
    """Decisions since `since` (the counts when the served model last changed), with the
    accepted share."""
    routes = {k: counts.get(k, 0.0) - since.get(k, 0.0) for k in counts}
    total = sum(routes.values())
    decided = ", ".join(f"{k} {int(v)}" for k, v in sorted(routes.items()))
    if not total:
        return decided
    return f"{decided} (accepted {routes.get('accept', 0.0) / total:.0%})"


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop the platform cleanly, even where a parent shell started
    this process with SIGINT ignored (background jobs of non-interactive shells)."""

    def interrupt(signum: int, _frame: object) -> None:
        # Once. A second signal while the platform stops (Ctrl-C pressed twice, or `timeout`
        # signalling this process and then its whole group) raised again inside the stop and
        # left the broker and half the services running with nobody to stop them. Every wait
        # in the stop has its own timeout, so it ends without being interrupted.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def create_demo_user(database_url: str) -> tuple[str, str]:
    """An annotator to log in to the UI with right away (tokens are shown once, so a run
    that finds the demo name taken makes a new one)."""
    import asyncio
    import uuid

    from mitl_cli.surfaces import UserExists, create_user

    for name in ("demo-annotator", f"demo-annotator-{uuid.uuid4().hex[:6]}"):
        try:
            return name, asyncio.run(create_user(database_url, name, "annotator"))
        except UserExists:
            continue
    raise RuntimeError("could not create a demo annotator")


def run(args: argparse.Namespace) -> int:
    stop_on_signals()
    ensure_model(args.datasets_file)
    if not args.keep_database:
        shutil.rmtree(args.workdir / "kafka", ignore_errors=True)
    stack = LocalStack(
        broker_kind=args.broker,
        workdir=args.workdir,
        datasets_file=args.datasets_file,
        database=args.database,
        fresh_database=not args.keep_database,
    )
    print("starting broker, Postgres and services ...", flush=True)
    try:
        return run_stack(stack, args)
    except ServiceExited as error:
        # A refused configuration: what to change, not a traceback of the stack's start.
        print(f"mitl run: {error}", file=sys.stderr)
        return 1


def run_stack(stack: LocalStack, args: argparse.Namespace) -> int:
    """Start `stack`, print where everything is, and feed it until a signal stops it."""
    with stack:
        if stack.broker:
            print(f"broker      {stack.broker.bootstrap} ({stack.broker.description})")
        print(f"postgres    {stack.database_url}")
        for name in SERVICES:
            print(f"{name:<14}{stack.url(name)}   (metrics: {stack.url(name)}/metrics)")
        print(f"\nreview UI     {stack.url('review-api')}/")
        demo_name, demo_token = create_demo_user(stack.database_url)
        print(f"log in as {demo_name} with token {demo_token}")
        print(
            f"more users:   MITL_DATABASE_URL={stack.database_url} "
            ".venv/bin/mitl users create --name ada --role annotator",
        )
        # This stack's own credentials (README, "Access control"), for curl and the client.
        print(f"ingest key    {stack.ingest_key}   (client {DEV_CLIENT}: MITL_API_KEY)")
        print(f"admin token   {stack.admin_token}   (MITL_ADMIN_TOKEN: audit, trainer, inference)")
        print(f"auditor token {stack.auditor_token}   (MITL_AUDITOR_TOKEN: audit)")
        # The review API knows only its users' tokens; its admins are users too.
        print("review admins: mitl users create --name ops --role admin\n", flush=True)
        ingested = {"accepted": 0, "duplicates": 0, "rejected": 0}

        stopping = threading.Event()

        def feed() -> None:
            try:
                for body in stream(
                    stack.url("ingest"),
                    "trec6",
                    rate=args.rate,
                    limit=args.limit,
                    headers=stack.ingest_headers,
                ):
                    for key in ingested:
                        ingested[key] += int(str(body[key]))
            except httpx.HTTPError:
                if not stopping.is_set():
                    raise  # ingest went away while the platform runs: show why

        threading.Thread(target=feed, daemon=True).start()
        people = start_crew(stack, args) if args.annotators > 0 else None
        model, since = served_model(stack.url("inference"), "trec6"), {}
        try:
            while True:
                time.sleep(5)
                routes = decision_counts(stack.url("router"))
                now = served_model(stack.url("inference"), "trec6")
                if now != model:
                    print(f"trec6 is now served by {now} (was {model}); decisions from here "
                          "on are its own", flush=True)  # fmt: skip
                    model, since = now, routes
                labeled = ""
                if people is not None:
                    tally = people.tally
                    labeled = f" | labeled {tally.labeled} ({tally.confirmed} confirmed)"
                print(
                    f"ingested {ingested['accepted']} (duplicates {ingested['duplicates']})"
                    f" | decisions: {decisions_line(routes, since)}{labeled}",
                    flush=True,
                )
        except KeyboardInterrupt:
            stopping.set()  # the feed stops quietly when ingest shuts down under it
            if people is not None:
                people.close()
            print("\nstopping ...", flush=True)
    return 0


def start_crew(stack: LocalStack, args: argparse.Namespace) -> Crew:
    """Simulated annotators and an expert (mitl_cli.oracle), as review users of their own."""
    import asyncio
    import uuid

    from mitl_cli.oracle import crew
    from mitl_cli.surfaces import create_user

    run_id = uuid.uuid4().hex[:6]

    async def users() -> tuple[list[str], str]:
        annotators = [
            await create_user(stack.database_url, f"sim-annotator-{n}-{run_id}", "annotator")
            for n in range(1, args.annotators + 1)
        ]
        expert = await create_user(stack.database_url, f"sim-expert-{run_id}", "expert")
        return annotators, expert

    tokens, expert = asyncio.run(users())
    people = crew(stack.url("review-api"), "trec6", tokens, expert, args.seconds_per_task)
    people.start()
    print(
        f"{args.annotators} simulated annotators and 1 expert label trec6 with its true labels, "
        f"{args.seconds_per_task:g} s a task; the trainer retrains after every "
        f"{os.environ.get('MITL_RETRAIN_EVERY', '500')} new labels (MITL_RETRAIN_EVERY)",
        flush=True,
    )
    return people
