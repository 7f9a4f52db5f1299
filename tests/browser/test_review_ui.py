"""The labeling UI in a real headless Chromium, against review-api served by uvicorn with the
real broker and Postgres: log in with a token, see each label's definition beside its choice
(the shipped trec6 guidelines), open the guidelines with `g` and close them with Esc, confirm
one task with Enter, correct another with a number key and Enter, keyboard only; then the two
labels are on mitl.labels.v1, with the guideline version they were made under.

Set MITL_REVIEW_SCREENSHOT=docs/review-ui.png to also write the documentation's screenshot.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.datasets import load_catalog
from mitl_contracts.events import Label
from mitl_review.app import create_app
from mitl_review.settings import Settings
from mitl_runtime.localinfra import free_port
from playwright.sync_api import expect, sync_playwright

from tests.integration.test_review import review_request, write_datasets
from tests.support import TopicReader, eventually, publish_raw

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Server:
    url: str
    dataset: str
    settings: Settings


@pytest.fixture
def server(service_env: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    """review-api served by uvicorn on a free port, in a thread of this process."""
    dataset = f"ui-{uuid.uuid4().hex[:6]}"
    port = free_port()
    settings = Settings(
        **{
            **service_env,
            "datasets_file": with_trec6_guidelines(
                write_datasets(tmp_path / "datasets.yaml", [dataset]), dataset
            ),
            "http_port": port,
            "gold_rate": 0.0,
        }
    )
    with served(settings) as url:
        yield Server(url, dataset, settings)


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """review-api under `settings`, served by uvicorn on its http_port in a thread of this
    process, once ready; its URL."""
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=settings.http_port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="review-api", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.http_port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        asyncio.run(eventually(ready, timeout=60))
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def with_trec6_guidelines(path: Path, dataset: str) -> Path:
    """The datasets file at `path` with the shipped trec6 guidelines given to `dataset`."""
    shipped = load_catalog(ROOT / "config" / "datasets.yaml").get("trec6").guidelines
    assert shipped is not None
    config = yaml.safe_load(path.read_text())
    config["datasets"][dataset]["guidelines"] = shipped.model_dump(mode="json")
    path.write_text(yaml.safe_dump(config))
    return path


def create_user(
    settings: Settings, role: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[str, str]:
    """A user made with `mitl users create`, as an operator would; returns (name, token)."""
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("MITL_DATABASE_URL", settings.database_url)
    assert mitl(["users", "create", "--name", name, "--role", role]) == 0
    return name, capsys.readouterr().out.strip()


def waiting(server: Server, admin_token: str, expected: int) -> None:
    def reached() -> bool:
        response = httpx.get(
            f"{server.url}/v1/queues", headers={"Authorization": f"Bearer {admin_token}"}
        )
        rows = response.json()["queues"]
        return any(r["dataset"] == server.dataset and r["depth"] == expected for r in rows)

    asyncio.run(eventually(reached))


def labels_for(kafka: str, item_ids: set[str]) -> list[Label]:
    async def read() -> list[Label]:
        async with TopicReader(kafka, topics.LABELS) as reader:
            await reader.wait_for(lambda _: item_ids <= {e.item_id for e in reader.events(Label)})
        return [e for e in reader.events(Label) if e.item_id in item_ids]

    return asyncio.run(read())


def test_log_in_confirm_and_correct_with_the_keyboard(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert CHROMIUM.exists(), "Chromium is missing: run `make browser` (apt-get install chromium)"
    ds, kafka = server.dataset, server.settings.kafka_bootstrap_servers
    _, admin_token = create_user(server.settings, "admin", monkeypatch, capsys)
    name, token = create_user(server.settings, "annotator", monkeypatch, capsys)
    # Claimed highest priority first: the first is confirmed, the second corrected to LOC.
    first = review_request(ds, 1, priority=0.9, confidence=0.55)
    first["content"] = {"text": "Who wrote the novel Moby-Dick ?", "metadata": {"source": "quiz"}}
    second = review_request(ds, 2, priority=0.5)
    second["content"] = {"text": "Where is the Eiffel Tower ?", "metadata": {"source": "quiz"}}
    events = [json.dumps(e).encode() for e in (first, second)]
    asyncio.run(publish_raw(kafka, topics.REVIEW_REQUESTED, events))
    waiting(server, admin_token, 2)

    screenshot = tmp_path / "review-ui.png"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            page.goto(server.url)
            expect(page.locator("#token")).to_be_focused()
            page.keyboard.type(token)
            page.keyboard.press("Enter")
            expect(page.locator("#whoami")).to_have_text(f"{name} (annotator)")
            expect(page.locator("#dataset")).to_be_focused()
            # The dataset picker is a native select: arrow keys move through the options.
            page.locator("#dataset").select_option(ds)
            # Enter on the picker itself: a bare key press goes wherever the focus happens to be.
            page.locator("#dataset").press("Enter")

            expect(page.locator("#item")).to_have_text("Who wrote the novel Moby-Dick ?")
            expect(page.locator("#suggestion")).to_contain_text("Model suggests HUM with 55.0%")
            expect(page.locator("#depth")).to_contain_text("annotator 1 waiting, 1 in progress")
            expect(page.locator("#labels button")).to_have_count(6)
            expect(page.locator("#labels button.suggested")).to_contain_text("HUM")
            # Each choice has its definition beside it, from the dataset's guidelines.
            expect(page.locator("#labels .definition")).to_have_count(6)
            hum = page.locator("#labels .definition").nth(3)
            expect(hum).to_be_visible()
            expect(hum).to_contain_text("Human: the answer is a person")
            expect(hum.locator(".examples")).to_contain_text("Who is Desmond Tutu ?")
            expect(page.locator("#labels button").nth(3)).to_have_attribute(
                "aria-describedby", "definition-3"
            )
            page.screenshot(path=str(screenshot), full_page=True)

            # `g` opens the guidelines, rendered from Markdown; a digit meanwhile picks
            # nothing; Esc closes them and the task has the keys again.
            guidelines = page.locator("#guidelines")
            expect(guidelines).to_be_hidden()
            page.keyboard.press("g")
            expect(guidelines).to_be_visible()
            expect(guidelines).to_be_focused()
            expect(page.locator("#guidelines-meta")).to_contain_text("version 1")
            body = page.locator("#guidelines-body")
            expect(body.locator("h3").first).to_have_text("TREC-6 question classes")
            expect(body.locator("strong").first).to_have_text("kind of answer it asks for")
            expect(body.locator("h4", has_text="Tie-breakers")).to_have_count(1)
            expect(body.locator("ol > li ul > li").first).to_contain_text("ABBR")
            page.keyboard.press("2")
            expect(page.locator("#labels button[aria-pressed=true]")).to_have_count(0)
            page.keyboard.press("Escape")
            expect(guidelines).to_be_hidden()
            expect(page.locator("#task")).to_be_focused()
            # The Markdown is never HTML: markup in it is shown as text.
            rendered = page.evaluate(
                """() => {
                  const box = document.createElement("div");
                  box.append(renderMarkdown("<img src=x onerror=alert(1)> **b** `<i>`"));
                  return box.innerHTML;
                }"""
            )
            assert rendered == (
                "<p>&lt;img src=x onerror=alert(1)&gt; <strong>b</strong> "
                "<code>&lt;i&gt;</code></p>"
            )
            page.keyboard.press("Enter")

            expect(page.locator("#item")).to_have_text("Where is the Eiffel Tower ?")
            expect(page.locator("#status")).to_contain_text("Saved HUM.")
            page.keyboard.press("5")
            expect(page.locator("#labels button").nth(4)).to_have_attribute("aria-pressed", "true")
            page.keyboard.press("Enter")

            expect(page.locator("#status")).to_contain_text("Saved LOC. The queue is empty.")
            expect(page.locator("#progress")).to_contain_text(
                "Today: 2 done (1 confirmed, 1 corrected)"
            )
        finally:
            context.close()
    assert screenshot.stat().st_size > 0
    if target := os.environ.get("MITL_REVIEW_SCREENSHOT"):
        shutil.copyfile(screenshot, target)

    labels = {e.item_id: e for e in labels_for(kafka, {first["item_id"], second["item_id"]})}
    confirmed, corrected = labels[first["item_id"]], labels[second["item_id"]]
    assert (confirmed.action, confirmed.label, confirmed.annotator) == ("confirm", "HUM", name)
    assert (corrected.action, corrected.label, corrected.annotator) == ("correct", "LOC", name)
    for label in (confirmed, corrected):
        assert label.source == "annotator" and label.role == "annotator"
        assert label.suggested_label == "HUM" and label.suggestion_shown
        assert label.time_spent_ms is not None and label.time_spent_ms >= 0
        assert label.guideline_version == 1
