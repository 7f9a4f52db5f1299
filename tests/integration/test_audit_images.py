"""Image items in audit, against the real broker and Postgres: the export references each image
(a path and its sha256) instead of copying it, and GET /v1/items/{dataset}/{item_id}/image
serves the bytes that path names."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mitl_audit.app import create_app
from mitl_audit.settings import Settings
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested

from tests.integration.test_audit import T0, decision, label
from tests.support import AUDITOR, eventually, publish_events, running_app
from tests.support_images import png

pytestmark = pytest.mark.integration


async def test_export_references_images_that_audit_serves(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    dataset = f"digits-{run}"
    datasets = tmp_path / "datasets.yaml"
    datasets.write_text(f"datasets:\n  {dataset}:\n    input_kind: image\n    labels: [A, B]\n")
    image = png(8, 8)
    item = ItemIngested(
        event_id=f"ingested-{dataset}-1",
        dataset=dataset,
        item_id="item-1",
        external_id="scan-1",
        batch_id="b1",
        content=ItemContent(image=base64.b64encode(image).decode()),
        occurred_at=T0,
    )
    env = {**service_env, "datasets_file": datasets}
    kafka = env["kafka_bootstrap_servers"]
    async with running_app(create_app(Settings(**env)), AUDITOR) as client:
        await publish_events(kafka, topics.ITEMS_INGESTED, [item])
        await publish_events(kafka, topics.DECISIONS, [decision(dataset, 1, "accept", "m1", "b1")])
        await publish_events(
            kafka, topics.LABELS, [label(dataset, 1, "A", source="model", action="auto_accept")]
        )
        conn = await asyncpg.connect(env["database_url"])
        try:
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 1 FROM audit.items WHERE dataset = $1", dataset
                ),
                timeout=45,
            )
            await eventually(
                lambda: conn.fetchval(
                    "SELECT count(*) = 2 FROM audit.log WHERE dataset = $1", dataset
                ),
                timeout=45,
            )
        finally:
            await conn.close()

        exported = await client.get(f"/v1/export/{dataset}", params={"format": "jsonl"})
        assert exported.status_code == 200, exported.text
        (row,) = [json.loads(line) for line in exported.text.splitlines()]
        assert row["image"] == f"/v1/items/{dataset}/item-1/image"
        assert row["image_sha256"] == hashlib.sha256(image).hexdigest()
        assert base64.b64encode(image).decode() not in exported.text

        served = await client.get(row["image"])
        assert served.status_code == 200 and served.content == image
        assert served.headers["content-type"] == "image/png"
        assert served.headers["etag"] == f'"{row["image_sha256"]}"'
        missing = await client.get(f"/v1/items/{dataset}/item-9/image")
        assert missing.status_code == 404 and "no item 'item-9'" in missing.text
        unknown = await client.get(f"/v1/items/nope-{run}/item-1/image")
        assert unknown.status_code == 404
