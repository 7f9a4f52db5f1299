"""Ingest's image checks against the real broker and Postgres: a whole PNG or JPEG goes on to
mitl.items.ingested.v1; one that does not decode, is too large (bytes or pixels), or comes as
a URL its dataset does not allow is rejected with the reason (HTTP: per item in a batch, 4xx
on the upload route) or dead-lettered with it (raw topic); a URL is fetched where allowed."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mitl_contracts import topics
from mitl_contracts.events import ItemIngested
from mitl_ingest.app import create_app
from mitl_ingest.settings import Settings
from mitl_runtime.localinfra import free_port

from tests.support import TopicReader, ingest_headers, publish_raw, running_app
from tests.support_images import b64, jpeg, png, truncated_png

pytestmark = pytest.mark.integration


def image_env(service_env: dict[str, Any], tmp_path: Path, run: str) -> dict[str, Any]:
    """service_env with two image datasets of this run: `pics-<run>` (no URLs, small limits)
    and `web-<run>` (URLs allowed)."""
    datasets = tmp_path / "datasets.yaml"
    datasets.write_text(
        "datasets:\n"
        f"  pics-{run}:\n"
        "    input_kind: image\n"
        "    labels: [a, b]\n"
        "    max_image_bytes: 3000\n"
        "    max_image_side: 32\n"
        f"  web-{run}:\n"
        "    input_kind: image\n"
        "    labels: [a, b]\n"
        "    image_urls: true\n"
    )
    return {**service_env, "datasets_file": datasets, "image_fetch_timeout_s": 5.0}


@pytest.fixture
def image_site() -> Iterator[str]:
    """A local HTTP server: /digit.png is an image, everything else 404."""
    body = png(8, 8)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/digit.png":
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)


async def test_http_checks_each_image_and_fetches_urls_only_where_allowed(
    service_env: dict[str, Any], tmp_path: Path, image_site: str
) -> None:
    run = uuid.uuid4().hex[:8]
    app = create_app(Settings(**image_env(service_env, tmp_path, run)))
    items = [
        {"external_id": "png", "image": b64(png(8, 8))},
        {"external_id": "jpeg", "image": b64(jpeg(16, 16))},
        {"external_id": "cut", "image": b64(truncated_png())},
        {"external_id": "wide", "image": b64(png(40, 8))},
        {"external_id": "heavy", "image": b64(png(8, 8) + bytes(4000))},
        {"external_id": "gif", "image": base64.b64encode(b"GIF89a....").decode()},
        {"external_id": "url", "image_url": f"{image_site}/digit.png"},
    ]
    headers = await ingest_headers(service_env["database_url"])
    async with running_app(app, headers) as client:
        response = await client.post("/v1/items", json={"dataset": f"pics-{run}", "items": items})
        assert response.status_code == 200, response.text
        outcome = {i["external_id"]: i for i in response.json()["items"]}
        assert outcome["png"]["status"] == outcome["jpeg"]["status"] == "accepted"
        assert "image does not decode" in outcome["cut"]["reason"]
        assert "40x8 pixels; at most 32" in outcome["wide"]["reason"]
        assert "allows 3000 (max_image_bytes)" in outcome["heavy"]["reason"]
        assert "neither PNG nor JPEG" in outcome["gif"]["reason"]
        assert "does not allow fetching images by URL" in outcome["url"]["reason"]

        web = [
            {"external_id": "fetched", "image_url": f"{image_site}/digit.png"},
            {"external_id": "missing", "image_url": f"{image_site}/nothing.png"},
        ]
        response = await client.post("/v1/items", json={"dataset": f"web-{run}", "items": web})
        outcome = {i["external_id"]: i for i in response.json()["items"]}
        assert outcome["fetched"]["status"] == "accepted"
        assert "answered 404" in outcome["missing"]["reason"]

        # One image as the request body: a bad one is answered 4xx naming the fault.
        route = f"/v1/items/pics-{run}/image"
        good = await client.post(
            route, params={"external_id": "body"}, content=png(8, 8),
            headers={"content-type": "image/png"},
        )  # fmt: skip
        assert good.status_code == 200 and good.json()["status"] == "accepted"
        cases = [
            (truncated_png(), "image/png", 422, "image does not decode"),
            (png(64, 8), "image/png", 422, "64x8 pixels"),
            (png(8, 8) + bytes(4000), "image/png", 413, "over 3000 bytes"),
            (b"GIF89a....", "image/png", 415, "neither PNG nor JPEG"),
            (png(8, 8), "text/plain", 415, "send image/png or image/jpeg"),
        ]
        for n, (data, media, status, reason) in enumerate(cases):
            bad = await client.post(
                route, params={"external_id": f"bad-{n}"}, content=data,
                headers={"content-type": media},
            )  # fmt: skip
            assert bad.status_code == status and reason in bad.json()["detail"], bad.text

    wanted = {"png", "jpeg", "fetched", "body"}
    async with TopicReader(service_env["kafka_bootstrap_servers"], topics.ITEMS_INGESTED) as r:
        await r.wait_for(
            lambda _: wanted <= {e.external_id for e in r.events(ItemIngested) if run in e.dataset}
        )
        ours = {e.external_id: e for e in r.events(ItemIngested) if run in e.dataset}
    assert set(ours) == wanted
    assert ours["png"].content.image_data == png(8, 8)
    assert ours["fetched"].content.image_data == png(8, 8)
    assert ours["fetched"].content.metadata["image_url"] == f"{image_site}/digit.png"


async def test_raw_topic_dead_letters_a_bad_image_with_the_reason(
    service_env: dict[str, Any], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    app = create_app(Settings(**image_env(service_env, tmp_path, run)))

    def event(external_id: str, **content: str) -> bytes:
        body = {"dataset": f"pics-{run}", "external_id": f"{run}-{external_id}", **content}
        return json.dumps(body).encode()

    values = [
        event("cut", image=b64(truncated_png())),
        event("wide", image=b64(png(33, 33))),
        event("url", image_url="https://example.org/a.png"),
        event("ok", image=b64(png(8, 8))),
    ]
    kafka = service_env["kafka_bootstrap_servers"]
    async with running_app(app):
        await publish_raw(kafka, topics.ITEMS_RAW, values)
        async with TopicReader(kafka, topics.ITEMS_INGESTED) as ingested:
            await ingested.wait_for(
                lambda _: any(e.external_id == f"{run}-ok" for e in ingested.events(ItemIngested))
            )
        async with TopicReader(kafka, topics.dlq(topics.ITEMS_RAW)) as dlq:
            records = await dlq.wait_for(
                lambda recs: sum(1 for x in recs if run.encode() in x.value) >= 3
            )
    reasons = {
        json.loads(r.value)["external_id"]: dict(r.headers)["mitl-dlq-reason"].decode()
        for r in records
        if run.encode() in r.value
    }
    assert "image does not decode" in reasons[f"{run}-cut"]
    assert "33x33 pixels; at most 32 each way" in reasons[f"{run}-wide"]
    assert "does not allow fetching images by URL" in reasons[f"{run}-url"]
