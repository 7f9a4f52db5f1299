"""What the e2e loop tests share: a stack of their own over a datasets file, and the steps every
loop takes over the services' HTTP APIs (ingest, wait for the routing, claim a task as a new
annotator, submit, find the override in audit, export)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mitl_cli.stack import LocalStack

from tests.support import wait_until

# The task-type loops' datasets (conftest.task_stack declares them).
SPAN_LABELS = ["person", "geo-loc", "company", "product"]
DIGITS = [str(d) for d in range(10)]
YEAST_LABELS = [f"Class{n}" for n in range(1, 15)]
# More blind spot checks than a test's stream holds (a drift alert spot-checks 0.2 of accepts).
MAX_BLIND_SKIPS = 60


@contextmanager
def own_stack(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    datasets: Path,
    extra_env: Callable[[Path], dict[str, str]] = lambda workdir: {},
) -> Iterator[LocalStack]:
    """Every service its own process over `datasets`, on a fresh database dropped afterwards;
    `extra_env` gives the services' extra settings from the stack's folder."""
    workdir = tmp_path_factory.mktemp(f"{name}-stack")
    with LocalStack(
        workdir=workdir,
        datasets_file=datasets,
        database=f"mitl_e2e_{name}_{uuid.uuid4().hex[:8]}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        extra_env=extra_env(workdir),
    ) as running:
        yield running


def create_user(stack: LocalStack, name: str, role: str) -> str:
    """A new review user's token, made by `mitl users create` as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "mitl_cli.main", "users", "create", "--name", name, "--role", role],
        env={**os.environ, "MITL_DATABASE_URL": stack.database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def annotator(stack: LocalStack) -> dict[str, str]:
    """The auth header of a new annotator."""
    token = create_user(stack, f"ada-{uuid.uuid4().hex[:6]}", "annotator")
    return {"Authorization": f"Bearer {token}"}


def ingest(stack: LocalStack, dataset: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """POST the items to ingest; its answer (per item: accepted, duplicate or rejected)."""
    response = httpx.post(
        f"{stack.url('ingest')}/v1/items",
        json={"dataset": dataset, "items": items},
        headers=stack.ingest_headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def routed(stack: LocalStack, dataset: str, total: int, timeout: float = 180) -> dict[str, Any]:
    """Audit's decision counts for `dataset` once it has recorded `total` decisions."""

    def report() -> dict[str, Any] | None:
        summary = httpx.get(
            f"{stack.url('audit')}/v1/reports/{dataset}", headers=stack.auditor_headers, timeout=10
        ).json()
        return summary if summary["decisions"]["total"] >= total else None

    decisions: dict[str, Any] = wait_until(report, timeout=timeout)["decisions"]
    return decisions


def claim(stack: LocalStack, dataset: str, auth: dict[str, str]) -> dict[str, Any]:
    """The next annotator task of `dataset` that shows the model's suggestion, leased to the
    caller. A drift alert (which the tests' short windows can raise) spot-checks a share of
    accepted items; those blind tasks come first in the queue, so they are skipped: back to
    the queue for others, never offered to this caller again."""
    for _ in range(MAX_BLIND_SKIPS + 1):
        response = httpx.post(
            f"{stack.url('review-api')}/v1/queues/{dataset}/annotator/claim", headers=auth
        )
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        if task["suggestion"] is not None:
            return task
        skipped = submit(stack, task["task_id"], auth, {"action": "skip"})
        assert skipped.status_code == 200, skipped.text
    raise AssertionError(f"{MAX_BLIND_SKIPS + 1} blind tasks in a row in {dataset}")


def submit(
    stack: LocalStack, task_id: str, auth: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return httpx.post(
        f"{stack.url('review-api')}/v1/tasks/{task_id}/submit", headers=auth, json=body
    )


def override(stack: LocalStack, dataset: str, item_id: str, timeout: float = 60) -> dict[str, Any]:
    """Audit's override row of `item_id`, once the label has reached the audit log."""

    def found() -> dict[str, Any] | None:
        rows = httpx.get(
            f"{stack.url('audit')}/v1/overrides/{dataset}",
            headers=stack.auditor_headers,
            timeout=10,
        ).json()
        return next((r for r in rows["overrides"] if r["item_id"] == item_id), None)

    row: dict[str, Any] = wait_until(found, timeout=timeout)
    return row


def exported(
    stack: LocalStack, dataset: str, fmt: str, item_id: str | None = None, timeout: float = 60
) -> httpx.Response:
    """Audit's export of `dataset` in `fmt`, once it holds `item_id` (any answer if None)."""

    def answer() -> httpx.Response | None:
        response = httpx.get(
            f"{stack.url('audit')}/v1/export/{dataset}",
            params={"format": fmt},
            headers=stack.auditor_headers,
            timeout=30,
        )
        if response.status_code != 200:
            return None
        if item_id is not None and item_id.encode() not in response.content:
            return None
        return response

    response: httpx.Response = wait_until(answer, timeout=timeout)
    return response
