"""OpenTelemetry traces that follow an item across the platform's HTTP and Kafka hops.

Off by default (`tracing_exporter: none`): nothing is created and the hot path pays one
attribute check. On, each service has its own tracer provider (resource `service.name`), so
that services sharing a process (tests) stay apart:

- an HTTP request gets a SERVER span (`service_app`'s middleware);
- each consumed record gets a CONSUMER span, child of the context in its `traceparent`
  header, open while its batch is handled;
- each published event carries a `traceparent` header: the span of the consumed record of the
  same key (item id) if the event was made while handling one, else the current span (the
  HTTP request that made it).

So one item's trace runs from the ingest request (or the raw topic) through inference, router,
review-api, audit, drift-monitor and trainer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from mitl_runtime.settings import ServiceSettings

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()
# While a consumed batch is handled: each record's key -> the context of its CONSUMER span.
_RECORD_CONTEXTS: ContextVar[dict[bytes, otel_context.Context] | None] = ContextVar(
    "mitl_record_contexts", default=None
)


class JsonLinesExporter(SpanExporter):
    """Appends one JSON object per finished span to a file (one write per span, so processes
    may share the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(json.dumps(json.loads(s.to_json())) + "\n" for s in spans)
        with self._lock, self.path.open("a") as out:
            out.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


class Tracing:
    """A service's tracer, or nothing when tracing is off."""

    def __init__(self, settings: ServiceSettings, service: str) -> None:
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer | None = None
        if settings.tracing_exporter == "none":
            return
        sampler = ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio))
        provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "mitl"}),
            sampler=sampler,
        )
        if settings.tracing_exporter == "file":
            assert settings.tracing_file is not None  # the settings' validator says so
            settings.tracing_file.parent.mkdir(parents=True, exist_ok=True)
            provider.add_span_processor(
                SimpleSpanProcessor(JsonLinesExporter(settings.tracing_file))
            )
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint)
            provider.add_span_processor(BatchSpanProcessor(exporter))
        self.provider = provider
        self.tracer = provider.get_tracer("mitl")

    @property
    def enabled(self) -> bool:
        return self.tracer is not None

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()

    @contextmanager
    def consuming(self, topic: str, group: str, records: Sequence[Any]) -> Iterator[None]:
        """A CONSUMER span per record, child of its `traceparent`, open while the batch is
        handled; events published meanwhile under a record's key continue its trace."""
        if self.tracer is None:
            yield
            return
        spans: list[trace.Span] = []
        contexts: dict[bytes, otel_context.Context] = {}
        for record in records:
            headers = {
                k: v.decode("latin-1") for k, v in (record.headers or ()) if k == TRACEPARENT
            }
            parent = _PROPAGATOR.extract(headers)
            key = record.key or b""
            span = self.tracer.start_span(
                f"{topic} process",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.operation.type": "process",
                    "messaging.destination.name": topic,
                    "messaging.consumer.group.name": group,
                    "messaging.destination.partition.id": str(record.partition),
                    "messaging.kafka.offset": record.offset,
                    "messaging.kafka.message.key": key.decode("utf-8", "replace"),
                },
            )
            spans.append(span)
            contexts[key] = trace.set_span_in_context(span)
        token = _RECORD_CONTEXTS.set(contexts)
        try:
            yield
        except BaseException as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            _RECORD_CONTEXTS.reset(token)
            for span in spans:
                span.end()

    def headers(self, key: bytes) -> list[tuple[str, bytes]]:
        """The `traceparent` header for an event published under `key`: the consumed record of
        the same key's span, else the current span; none if there is no span to continue."""
        if self.tracer is None:
            return []
        contexts = _RECORD_CONTEXTS.get()
        ctx = contexts.get(key) if contexts else None
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=ctx)
        value = carrier.get(TRACEPARENT)
        return [(TRACEPARENT, value.encode())] if value else []

    @contextmanager
    def serving(
        self, method: str, route: str, traceparent: str | None
    ) -> Iterator[trace.Span | None]:
        """A SERVER span for one HTTP request, current while the request is handled."""
        if self.tracer is None:
            yield None
            return
        parent = _PROPAGATOR.extract({TRACEPARENT: traceparent} if traceparent else {})
        with self.tracer.start_as_current_span(
            f"{method} {route}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        ) as span:
            yield span
