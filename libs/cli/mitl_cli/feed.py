"""Streams a labeled dataset's unlabeled pool into ingest over HTTP, as a client would."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
from mitl_ml.bootstrap import bootstrap_splits


def pool_examples(
    dataset: str, limit: int | None = None
) -> Iterator[tuple[dict[str, object], str]]:
    """Items of the pool the bootstrap model was not trained on, with stable external ids,
    each with its true label (what `mitl run --annotators` answers)."""
    pool = bootstrap_splits(dataset, seed_size=300, seed=0).pool
    for index, example in enumerate(pool.examples[:limit]):
        yield {"external_id": f"{dataset}-pool-{index}", "text": example.text}, example.label


def pool_items(dataset: str, limit: int | None = None) -> Iterator[dict[str, object]]:
    """Items of the pool the bootstrap model was not trained on, with stable external ids."""
    for item, _ in pool_examples(dataset, limit):
        yield item


def stream(
    ingest_url: str,
    dataset: str,
    *,
    rate: float,
    batch_size: int = 25,
    limit: int | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[dict[str, object]]:
    """POST batches at about `rate` items/s (with `headers`: the client's key); yields each
    batch's response body."""
    batch: list[dict[str, object]] = []
    interval = batch_size / rate if rate > 0 else 0.0
    with httpx.Client(base_url=ingest_url, timeout=30, headers=headers) as client:
        next_at = time.monotonic()
        for item in pool_items(dataset, limit):
            batch.append(item)
            if len(batch) < batch_size:
                continue
            yield post(client, dataset, batch)
            batch = []
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        if batch:
            yield post(client, dataset, batch)


def post(client: httpx.Client, dataset: str, items: list[dict[str, object]]) -> dict[str, object]:
    response = client.post("/v1/items", json={"dataset": dataset, "items": items})
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body
