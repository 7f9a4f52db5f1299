"""Tracing (mitl_runtime.tracing): off, it adds nothing; on, a consumed record's span continues
the trace in its `traceparent` header, an event published for the same key carries that span on,
and spans land in the JSON-lines file with the service's name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from mitl_runtime.settings import ServiceSettings
from mitl_runtime.tracing import TRACEPARENT, Tracing
from pydantic import ValidationError

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@dataclass
class Record:
    key: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int = 0
    offset: int = 0


def spans(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_off_by_default_adds_no_header() -> None:
    tracing = Tracing(ServiceSettings(), "router")
    assert not tracing.enabled
    with tracing.consuming("t", "g", [Record(b"k", ((TRACEPARENT, PARENT.encode()),))]):
        assert tracing.headers(b"k") == []


def test_file_exporter_needs_a_file() -> None:
    with pytest.raises(ValidationError, match="tracing_exporter 'file' needs tracing_file"):
        ServiceSettings(tracing_exporter="file")


def test_a_consumed_record_continues_its_trace_into_what_is_published(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    tracing = Tracing(ServiceSettings(tracing_exporter="file", tracing_file=out), "router")
    records = [
        Record(b"item-1", ((TRACEPARENT, PARENT.encode()),), offset=7),
        Record(b"item-2", ()),  # no context: a trace of its own
    ]
    with tracing.consuming("mitl.predictions.v1", "mitl-router.predictions.v1", records):
        ((name, value),) = tracing.headers(b"item-1")
        assert name == TRACEPARENT
        _, trace_id, span_id, _ = value.decode().split("-")
        assert trace_id == TRACE_ID  # the same trace, one hop further
        assert span_id != PARENT.split("-")[2]
        ((_, other),) = tracing.headers(b"item-2")
        assert other.decode().split("-")[1] != TRACE_ID
        # A key the batch did not hold: no span is current, nothing to continue.
        assert tracing.headers(b"item-3") == []
    tracing.shutdown()
    first, second = spans(out)
    assert first["name"] == "mitl.predictions.v1 process"
    assert first["kind"] == "SpanKind.CONSUMER"
    assert first["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert first["context"]["span_id"] == f"0x{span_id}"
    assert first["parent_id"] == "0x" + PARENT.split("-")[2]
    assert first["attributes"]["messaging.kafka.offset"] == 7
    assert first["attributes"]["messaging.consumer.group.name"] == "mitl-router.predictions.v1"
    assert first["resource"]["attributes"]["service.name"] == "router"
    assert second["parent_id"] is None


def test_a_failed_batch_marks_its_spans(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    tracing = Tracing(ServiceSettings(tracing_exporter="file", tracing_file=out), "audit")
    with pytest.raises(RuntimeError):
        with tracing.consuming("t", "g", [Record(b"k", ())]):
            raise RuntimeError("boom")
    tracing.shutdown()
    (span,) = spans(out)
    assert span["status"]["status_code"] == "ERROR"


def test_an_http_request_span_is_current_for_what_it_publishes(tmp_path: Path) -> None:
    out = tmp_path / "spans.jsonl"
    tracing = Tracing(ServiceSettings(tracing_exporter="file", tracing_file=out), "ingest")
    with tracing.serving("POST", "/v1/items", PARENT) as span:
        assert span is not None
        ((_, value),) = tracing.headers(b"any-item")
        assert value.decode().split("-")[1] == TRACE_ID
    tracing.shutdown()
    (served,) = spans(out)
    assert served["kind"] == "SpanKind.SERVER" and served["name"] == "POST /v1/items"
