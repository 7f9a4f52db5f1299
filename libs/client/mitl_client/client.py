"""`MitlClient` (sync, httpx.Client) and `AsyncMitlClient` (async, httpx.AsyncClient): the same
methods, the same retries. What a call sends and how its answer is read is shared (`calls`);
only the waiting differs.

Retries are safe because every call retried is idempotent on the server: ingest dedupes by
(dataset, external_id), a repeated submission answers the same and publishes nothing new, a
claim by a caller holding a live lease returns that task again, reads are reads.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, Unpack

import httpx
from mitl_contracts.api import IngestResponse
from mitl_contracts.events import Queue

from mitl_client import calls
from mitl_client.bundles import bundle_archive
from mitl_client.calls import Call
from mitl_client.errors import ApiError, RetriesExhausted
from mitl_client.models import (
    RETRY_STATUSES,
    DatasetInfo,
    Endpoints,
    IngestSummary,
    Item,
    RetryPolicy,
    SubmitResult,
    Task,
)

BatchCallback = Callable[[list[Item], IngestResponse], None]
DEFAULT_BATCH = 500
DEFAULT_CONCURRENCY = 4


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _check_sizes(batch_size: int, concurrency: int) -> None:
    if batch_size < 1 or concurrency < 1:
        raise ValueError(f"batch_size ({batch_size}) and concurrency ({concurrency}) must be >= 1")


class _Attempts:
    """One call's retry loop, the same for both clients. Iterating gives, before each attempt,
    the seconds to wait first (None before the first); an attempt that does not settle the
    call says why (`attempt`, `retry_later`), and `exhausted()` is the error once none did."""

    def __init__(self, retry: RetryPolicy, method: str, url: str) -> None:
        self.retry, self.method, self.url = retry, method, url
        self._last = ""
        self._retry_after: str | None = None

    def __iter__(self) -> Iterator[float | None]:
        yield None
        for attempt in range(1, self.retry.attempts):
            yield self.retry.delay(attempt, self._retry_after)

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """Around one attempt: a transport error ends the attempt (recorded), not the call."""
        try:
            yield
        except httpx.TransportError as error:
            self._last, self._retry_after = f"{type(error).__name__}: {error}", None

    def retry_later(self, response: httpx.Response, why: str) -> None:
        self._last, self._retry_after = why, response.headers.get("retry-after")

    def exhausted(self) -> RetriesExhausted:
        return RetriesExhausted(self.method, self.url, self.retry.attempts, self._last)


Transport = TypeVar("Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)
Http = TypeVar("Http", httpx.Client, httpx.AsyncClient)


class _Base(ABC, Generic[Transport, Http]):
    """What both clients share: configuration, URLs, headers, how an answer is judged."""

    def __init__(
        self,
        endpoints: Endpoints | None = None,
        *,
        token: str | None = None,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: Transport | None = None,
    ) -> None:
        self.endpoints = endpoints or Endpoints.from_env()
        self.token = token if token is not None else os.environ.get("MITL_TOKEN")
        # The ingest client's key (`mitl clients create`), sent with every ingest call.
        self.api_key = api_key if api_key is not None else os.environ.get("MITL_API_KEY")
        self.retry = retry or RetryPolicy()
        self._http: Http = self._connect(timeout, transport)

    @abstractmethod
    def _connect(self, timeout: float, transport: Transport | None) -> Http:
        """The httpx client the calls go through."""

    def _attempts(self, call: Call) -> tuple[str, _Attempts]:
        """The call's URL and its retry loop."""
        url = self._url(call)
        return url, _Attempts(self.retry, call.method, url)

    def _url(self, call: Call) -> str:
        return str(getattr(self.endpoints, call.service)).rstrip("/") + call.path

    def _headers(self, call: Call) -> dict[str, str]:
        if call.auth and not self.token:
            raise ValueError(f"{call.path} needs a token: pass token= or set MITL_TOKEN")
        secret = self.api_key if call.credential == "api_key" else self.token
        if call.auth or (call.credential is not None and secret):
            return {"Authorization": f"Bearer {secret}"}
        return {}

    def _request(self, call: Call) -> dict[str, Any]:
        """What httpx sends for `call` besides its method and URL."""
        headers = self._headers(call)
        if call.content is not None:
            headers["Content-Type"] = call.content_type or "application/octet-stream"
            return {"params": call.params, "content": call.content, "headers": headers}
        return {"params": call.params, "json": call.json, "headers": headers}

    def _outcome(
        self, call: Call, url: str, response: httpx.Response, attempts: _Attempts
    ) -> httpx.Response | None:
        """The response if final (success or a non-retryable error, raised), None to retry."""
        if response.status_code in RETRY_STATUSES:
            attempts.retry_later(response, f"{response.status_code} {calls.detail(response)}")
            return None
        if response.status_code >= 400:
            raise ApiError(call.method, url, response.status_code, calls.detail(response))
        return response


class MitlClient(_Base[httpx.BaseTransport, httpx.Client]):
    """Synchronous client. `with MitlClient(token=...) as mitl: mitl.ingest(...)`.

    `endpoints` defaults to MITL_*_URL or the local ports; `token` (review API, and an
    auditor's or admin's for reports and export) to MITL_TOKEN; `api_key` (ingest's client
    key) to MITL_API_KEY;
    `transport` is passed to httpx (tests, proxies)."""

    def _connect(self, timeout: float, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(timeout=timeout, transport=transport)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> httpx.Response:
        url, attempts = self._attempts(call)
        for pause in attempts:
            if pause is not None:
                time.sleep(pause)
            with attempts.attempt():
                response = self._http.request(call.method, url, **self._request(call))
                if (final := self._outcome(call, url, response, attempts)) is not None:
                    return final
        raise attempts.exhausted()

    # ingest

    def ingest(
        self, dataset: str, items: list[Item], *, batch_id: str | None = None
    ) -> IngestResponse:
        """One POST /v1/items; the answer says per item: accepted, duplicate, or rejected and why.
        A 413 (more items than the server takes a request) is raised: `ingest_many` splits."""
        return calls.ingest_response(self._send(calls.ingest(dataset, items, batch_id)))

    def _ingest_split(
        self, dataset: str, items: list[Item], batch_id: str | None
    ) -> list[tuple[list[Item], IngestResponse]]:
        try:
            return [(items, self.ingest(dataset, items, batch_id=batch_id))]
        except ApiError as error:
            if error.status != 413 or len(items) == 1:
                raise
        half = len(items) // 2
        return self._ingest_split(dataset, items[:half], batch_id) + self._ingest_split(
            dataset, items[half:], batch_id
        )

    def ingest_many(
        self,
        dataset: str,
        items: Iterable[Item],
        *,
        batch_id: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_batch: BatchCallback | None = None,
    ) -> IngestSummary:
        """Ingest `items` (any iterable, read lazily) in requests of `batch_size`, at most
        `concurrency` in flight; `on_batch(items, response)` after each request. Safe to run
        again on the same items: those already ingested come back as duplicates."""
        _check_sizes(batch_size, concurrency)
        summary = IngestSummary()

        def done(future: Future[list[tuple[list[Item], IngestResponse]]]) -> None:
            for sent, response in future.result():
                summary.add(sent, response.items)
                if on_batch is not None:
                    on_batch(sent, response)

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pending: set[Future[list[tuple[list[Item], IngestResponse]]]] = set()
            for chunk in _chunks(items, batch_size):
                if len(pending) >= concurrency:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done(future)
                pending.add(pool.submit(self._ingest_split, dataset, chunk, batch_id))
            for future in pending:
                done(future)
        return summary

    # review

    def datasets(self) -> list[DatasetInfo]:
        """The datasets of the catalog with their labels (review API, needs a token)."""
        return calls.datasets(self._send(calls.DATASETS))

    def claim(self, dataset: str, queue: Queue = "annotator") -> Task | None:
        """Lease the next task of the queue; None when there is nothing to claim."""
        return calls.task(self._send(calls.claim(dataset, queue)))

    def submit(
        self,
        task: Task | str,
        label: str | None = None,
        **note: Unpack[calls.Note],
    ) -> SubmitResult:
        """Label a claimed task: with `label` (a correction, or agreeing by naming it), or
        without one to confirm the model's suggestion (not on blind tasks)."""
        call = calls.labeled(task, label, **note)
        return calls.submit_result(self._send(call))

    def escalate(self, task: Task | str, comment: str | None = None) -> SubmitResult:
        """Send a claimed task to the expert queue (annotators)."""
        return calls.submit_result(self._send(calls.submit(task, "escalate", comment=comment)))

    def skip(self, task: Task | str) -> SubmitResult:
        """Give a claimed task back to its queue for someone else."""
        return calls.submit_result(self._send(calls.submit(task, "skip")))

    # audit

    def report(
        self, dataset: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """The dataset's report (routing shares, overrides, spot-check precision, annotators
        and their agreement)."""
        return calls.json_object(self._send(calls.report(dataset, start, end, "json")))

    def report_csv(
        self, dataset: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> str:
        return self._send(calls.report(dataset, start, end, "csv")).text

    def overrides(self, dataset: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest human labels that differ from the model's suggestion."""
        return calls.overrides(self._send(calls.overrides_call(dataset, limit)))

    def export(
        self,
        dataset: str,
        out: str | Path,
        **query: Unpack[calls.ExportQuery],
    ) -> int:
        """Write the labeled dataset with provenance to `out` (all or nothing: a temporary file
        renamed when complete); return the number of items."""
        call = calls.export(dataset, **query)
        url, attempts = self._attempts(call)
        for pause in attempts:
            if pause is not None:
                time.sleep(pause)
            with attempts.attempt():
                with self._http.stream(call.method, url, **self._request(call)) as response:
                    if response.status_code >= 400:
                        response.read()  # the error's detail
                    if self._outcome(call, url, response, attempts) is None:
                        continue
                    with _AtomicFile(Path(out)) as handle:
                        for block in response.iter_bytes():
                            handle.write(block)
                    return calls.export_items(response)
        raise attempts.exhausted()

    # inference

    def models(self) -> dict[str, Any]:
        """The model version serving each dataset (on the replica answering), with manifests."""
        return calls.json_object(self._send(calls.MODELS))

    def registry(self, dataset: str | None = None) -> list[dict[str, Any]]:
        """Every registered model version (of `dataset`) with its status and metrics."""
        return calls.json_list(self._send(calls.registry(dataset)))

    def register_model(self, bundle_dir: Path) -> dict[str, Any]:
        """Upload a model bundle directory; inference validates it as serving would and
        registers it as a candidate (needs the admin token as `token`). Returns its record."""
        return calls.json_object(self._send(calls.register_model(bundle_archive(bundle_dir))))

    def promote_model(self, dataset: str, version: str) -> dict[str, Any]:
        """Make `version` the champion of `dataset`; every inference replica swaps to it."""
        return calls.json_object(self._send(calls.model_status(dataset, version, "promote")))

    def retire_model(self, dataset: str, version: str) -> dict[str, Any]:
        """Retire `version` of `dataset` (not its champion)."""
        return calls.json_object(self._send(calls.model_status(dataset, version, "retire")))


class AsyncMitlClient(_Base[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """Asynchronous client, the same methods as `MitlClient` as coroutines.
    `async with AsyncMitlClient(token=...) as mitl: await mitl.ingest_many(...)`."""

    def _connect(
        self, timeout: float, transport: httpx.AsyncBaseTransport | None
    ) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        url, attempts = self._attempts(call)
        for pause in attempts:
            if pause is not None:
                await asyncio.sleep(pause)
            with attempts.attempt():
                response = await self._http.request(call.method, url, **self._request(call))
                if (final := self._outcome(call, url, response, attempts)) is not None:
                    return final
        raise attempts.exhausted()

    async def ingest(
        self, dataset: str, items: list[Item], *, batch_id: str | None = None
    ) -> IngestResponse:
        """One POST /v1/items (see MitlClient.ingest)."""
        return calls.ingest_response(await self._send(calls.ingest(dataset, items, batch_id)))

    async def _ingest_split(
        self, dataset: str, items: list[Item], batch_id: str | None
    ) -> list[tuple[list[Item], IngestResponse]]:
        try:
            return [(items, await self.ingest(dataset, items, batch_id=batch_id))]
        except ApiError as error:
            if error.status != 413 or len(items) == 1:
                raise
        half = len(items) // 2
        return await self._ingest_split(dataset, items[:half], batch_id) + await self._ingest_split(
            dataset, items[half:], batch_id
        )

    async def ingest_many(
        self,
        dataset: str,
        items: Iterable[Item] | AsyncIterable[Item],
        *,
        batch_id: str | None = None,
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_batch: BatchCallback | None = None,
    ) -> IngestSummary:
        """Ingest `items` in requests of `batch_size`, at most `concurrency` in flight (see
        MitlClient.ingest_many)."""
        _check_sizes(batch_size, concurrency)
        summary = IngestSummary()
        slots = asyncio.Semaphore(concurrency)
        failures: list[BaseException] = []

        async def send(chunk: list[Item]) -> None:
            try:
                for sent, response in await self._ingest_split(dataset, chunk, batch_id):
                    summary.add(sent, response.items)
                    if on_batch is not None:
                        on_batch(sent, response)
            except Exception as error:
                failures.append(error)
            finally:
                slots.release()

        tasks: set[asyncio.Task[None]] = set()

        async def start(chunk: list[Item]) -> None:
            await slots.acquire()
            if failures:
                slots.release()
                return
            task = asyncio.create_task(send(chunk))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        if isinstance(items, AsyncIterable):
            chunk: list[Item] = []
            async for item in items:
                chunk.append(item)
                if len(chunk) >= batch_size:
                    await start(chunk)
                    chunk = []
                    if failures:
                        break
            if chunk and not failures:
                await start(chunk)
        else:
            for chunk in _chunks(items, batch_size):
                await start(chunk)
                if failures:
                    break
        await asyncio.gather(*tasks)
        if failures:
            raise failures[0]
        return summary

    async def datasets(self) -> list[DatasetInfo]:
        return calls.datasets(await self._send(calls.DATASETS))

    async def claim(self, dataset: str, queue: Queue = "annotator") -> Task | None:
        return calls.task(await self._send(calls.claim(dataset, queue)))

    async def submit(
        self,
        task: Task | str,
        label: str | None = None,
        **note: Unpack[calls.Note],
    ) -> SubmitResult:
        call = calls.labeled(task, label, **note)
        return calls.submit_result(await self._send(call))

    async def escalate(self, task: Task | str, comment: str | None = None) -> SubmitResult:
        return calls.submit_result(
            await self._send(calls.submit(task, "escalate", comment=comment))
        )

    async def skip(self, task: Task | str) -> SubmitResult:
        return calls.submit_result(await self._send(calls.submit(task, "skip")))

    async def report(
        self, dataset: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        return calls.json_object(await self._send(calls.report(dataset, start, end, "json")))

    async def report_csv(
        self, dataset: str, *, start: datetime | None = None, end: datetime | None = None
    ) -> str:
        return (await self._send(calls.report(dataset, start, end, "csv"))).text

    async def overrides(self, dataset: str, *, limit: int = 100) -> list[dict[str, Any]]:
        return calls.overrides(await self._send(calls.overrides_call(dataset, limit)))

    async def export(
        self,
        dataset: str,
        out: str | Path,
        **query: Unpack[calls.ExportQuery],
    ) -> int:
        """Write the labeled dataset with provenance to `out` (see MitlClient.export)."""
        call = calls.export(dataset, **query)
        url, attempts = self._attempts(call)
        for pause in attempts:
            if pause is not None:
                await asyncio.sleep(pause)
            with attempts.attempt():
                async with self._http.stream(call.method, url, **self._request(call)) as response:
                    if response.status_code >= 400:
                        await response.aread()  # the error's detail
                    if self._outcome(call, url, response, attempts) is None:
                        continue
                    with _AtomicFile(Path(out)) as handle:
                        async for block in response.aiter_bytes():
                            handle.write(block)
                    return calls.export_items(response)
        raise attempts.exhausted()

    async def models(self) -> dict[str, Any]:
        return calls.json_object(await self._send(calls.MODELS))

    async def registry(self, dataset: str | None = None) -> list[dict[str, Any]]:
        return calls.json_list(await self._send(calls.registry(dataset)))

    async def register_model(self, bundle_dir: Path) -> dict[str, Any]:
        archive = await asyncio.to_thread(bundle_archive, bundle_dir)
        return calls.json_object(await self._send(calls.register_model(archive)))

    async def promote_model(self, dataset: str, version: str) -> dict[str, Any]:
        return calls.json_object(await self._send(calls.model_status(dataset, version, "promote")))

    async def retire_model(self, dataset: str, version: str) -> dict[str, Any]:
        return calls.json_object(await self._send(calls.model_status(dataset, version, "retire")))


class _AtomicFile:
    """A file written beside `path` and renamed onto it once complete; removed on failure."""

    def __init__(self, path: Path) -> None:
        self.path = path
        descriptor, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".part", dir=path.parent or Path(".")
        )
        self.temporary = Path(name)
        self.handle = os.fdopen(descriptor, "wb")

    def __enter__(self) -> Any:
        return self.handle

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.handle.close()
        if kind is None:
            os.replace(self.temporary, self.path)
        else:
            self.temporary.unlink(missing_ok=True)
