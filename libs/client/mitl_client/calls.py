"""What each client call sends (`Call`) and how its answer is read: shared by the sync and the
async client, no I/O here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict, Unpack
from urllib.parse import quote

import httpx
from mitl_contracts.api import IngestResponse
from mitl_contracts.events import Queue
from mitl_contracts.spans import Span

from mitl_client.models import DatasetInfo, Item, SubmitAction, SubmitResult, Task

Service = Literal["ingest", "inference", "review", "audit"]
ExportFormat = Literal[
    "jsonl", "parquet", "csv", "label-studio", "labelstudio", "hf-jsonl", "conll", "spacy"
]


@dataclass(frozen=True)
class Call:
    service: Service
    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    # auth: the call needs the client's token (refused here without one); credential: which
    # secret goes with the call when the client has one (the ingest key, or the token for
    # audit's reports and export), the service saying whether it needs it.
    auth: bool = False
    credential: Literal["token", "api_key"] | None = None
    # A body that is not JSON (a model bundle's archive), with its media type.
    content: bytes | None = None
    content_type: str | None = None


def detail(response: httpx.Response) -> str:
    """The error message of an answer: FastAPI's `detail` (a string, or validation errors)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        found = body["detail"]
        if isinstance(found, list):
            return "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg', e)}"
                if isinstance(e, dict)
                else str(e)
                for e in found
            )
        return str(found)
    return response.text[:500]


def _window(start: datetime | None, end: datetime | None) -> dict[str, str]:
    params = {}
    if start is not None:
        params["from"] = start.isoformat()
    if end is not None:
        params["to"] = end.isoformat()
    return params


def ingest(dataset: str, items: list[Item], batch_id: str | None) -> Call:
    body: dict[str, Any] = {"dataset": dataset, "items": [item.body() for item in items]}
    if batch_id is not None:
        body["batch_id"] = batch_id
    return Call("ingest", "POST", "/v1/items", json=body, credential="api_key")


def ingest_response(response: httpx.Response) -> IngestResponse:
    return IngestResponse.model_validate_json(response.content)


DATASETS = Call("review", "GET", "/v1/datasets", auth=True)


def datasets(response: httpx.Response) -> list[DatasetInfo]:
    return [DatasetInfo.model_validate(d) for d in response.json()["datasets"]]


def claim(dataset: str, queue: Queue) -> Call:
    return Call("review", "POST", f"/v1/queues/{dataset}/{queue}/claim", auth=True)


def task(response: httpx.Response) -> Task | None:
    if response.status_code == 204:
        return None
    return Task.model_validate_json(response.content)


class Note(TypedDict, total=False):
    """What a submission may add to its action: a comment and the time spent on the task."""

    comment: str | None
    time_spent_ms: int | None


def submit(
    task: Task | str,
    action: SubmitAction,
    *,
    label: str | None = None,
    spans: Sequence[Span] | None = None,
    **note: Unpack[Note],
) -> Call:
    """A submission; given the Task as claimed, it names the revision it was decided on."""
    body: dict[str, Any] = {"action": action}
    if label is not None:
        body["label"] = label
    if spans is not None:
        body["spans"] = [s.model_dump(exclude={"confidence"}) for s in spans]
    body |= {key: value for key, value in note.items() if value is not None}
    if isinstance(task, Task):
        body["revision"] = task.revision
        task_id = task.task_id
    else:
        task_id = task
    return Call("review", "POST", f"/v1/tasks/{task_id}/submit", json=body, auth=True)


def submit_result(response: httpx.Response) -> SubmitResult:
    return SubmitResult.model_validate_json(response.content)


def report(
    dataset: str, start: datetime | None, end: datetime | None, format: Literal["json", "csv"]
) -> Call:
    return Call(
        "audit",
        "GET",
        f"/v1/reports/{dataset}",
        params={**_window(start, end), "format": format},
        credential="token",
    )


def overrides_call(dataset: str, limit: int) -> Call:
    return Call(
        "audit",
        "GET",
        f"/v1/overrides/{dataset}",
        params={"limit": str(limit)},
        credential="token",
    )


def overrides(response: httpx.Response) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = response.json()["overrides"]
    return found


class ExportQuery(TypedDict, total=False):
    """What `export` asks for besides the dataset: the file format (default jsonl), the
    labels' time window and the ingest batch."""

    format: ExportFormat
    start: datetime | None
    end: datetime | None
    batch: str | None


def export(dataset: str, **query: Unpack[ExportQuery]) -> Call:
    params = {
        **_window(query.get("start"), query.get("end")),
        "format": query.get("format", "jsonl"),
    }
    if (batch := query.get("batch")) is not None:
        params["batch"] = batch
    return Call("audit", "GET", f"/v1/export/{dataset}", params=params, credential="token")


def export_items(response: httpx.Response) -> int:
    """How many items an export wrote, as its answer says."""
    return int(response.headers.get("x-mitl-export-items", "0"))


def labeled(task: Task | str, label: str | None, **note: Unpack[Note]) -> Call:
    """Labeling a claimed task: a correction with `label` (or agreeing by naming it), or,
    without one, confirming the model's suggestion."""
    return submit(task, "confirm" if label is None else "correct", label=label, **note)


def spans_labeled(task: Task | str, spans: Sequence[Span], **note: Unpack[Note]) -> Call:
    """Labeling a claimed span task with the item's full span set (the suggested set
    unchanged is recorded as a confirmation)."""
    return submit(task, "correct", spans=spans, **note)


MODELS = Call("inference", "GET", "/v1/models")


def register_model(archive: bytes) -> Call:
    return Call(
        "inference",
        "POST",
        "/v1/registry",
        auth=True,
        content=archive,
        content_type="application/gzip",
    )


def model_status(dataset: str, version: str, action: Literal["promote", "retire"]) -> Call:
    path = f"/v1/registry/{quote(dataset, safe='')}/{quote(version, safe='')}/{action}"
    return Call("inference", "POST", path, auth=True)


def registry(dataset: str | None) -> Call:
    return Call(
        "inference", "GET", "/v1/registry", params={"dataset": dataset} if dataset else None
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object from {response.request.url}")
    return body


def json_list(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    if not isinstance(body, list):
        raise ValueError(f"expected a JSON array from {response.request.url}")
    return body
