"""Ingest's pure core: check an item against its dataset, give it a stable id, build events.

Ids are derived, not random: the same (dataset, external_id) always gets the same item_id and
the same event ids, so a replay after a crash produces events that downstream sinks dedupe.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from mitl_contracts.datasets import Catalog, Dataset, UnknownDataset
from mitl_contracts.events import ItemIngested, ItemRaw, Prediction
from mitl_contracts.ids import item_id_for as item_id_for  # re-exported: ingest names the ids
from mitl_contracts.spans import ordered, span_fault, trimmed
from mitl_ml import images


@dataclass(frozen=True)
class Outcome:
    external_id: str
    status: Literal["accepted", "duplicate", "rejected"]
    item_id: str | None = None
    reason: str | None = None


class Rejected(ValueError):
    """The item can never be accepted; the message names the problem."""


NUL = "\x00"
# An item's metadata holds at most this many keys (ItemContent.metadata).
METADATA_LIMIT = 50


def nul_fields(raw: ItemRaw) -> list[str]:
    """The fields of `raw` holding a NUL character. PostgreSQL text and jsonb cannot store one,
    so such an item would fail every service that keeps it, on every redelivery."""
    strings: list[tuple[str, str | None]] = [
        ("external_id", raw.external_id),
        ("batch_id", raw.batch_id),
        ("text", raw.text),
        ("image_url", raw.image_url),
        *((f"metadata key {key!r}", key) for key in raw.metadata),
        *((f"metadata[{key!r}]", value) for key, value in raw.metadata.items()),
    ]
    return [name for name, value in strings if value is not None and NUL in value]


def check(raw: ItemRaw, catalog: Catalog) -> None:
    """Raise Rejected (or UnknownDataset) unless `raw` fits its dataset."""
    if fields := nul_fields(raw):
        raise Rejected(f"{', '.join(fields)}: contains a NUL character (U+0000), not allowed")
    dataset = catalog.get(raw.dataset)
    if raw.image_url is not None and raw.image is None:
        raise Rejected(url_refusal(dataset) or "image_url: the image was not fetched")
    try:
        dataset.check_content(raw.content)
    except ValueError as error:
        raise Rejected(str(error)) from None
    if (data := raw.content.image_data) is not None:
        check_image(data, dataset)
    if raw.prediction is not None:
        prediction = raw.prediction
        if sorted(prediction.labels) != sorted(dataset.labels):
            raise Rejected(
                f"client prediction labels {prediction.labels} are not the label set of "
                f"dataset {dataset.name!r}: {dataset.labels}"
            )
        check_client_spans(raw, dataset)
        if dataset.task == "spans":
            return
        multilabel = dataset.task == "multilabel"
        if multilabel != (prediction.label_probabilities is not None):
            raise Rejected(
                f"dataset {dataset.name!r} is {'multi' if multilabel else 'single'}-label; the "
                f"client prediction {'lacks' if multilabel else 'carries'} label_probabilities"
            )


def check_client_spans(raw: ItemRaw, dataset: Dataset) -> None:
    """Raise Rejected unless the client prediction has spans exactly when `dataset` labels
    spans, and they fit the item's text and the dataset as a span model's must: inside the
    text, with the dataset's labels, overlapping only where the dataset allows it."""
    prediction = raw.prediction
    if prediction is None:
        return
    if dataset.task != "spans":
        if prediction.spans is not None:
            raise Rejected(
                f"dataset {dataset.name!r} is {dataset.task}; the client prediction has spans"
            )
        return
    if prediction.spans is None:
        raise Rejected(
            f"dataset {dataset.name!r} labels spans; the client prediction has no 'spans' "
            "and 'spans_complete'"
        )
    try:
        spans = trimmed(prediction.spans, raw.content.text or "")
    except ValueError as error:
        raise Rejected(f"client prediction: {error} (dataset {dataset.name!r})") from None
    if (fault := span_fault(spans, raw.content.text or "", dataset)) is not None:
        raise Rejected(f"client prediction: {fault} (dataset {dataset.name!r})")


def check_image(data: bytes, dataset: Dataset) -> None:
    """Raise Rejected unless `data` is a whole PNG or JPEG within the dataset's limits."""
    if len(data) > dataset.max_image_bytes:
        raise Rejected(
            f"image has {len(data)} bytes; dataset {dataset.name!r} allows "
            f"{dataset.max_image_bytes} (max_image_bytes)"
        )
    try:
        images.check(data, dataset.max_image_side)
    except images.InvalidImage as error:
        raise Rejected(f"image: {error} (dataset {dataset.name!r})") from None


def url_refusal(dataset: Dataset) -> str | None:
    """Why ingest may not fetch an `image_url` item of `dataset`, or None if it may."""
    if dataset.input_kind != "image":
        return f"dataset {dataset.name!r} takes {dataset.input_kind} items, not image"
    if not dataset.image_urls:
        return (
            f"image_url: dataset {dataset.name!r} does not allow fetching images by URL "
            "(image_urls: false); send the image's bytes base64-encoded in 'image'"
        )
    return None


def to_fetch(raw: ItemRaw, catalog: Catalog) -> str | None:
    """The URL ingest should fetch for `raw`: an `image_url` item of a dataset that allows it."""
    if raw.image_url is None or raw.image is not None:
        return None
    dataset = catalog.datasets.get(raw.dataset)
    if dataset is None or url_refusal(dataset) is not None:
        return None
    return raw.image_url


def with_image(raw: ItemRaw, data: bytes) -> ItemRaw:
    """`raw` with its fetched image as the item's `image` (base64), its URL kept in
    metadata['image_url'] when there is room."""
    metadata = dict(raw.metadata)
    if raw.image_url is not None and len(metadata) < METADATA_LIMIT:
        metadata.setdefault("image_url", raw.image_url)
    return raw.model_copy(
        update={
            "image": base64.b64encode(data).decode("ascii"),
            "image_url": None,
            "metadata": metadata,
        }
    )


def ingested(raw: ItemRaw, batch_id: str, client_id: str | None = None) -> ItemIngested:
    item_id = item_id_for(raw.dataset, raw.external_id)
    return ItemIngested(
        event_id=f"ingested-{item_id}",
        dataset=raw.dataset,
        item_id=item_id,
        external_id=raw.external_id,
        batch_id=batch_id,
        content=raw.content,
        occurred_at=raw.occurred_at,
        client_id=client_id,
    )


def client_prediction(raw: ItemRaw, item: ItemIngested, catalog: Catalog) -> Prediction | None:
    """The client's own prediction as a platform event, in the dataset's label order (a span
    prediction's probabilities derived from its spans, as a span model's are)."""
    if raw.prediction is None:
        return None
    labels = catalog.get(raw.dataset).labels
    spans = raw.prediction.spans
    return Prediction(
        event_id=f"prediction-client-{item.item_id}-{raw.prediction.model_id}",
        dataset=raw.dataset,
        item_id=item.item_id,
        batch_id=item.batch_id,
        content=item.content,
        occurred_at=item.occurred_at,
        source="client",
        model_version=f"client:{raw.prediction.model_id}",
        labels=list(labels),
        probabilities=raw.prediction.distribution(labels),
        label_probabilities=raw.prediction.label_probabilities,
        # As check_client_spans found them fit: whitespace at a span's edge left out.
        spans=None if spans is None else ordered(trimmed(spans, item.content.text or "")),
        spans_complete=raw.prediction.spans_complete,
    )


def triage(raw: ItemRaw, catalog: Catalog) -> Outcome | None:
    """An Outcome if the item is rejected, else None (it goes on to deduplication)."""
    try:
        check(raw, catalog)
    except (Rejected, UnknownDataset) as error:
        return Outcome(raw.external_id, "rejected", reason=str(error))
    return None
