"""`mitl retrain DATASET`: ask the trainer for a candidate trained on the dataset's verified
labels now, as POST /v1/retrain/{dataset} does, straight in the trainer's database; the trainer
takes the request at its next poll (MITL_POLL_INTERVAL_S, 5 s). Asking again with no new
labels is the same request. `--wait` waits for the outcome and prints it with the held-out
figures of candidate and champion: promoted to champion, kept as a candidate (the champion
held), unchanged (the same labels trained a model before), skipped (too few labels by the
trainer's own settings) or failed. `--status` asks for nothing and prints what
GET /v1/retrain/{dataset} gives: the verified labels and whether they suffice, the champion,
the newest requests and models.

The readiness check reads the settings from the environment, as the trainer does (MITL_MIN_LABELS,
MITL_MIN_PER_CLASS, ...); run it with the trainer's.

Exit codes: 0 asked (with --wait: a model came of it, or the same labels trained one before) or
status printed; 1 refused: an unknown dataset, too few labels (saying how many there are and
how many are needed), or a request that ended skipped or failed; 2 the database cannot be
reached or holds no trainer schema, or --wait timed out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mitl_trainer.status import Request, Status

OK, REFUSED, UNUSABLE = 0, 1, 2
# How often --wait reads the request again.
WAIT_POLL_S = 1.0
# What a request's outcome means, for people.
OUTCOMES = {
    "champion": "promoted: the candidate is the champion now",
    "candidate": "kept as a candidate: the champion held",
    "unchanged": "unchanged: these labels trained a model before",
    "skipped": "skipped",
    "failed": "failed",
}
# The held-out figures printed of a model (all are in --json).
FIGURES = ("accuracy", "ece", "entity_f1", "label_decision_accuracy")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "retrain",
        help="ask the trainer for a model trained on the verified labels now, or show its status",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("dataset", help="a dataset of the datasets file")
    parser.add_argument("--wait", action="store_true", help="wait for the outcome and print it")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds --wait waits (default 1800)"
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="ask for nothing: print what the trainer knows and did",
    )
    parser.add_argument("--limit", type=int, default=5, help="requests and models --status lists")
    parser.add_argument("--database-url", default=None, help="default: MITL_DATABASE_URL")
    parser.add_argument(
        "--datasets-file", type=Path, default=None, help="default: MITL_DATASETS_FILE"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def fail(code: int, message: str) -> int:
    print(f"mitl retrain: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    from mitl_contracts.datasets import UnknownDataset

    from mitl_trainer.cli import declared

    try:
        settings, dataset = declared(args)
    except UnknownDataset as error:
        return fail(REFUSED, str(error))
    return asyncio.run(_run(args, settings, dataset))


async def _run(args: argparse.Namespace, settings: Any, dataset: Any) -> int:
    import asyncpg

    from mitl_trainer.status import Request, manual_request, models_of, status_of
    from mitl_trainer.store import retraining

    url = args.database_url or settings.database_url
    try:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    except (OSError, asyncpg.PostgresError) as error:
        return fail(UNUSABLE, f"cannot reach the database: {error}")
    name = args.dataset
    try:
        async with pool:
            if args.status:
                shown = await status_of(pool, dataset, settings, args.limit)
                print(shown.model_dump_json(indent=2) if args.json else status_text(shown))
                return OK
            ready, request_id = await manual_request(pool, dataset, settings)
            if request_id is None:
                return fail(REFUSED, ready.reason)
            made = await retraining.request(pool, request_id, name, "manual", str(ready.verified))
            if not args.json:
                print(await asked_text(pool, request_id, made, ready.verified, settings))
            if not args.wait:
                if args.json:
                    row = await retraining.get_request(pool, request_id)
                    print(Request(**dict(row or {})).model_dump_json(indent=2))
                return OK
            row = await finished(pool, request_id, args.timeout)
            if row is None:
                return fail(UNUSABLE, f"request {request_id} not done after {args.timeout:g} s")
            request = Request(**dict(row))
            # Only the model the request produced: not the whole status (its training set).
            models = await models_of(pool, name, args.limit)
    except asyncpg.UndefinedTableError:
        return fail(UNUSABLE, "the database holds no trainer schema: has the trainer run on it?")
    except (OSError, asyncpg.PostgresError) as error:
        return fail(UNUSABLE, f"the database: {error}")
    model = next((m for m in models if m.model_version == request.model_version), None)
    if args.json:
        produced = model.model_dump(mode="json") if model else None
        print(json.dumps({"request": request.model_dump(mode="json"), "model": produced}, indent=2))
    else:
        print(outcome_text(request, model))
    return REFUSED if request.outcome in ("skipped", "failed") else OK


async def asked_text(pool: Any, request_id: str, made: bool, verified: int, settings: Any) -> str:
    """What asking did: a new request, or the one these labels made before and its state."""
    from mitl_trainer.store import retraining

    if made:
        return (
            f"asked: request {request_id} ({verified} verified labels); the trainer takes it "
            f"within {settings.poll_interval_s:g} s"
        )
    row = await retraining.get_request(pool, request_id)
    state = (row["outcome"] if row["status"] == "done" else row["status"]) if row else "gone"
    return f"asked before, with the same labels: request {request_id} ({state})"


async def finished(pool: Any, request_id: str, timeout: float) -> Any:
    """The request's row once it is done, None if it is not within `timeout` seconds."""
    from mitl_trainer.store import retraining

    deadline = time.monotonic() + timeout
    while True:
        row = await retraining.get_request(pool, request_id)
        if row is not None and row["status"] == "done":
            return row
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(WAIT_POLL_S)


def figures(metrics: dict[str, float], prefix: str) -> str:
    """The held-out figures of `metrics` under `prefix` ("holdout_", "champion_holdout_")."""
    shown = [
        f"{name.replace('_', ' ')} {metrics[prefix + name]:.3f}"
        for name in FIGURES
        if prefix + name in metrics
    ]
    return ", ".join(shown)


def outcome_text(request: Request, model: Any) -> str:
    lines = [f"{request.request_id}: {OUTCOMES.get(request.outcome or '', request.outcome)}"]
    if request.model_version:
        lines.append(f"  model {request.model_version}")
    if model is not None:
        held = int(model.metrics.get("holdout_n", 0))
        lines.append(f"  held out ({held} items): {figures(model.metrics, 'holdout_')}")
        if champion := figures(model.metrics, "champion_holdout_"):
            lines.append(f"  champion on the same items: {champion}")
    if request.reason:
        lines.append(f"  why: {request.reason}")
    return "\n".join(lines)


def status_text(status: Status) -> str:
    ready = "ready to train" if status.ready else f"not ready: {status.reason}"
    lines = [
        f"{status.dataset}: {status.verified_labels} verified labels, {status.needed_labels} "
        f"needed ({ready}); champion {status.champion or 'none announced'}"
    ]
    if status.requests:
        lines.append("requests, newest first:")
        for r in status.requests:
            state = r.outcome if r.status == "done" else r.status
            when = (r.finished_at or r.started_at or r.created_at).strftime("%Y-%m-%d %H:%M:%S")
            lines.append(f"  {when}  {r.request_id}  {state}  {r.model_version or '-'}")
            if r.status != "done" and r.reason:  # an open request that already said why it waits
                lines.append(f"    why: {r.reason}")
    if status.models:
        lines.append("models, newest first:")
        for m in status.models:
            promoted = "promoted" if m.promoted else "candidate"
            lines.append(f"  {m.model_version}  {promoted}  {figures(m.metrics, 'holdout_')}")
    return "\n".join(lines)
