"""`mitl retrain` without a trainer: an undeclared dataset is refused before any database is
asked (exit 1), and a database that cannot be reached is said so (exit 2); the outcome and
status texts print the held-out figures of candidate and champion."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mitl_cli.main import main
from mitl_trainer.retrain_cli import outcome_text, status_text
from mitl_trainer.status import Model, Request, Status

T0 = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unknown_dataset_and_an_unreachable_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "datasets.yaml"
    catalog.write_text("datasets:\n  questions:\n    labels: [a, b]\n")
    where = ["--datasets-file", str(catalog)]
    assert main(["retrain", "nosuch", *where]) == 1
    assert "unknown dataset 'nosuch'; known: questions" in capsys.readouterr().err
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/mitl"
    assert main(["retrain", "questions", *where, "--database-url", url]) == 2
    assert "mitl retrain: cannot reach the database" in capsys.readouterr().err


def test_the_outcome_and_the_status_name_the_figures() -> None:
    request = Request(
        request_id="manual-q-300",
        trigger="manual",
        trigger_ref="300",
        status="done",
        outcome="candidate",
        reason="holdout accuracy 0.70 vs champion 0.72",
        model_version="q-hybrid-t1",
        attempts=1,
        created_at=T0,
        started_at=T0,
        finished_at=T0,
    )
    model = Model(
        model_version="q-hybrid-t1",
        request_id="manual-q-300",
        artifact_sha256="0" * 64,
        bundle_uri="file:///a",
        promoted=False,
        metrics={
            "holdout_n": 60.0,
            "holdout_accuracy": 0.7,
            "holdout_ece": 0.05,
            "champion_holdout_accuracy": 0.72,
        },
        created_at=T0,
    )
    assert outcome_text(request, model).splitlines() == [
        "manual-q-300: kept as a candidate: the champion held",
        "  model q-hybrid-t1",
        "  held out (60 items): accuracy 0.700, ece 0.050",
        "  champion on the same items: accuracy 0.720",
        "  why: holdout accuracy 0.70 vs champion 0.72",
    ]
    status = Status(
        dataset="q",
        verified_labels=300,
        needed_labels=200,
        ready=True,
        reason="",
        champion="q-boot",
        requests=[request],
        models=[model],
    )
    assert status_text(status).splitlines() == [
        "q: 300 verified labels, 200 needed (ready to train); champion q-boot",
        "requests, newest first:",
        "  2026-12-07 19:00:00  manual-q-300  candidate  q-hybrid-t1",
        "models, newest first:",
        "  q-hybrid-t1  candidate  accuracy 0.700, ece 0.050",
    ]


def test_the_status_says_what_an_open_request_waits_for() -> None:
    waiting = Request(
        request_id="labels-q-150",
        trigger="labels",
        trigger_ref="150",
        status="pending",
        outcome=None,
        reason="dataset 'q' has 90 verified labels with text; training needs at least 100; "
        "waiting for the content of 60 labeled items",
        model_version=None,
        attempts=0,
        created_at=T0,
        started_at=T0,
        finished_at=None,
    )
    status = Status(
        dataset="q",
        verified_labels=90,
        needed_labels=100,
        ready=False,
        reason="dataset 'q' has 90 verified labels with text; training needs at least 100",
        champion="q-boot",
        requests=[waiting],
        models=[],
    )
    assert status_text(status).splitlines()[1:] == [
        "requests, newest first:",
        "  2026-12-07 19:00:00  labels-q-150  pending  -",
        "    why: dataset 'q' has 90 verified labels with text; training needs at least 100; "
        "waiting for the content of 60 labeled items",
    ]
