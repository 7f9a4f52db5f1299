"""The Python client, `mitl import` and the export formats against the running stack: ingest,
review and audit served over real HTTP (uvicorn on local ports), on the real broker and
Postgres. Items are ingested in batches (a rerun adds nothing), claimed, labeled, escalated and
skipped with an annotator's token; audit's report and exports follow; a CSV imports with its
rejects and resumes; a Label Studio export imports back into another dataset with its
predictions as client predictions."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest
import uvicorn
from fastapi import FastAPI
from mitl_audit.app import create_app as audit_app
from mitl_audit.settings import Settings as AuditSettings
from mitl_cli.main import main as mitl
from mitl_client import AsyncMitlClient, Endpoints, Item, MitlClient
from mitl_client.importer import import_file
from mitl_contracts import topics
from mitl_contracts.events import Decision, ItemIngested, Prediction, ReviewRequested
from mitl_contracts.ids import item_id_for
from mitl_ingest.app import create_app as ingest_app
from mitl_ingest.settings import Settings as IngestSettings
from mitl_review.app import create_app as review_app
from mitl_review.settings import Settings as ReviewSettings

from tests.support import AUDITOR_TOKEN, TopicReader, ingest_key, publish_events, wait_until

pytestmark = pytest.mark.integration

LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
DIGIT_LABELS = [str(n) for n in range(10)]


class Served:
    """FastAPI apps served by uvicorn on local ports from one background event loop, so that
    the synchronous client and the CLI reach them over real HTTP."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.sockets = {name: socket.socket() for name in apps}
        for sock in self.sockets.values():
            sock.bind(("127.0.0.1", 0))
        self.urls = {
            name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in self.sockets.items()
        }
        self.servers = [
            uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
            for app in apps.values()
        ]
        self.thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    async def _serve(self) -> None:
        await asyncio.gather(
            *(
                server.serve(sockets=[sock])
                for server, sock in zip(self.servers, self.sockets.values(), strict=True)
            )
        )

    def __enter__(self) -> Served:
        self.thread.start()
        wait_until(lambda: all(s.started for s in self.servers) or not self.thread.is_alive(), 90)
        assert self.thread.is_alive(), "a service failed to start"
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.should_exit = True
        self.thread.join(30)


@dataclass
class Stack:
    endpoints: Endpoints
    kafka: str
    database_url: str
    datasets_file: Path
    dataset: str
    roundtrip: str
    images: str

    def client(self, token: str | None = None) -> MitlClient:
        """A client with `token` (by default the auditor's, for reports and exports) and the
        ingest key of the module's client (MITL_API_KEY)."""
        return MitlClient(self.endpoints, token=token or AUDITOR_TOKEN)


@pytest.fixture(scope="module")
def stack(
    kafka: str, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    run = uuid.uuid4().hex[:6]
    dataset, roundtrip, images = f"pc-{run}", f"pc-{run}-rt", f"pc-{run}-img"
    path = tmp_path_factory.mktemp("client") / "datasets.yaml"
    path.write_text(
        "datasets:\n"
        + "".join(
            f"  {name}:\n    labels: {LABELS}\n    max_text_chars: 500\n"
            for name in ("trec6", dataset, roundtrip)
        )
        + f"  {images}:\n    input_kind: image\n    labels: {DIGIT_LABELS}\n"
        "    max_image_side: 64\n"
    )
    env: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka,
        "database_url": database_url,
        "datasets_file": path,
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 300,
        "auditor_token": AUDITOR_TOKEN,
    }
    apps = {
        "ingest": ingest_app(IngestSettings(**env, max_items_per_request=7)),
        "review": review_app(ReviewSettings(**env)),
        "audit": audit_app(AuditSettings(**env)),
    }
    # The ingest key every client here (and `mitl import`) finds in MITL_API_KEY.
    _, key = asyncio.run(ingest_key(database_url))
    with Served(apps) as served, pytest.MonkeyPatch.context() as environment:
        environment.setenv("MITL_API_KEY", key)
        endpoints = Endpoints(
            ingest=served.urls["ingest"], review=served.urls["review"], audit=served.urls["audit"]
        )
        yield Stack(endpoints, kafka, database_url, path, dataset, roundtrip, images)


def create_user(stack: Stack, role: str, capsys: pytest.CaptureFixture[str]) -> str:
    """A user made with `mitl users create`, as an operator would; returns the token."""
    capsys.readouterr()
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MITL_DATABASE_URL", stack.database_url)
        assert mitl(["users", "create", "--name", name, "--role", role]) == 0
    return capsys.readouterr().out.strip()


def route_to_review(stack: Stack, external_ids: list[str], texts: dict[str, str]) -> None:
    """What inference and the router would publish for these items: a decision to review and
    a review request suggesting HUM at 0.55."""
    decisions, requests = [], []
    for external_id in external_ids:
        item_id = item_id_for(stack.dataset, external_id)
        decision = Decision(
            event_id=f"decision-{item_id}",
            dataset=stack.dataset,
            item_id=item_id,
            batch_id="client-batch",
            prediction_event_id=f"prediction-{item_id}",
            route="review",
            reason="test",
            predicted_label="HUM",
            confidence=0.55,
            model_version="trec6-m1",
            policy_version="test-v1",
        )
        decisions.append(decision)
        requests.append(
            ReviewRequested(
                event_id=f"rr-{item_id}",
                dataset=stack.dataset,
                item_id=item_id,
                batch_id="client-batch",
                decision_event_id=decision.event_id,
                queue="annotator",
                priority=0.5,
                reason="test",
                content={"text": texts[external_id], "metadata": {}},
                suggested_label="HUM",
                confidence=0.55,
                labels=LABELS,
                probabilities=[0.05, 0.05, 0.15, 0.55, 0.1, 0.1],
                model_version="trec6-m1",
                policy_version="test-v1",
            )
        )
    asyncio.run(publish_events(stack.kafka, topics.DECISIONS, decisions))
    asyncio.run(publish_events(stack.kafka, topics.REVIEW_REQUESTED, requests))


def exported(client: MitlClient, dataset: str, out: Path, expected: int, **options: Any) -> int:
    """Export until audit has caught up with `expected` items (it consumes asynchronously)."""
    return wait_until(
        lambda: (n := client.export(dataset, out, **options)) >= expected and n, timeout=60
    )


def test_client_ingest_review_reports_and_exports(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = {f"q{i}": f"Who wrote book number {i} ?" for i in range(20)}
    items = [Item(external_id=k, text=v, metadata={"src": "client"}) for k, v in texts.items()]
    items.append(Item(external_id="long", text="x" * 600))  # ingest refuses it: over 500
    with stack.client() as client:
        # 21 items in batches of 10 against a server taking 7 a request: split on 413.
        first = client.ingest_many(stack.dataset, items, batch_size=10, concurrency=2)
        assert (first.accepted, first.duplicates, len(first.rejected)) == (20, 0, 1)
        assert "text" in first.rejected[0].reason
        again = client.ingest_many(stack.dataset, items[:20], batch_size=5)
        assert (again.accepted, again.duplicates) == (0, 20)

    annotator = create_user(stack, "annotator", capsys)
    route_to_review(stack, list(texts)[:4], texts)
    with stack.client(annotator) as client:
        assert {d.name for d in client.datasets()} >= {stack.dataset, stack.roundtrip}
        done: dict[str, str] = {}
        claimed: dict[str, Any] = {}
        actions = ["correct", "confirm", "escalate", "skip"]
        for action in actions:
            task = wait_until(lambda: client.claim(stack.dataset), timeout=30)
            assert task.suggestion is not None and task.suggestion.label == "HUM"
            if action == "correct":
                result = client.submit(task, "LOC", time_spent_ms=1200)
                assert (result.status, result.label) == ("done", "LOC")
            elif action == "confirm":
                result = client.submit(task)
                assert (result.status, result.label) == ("done", "HUM")
            elif action == "escalate":
                assert client.escalate(task, "which book?").status == "escalated"
            else:
                assert client.skip(task).status == "skipped"
            done[action] = task.item_id
            claimed[action] = task
        # Submitting again answers the same (retries are safe).
        assert client.submit(claimed["correct"], "LOC").status == "done"

    # Reports and exports take an auditor (or admin), not an annotator.
    with stack.client() as client:
        jsonl = tmp_path / "out.jsonl"
        assert exported(client, stack.dataset, jsonl, 2) == 2
        rows = {r["item_id"]: r for r in map(json.loads, jsonl.read_text().splitlines())}
        assert rows[done["correct"]]["label"] == "LOC"
        assert rows[done["correct"]]["provenance"]["overrides_model"] is True
        assert rows[done["confirm"]]["provenance"]["action"] == "confirm"

        parquet = tmp_path / "out.parquet"
        assert client.export(stack.dataset, parquet, format="parquet") == 2
        assert pq.read_table(parquet).num_rows == 2

        table = list(csv.DictReader(io.StringIO(_export_text(client, stack, tmp_path, "csv"))))
        assert {r["provenance.action"] for r in table} == {"correct", "confirm"}
        assert {r["provenance.decision_route"] for r in table} == {"review"}
        assert all(r["provenance.labeled_by"].startswith("annotator-") for r in table)

        hf = tmp_path / "hf.jsonl"
        client.export(stack.dataset, hf, format="hf-jsonl")
        loaded = pj.read_json(hf)
        assert sorted(loaded.column("label").to_pylist()) == ["HUM", "LOC"]
        assert set(loaded.column("provenance_model_version").to_pylist()) == {"trec6-m1"}

        tasks = json.loads(_export_text(client, stack, tmp_path, "label-studio"))
        by_item = {t["data"]["item_id"]: t for t in tasks}
        corrected = by_item[done["correct"]]
        assert corrected["annotations"][0]["result"][0]["value"] == {"choices": ["LOC"]}
        assert corrected["predictions"][0]["model_version"] == "trec6-m1"
        assert corrected["predictions"][0]["score"] == pytest.approx(0.55)

        # `mitl export` reads Postgres and writes the same tasks.
        by_cli = tmp_path / "cli-tasks.json"
        cli = ["export", "--dataset", stack.dataset, "--format", "label-studio"]
        assert mitl([*cli, "--out", str(by_cli), "--database-url", stack.database_url]) == 0
        assert json.loads(by_cli.read_text()) == tasks

        report = wait_until(
            lambda: (r := client.report(stack.dataset))["labels"]["human"] >= 2 and r, timeout=30
        )
        assert report["labels"]["overrides"] == 1
        assert client.overrides(stack.dataset)[0]["label"] == "LOC"
        assert "section,key,metric,value" in client.report_csv(stack.dataset)


def _export_text(client: MitlClient, stack: Stack, folder: Path, format: Any) -> str:
    path = folder / f"export.{format}"
    client.export(stack.dataset, path, format=format)
    return path.read_text()


def test_mitl_import_csv_with_rejects_and_resume(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "questions.csv"
    lines = ["qid,text,topic"] + [f"c{i},What is {i} squared ?,math" for i in range(30)]
    lines += ["c-empty,,math", "c-long," + "y" * 600 + ",math", "c-extra,a,b,c"]
    path.write_text("\n".join(lines) + "\n")
    args = ["import", str(path), "--dataset", stack.dataset, "--id-column", "qid"]
    args += ["--ingest-url", stack.endpoints.ingest, "--batch-size", "8"]
    assert mitl(args) == 0
    captured = capsys.readouterr()
    assert "30 new, 0 already there, 3 rejected" in captured.out
    bar = "questions.csv [####################] 33/33 records (30 new, 0 already there"
    assert bar in captured.err
    rejects = [
        json.loads(x) for x in (tmp_path / "questions.csv.rejects.jsonl").read_text().splitlines()
    ]
    assert sorted(r["line"] for r in rejects) == [32, 33, 34]
    by_line = {r["line"]: r["reason"] for r in rejects}
    assert by_line[32] == "line 32: no 'text' (and no 'vector' or 'image')"
    assert by_line[34] == "line 34: 4 fields, the header has 3"
    assert by_line[33].startswith("line 33: ingest: ")

    # A rerun of the same file adds nothing.
    assert mitl([*args, "--no-progress"]) == 0
    assert "0 new, 30 already there, 3 rejected" in capsys.readouterr().out

    # A CSV without the text column is refused, naming the line and the columns.
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("qid,body\n1,hello\n")
    assert (
        mitl(
            [
                "import",
                str(wrong),
                "--dataset",
                stack.dataset,
                "--ingest-url",
                stack.endpoints.ingest,
            ]
        )
        == 1
    )
    assert "line 1: no column 'text'" in capsys.readouterr().err

    # An unknown dataset is ingest's 404.
    assert (
        mitl(
            [
                "import",
                str(path),
                "--dataset",
                "nope",
                "--ingest-url",
                stack.endpoints.ingest,
                "--no-progress",
            ]
        )
        == 1
    )
    assert "404" in capsys.readouterr().err


def test_mitl_import_a_folder_of_images_one_subfolder_per_label(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of PNG images in a subfolder per label imports as image items carrying their
    bytes and their label as metadata; a file that is no image is rejected by the reader, an
    image over the dataset's size by ingest; a rerun adds nothing."""
    import numpy as np
    from mitl_ml.images import encode_png
    from sklearn.datasets import load_digits

    digits = load_digits()
    folder = tmp_path / "scans"
    pngs = {}
    for n in range(12):
        label = folder / str(digits.target[n])
        label.mkdir(parents=True, exist_ok=True)
        pngs[f"{digits.target[n]}/{n:02d}.png"] = data = encode_png(
            (digits.images[n] * 255 / 16).astype(np.uint8)
        )
        (label / f"{n:02d}.png").write_bytes(data)
    (folder / "notes.txt").write_text("scanned on Tuesday")
    (folder / "0" / "poster.png").write_bytes(encode_png(np.zeros((100, 100), np.uint8)))

    async def ingested() -> list[ItemIngested]:
        async with TopicReader(stack.kafka, topics.ITEMS_INGESTED) as reader:
            await reader.wait_for(
                lambda _: len(reader.events(ItemIngested, dataset=stack.images)) >= 12
            )
            return reader.events(ItemIngested, dataset=stack.images)

    args = ["import", str(folder), "--dataset", stack.images]
    args += ["--ingest-url", stack.endpoints.ingest, "--no-progress"]
    assert mitl(args) == 0
    assert "12 new, 0 already there, 2 rejected" in capsys.readouterr().out
    rejects = [json.loads(x) for x in (tmp_path / "scans.rejects.jsonl").read_text().splitlines()]
    reasons = {r["external_id"]: r["reason"] for r in rejects}
    assert reasons["notes.txt"] == "notes.txt: not an image file (.png, .jpg, .jpeg)"
    assert reasons["0/poster.png"] == (
        "0/poster.png: ingest: image: image is 100x100 pixels; at most 64 each way "
        f"(dataset {stack.images!r})"
    )
    events = asyncio.run(ingested())
    by_id = {e.external_id: e for e in events}
    assert set(by_id) == set(pngs)
    for name, event in by_id.items():
        assert event.content.image_data == pngs[name]
        assert event.content.metadata == {"label": name.split("/")[0]}
    assert mitl(args) == 0
    assert "0 new, 12 already there, 2 rejected" in capsys.readouterr().out


def test_label_studio_round_trip(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export the reviewed items as Label Studio JSON and import them into another dataset:
    the same texts and metadata, the model's suggestion as a client prediction."""
    with stack.client() as client:
        path = tmp_path / "tasks.json"
        count = exported(client, stack.dataset, path, 2, format="label-studio")
        tasks = json.loads(path.read_text())
        assert len(tasks) == count

    async def client_predictions() -> list[Prediction]:
        async with TopicReader(stack.kafka, topics.PREDICTIONS) as reader:
            await reader.wait_for(
                lambda _: len(reader.events(Prediction, dataset=stack.roundtrip)) >= count
            )
            return reader.events(Prediction, dataset=stack.roundtrip)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MITL_DATASETS_FILE", str(stack.datasets_file))
        base = ["import", str(path), "--dataset", stack.roundtrip]
        base += ["--ingest-url", stack.endpoints.ingest, "--no-progress"]
        assert mitl(base) == 0
        assert f"{count} new, 0 already there, 0 rejected" in capsys.readouterr().out
        assert mitl(base) == 0
        assert f"0 new, {count} already there" in capsys.readouterr().out

    predictions = asyncio.run(client_predictions())
    assert {p.source for p in predictions} == {"client"}
    assert {p.model_version for p in predictions} == {"client:trec6-m1"}
    for prediction in predictions:
        top = max(prediction.probabilities)
        assert prediction.labels[prediction.probabilities.index(top)] == "HUM"
        assert top == pytest.approx(0.55)

    # The same through the client alone: import, then rerun.
    with stack.client() as client:
        again = import_file(client, path, stack.roundtrip, labels=LABELS)
        assert (again.accepted, again.duplicates, again.rejected) == (0, count, 0)


async def test_async_client_ingests_imports_and_exports(stack: Stack, tmp_path: Path) -> None:
    """The async client: batched ingest with concurrency, a rerun, JSONL and Parquet files
    through the readers, the export and the report."""
    import pyarrow as pa

    texts = [f"Where is city number {i} ?" for i in range(12)]
    async with AsyncMitlClient(stack.endpoints, token=AUDITOR_TOKEN) as client:
        items = [Item(external_id=f"a{i}", text=t) for i, t in enumerate(texts)]
        first = await client.ingest_many(stack.dataset, items, batch_size=3, concurrency=3)
        again = await client.ingest_many(stack.dataset, items, batch_size=12)
        assert (first.accepted, again.duplicates) == (12, 12)

        jsonl = tmp_path / "more.jsonl"
        jsonl.write_text(
            json.dumps({"id": "j1", "text": "Who painted it ?", "lang": "en"})
            + "\n{not json\n"
            + json.dumps({"id": "j2", "text": "z" * 600})
            + "\n"
        )
        parquet = tmp_path / "more.parquet"
        pq.write_table(pa.table({"id": ["p1", "p2"], "text": ["Why ?", "When ?"]}), parquet)
        from mitl_client.files import Row, read

        for path, expected in ((jsonl, 1), (parquet, 2)):
            rows = [r.item for r in read(path) if isinstance(r, Row)]
            summary = await client.ingest_many(stack.dataset, rows)
            assert summary.accepted == expected
        out = tmp_path / "async.parquet"
        assert await client.export(stack.dataset, out, format="parquet") >= 0
        report = await client.report(stack.dataset)
        assert report["dataset"] == stack.dataset
