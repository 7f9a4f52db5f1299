"""`mitl chaos`: crash scenarios and a sustained-load run against the whole platform, counted
from the audit log. Starts its own PostgreSQL server, a broker (Apache Kafka unless
`--broker embedded`) and every service, runs the scenarios, prints one row per scenario (a
table, or one JSON object per line with --json, each naming the broker) and stops everything
again. Exit code 0 when no scenario lost, duplicated or reordered anything, else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

from mitl_runtime.progress import Progress

ROOT = Path.cwd()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from mitl_cli.chaos.scenarios import ALL, PAUSE_S
    from mitl_cli.options import add_broker_argument, add_progress_argument

    parser = subparsers.add_parser(
        "chaos",
        help="kill services, PostgreSQL and the broker mid-stream; count what was lost or doubled",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per scenario")
    add_progress_argument(
        parser, help="no progress (items sent and settled per scenario) on stderr"
    )
    parser.add_argument("--items", type=int, default=None, help="items per crash scenario")
    parser.add_argument(
        "--scenarios", default=None, help=f"comma-separated, default all: {','.join(ALL)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="300 items per scenario and a 30 s load run"
    )
    parser.add_argument("--load-seconds", type=float, default=None, help="default 240 (quick 30)")
    parser.add_argument("--down-seconds", type=float, default=3.0, help="how long a fault lasts")
    parser.add_argument(
        "--pause-seconds",
        type=float,
        default=PAUSE_S,
        help="how long pause-broker keeps the broker stopped (SIGSTOP)",
    )
    add_broker_argument(
        parser,
        help="Apache Kafka, or the embedded stand-in (no broker faults on it: it keeps nothing)",
    )
    parser.add_argument(
        "--crash-load", type=float, default=0.6, help="crash streams' rate as a share of capacity"
    )
    parser.add_argument("--annotators", type=int, default=4, help="simulated annotators")
    parser.add_argument("--experts", type=int, default=2, help="simulated experts")
    parser.add_argument(
        "--datasets-file",
        type=Path,
        default=ROOT / "config" / "datasets.yaml",
        help="catalog whose trec6 model the run serves (built if missing)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".local" / "chaos", help="logs go to a run folder"
    )
    parser.set_defaults(func=run)


def model_dir(datasets_file: Path) -> Path:
    """The trec6 model of the catalog, built first if missing."""
    from mitl_contracts.datasets import load_catalog

    from mitl_cli.commands.run import ensure_model

    ensure_model(datasets_file)
    model = load_catalog(datasets_file).get("trec6").model
    if model is None:
        raise SystemExit(f"{datasets_file}: dataset trec6 has no model")
    return model


def run(args: argparse.Namespace) -> int:
    from mitl_cli.chaos import report
    from mitl_cli.chaos.campaign import CampaignPlan, run_campaign
    from mitl_cli.chaos.lab import Lab
    from mitl_cli.chaos.scenarios import parse

    try:
        scenarios = parse(args.scenarios)
    except ValueError as error:
        print(f"mitl chaos: {error}", file=sys.stderr)
        return 2
    plan = CampaignPlan(
        scenarios=scenarios,
        items=args.items or (300 if args.quick else 5000),
        capacity_items=200 if args.quick else 1000,
        load_seconds=args.load_seconds or (30.0 if args.quick else 240.0),
        down_s=args.down_seconds,
        scenario_down_s={"pause-broker": args.pause_seconds},
        crash_load=args.crash_load,
    )
    workdir = args.workdir / uuid.uuid4().hex[:8]
    lab = Lab(
        workdir,
        model_dir(args.datasets_file),
        args.annotators,
        args.experts,
        broker_kind=args.broker,
        progress=Progress(enabled=args.progress),
    )
    results_file = workdir / "results.jsonl"

    def emit(result: report.ScenarioResult) -> None:
        lab.progress.close()
        with results_file.open("a") as out:
            out.write(result.as_json() + "\n")
        print(result.as_json() if args.json else report.row(result), flush=True)

    print(f"chaos run in {workdir} (service logs there)", file=sys.stderr, flush=True)
    with lab:
        if not args.json:
            print(report.header(), flush=True)
        results = asyncio.run(run_campaign(lab, plan, emit))
    return 0 if all(result.clean for result in results) else 1
