"""`mitl dlq` on the real broker: two consumer groups read one topic; one refuses an event
(its dataset is not declared yet) and the other handles it. The dead letter names the group
that refused it, though that handler's sink was built under another name (as the services
build theirs); `mitl dlq list` and `show` find it with its reason; after the cause is fixed,
`mitl dlq replay` sends it back to the topic, the refusing group handles it and the other does
not see it twice; a second replay finds nothing new, and `--dry-run` sends nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import uuid
from typing import Any

import pytest
from mitl_cli.main import main
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import InvalidMessage
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.support import eventually, publish_events, publish_raw

pytestmark = pytest.mark.integration


def item(run: str, dataset: str, n: int) -> ItemIngested:
    return ItemIngested(
        event_id=f"{run}-{n}",
        dataset=dataset,
        # One key: the sentinel lands in the refused event's partition, after its replay.
        item_id=f"item-{run}",
        external_id=f"x{n}",
        batch_id="b",
        content=ItemContent(text=f"item {n}"),
    )


def letter(run: str) -> list[tuple[str, bytes]]:
    """The headers of a dead letter of the raw topic, as a consumer writes them."""
    return [
        ("mitl-dlq-reason", f"not JSON (test {run})".encode()),
        ("mitl-dlq-kind", b"json"),
        ("mitl-dlq-topic", topics.ITEMS_RAW.encode()),
        ("mitl-dlq-partition", b"0"),
        ("mitl-dlq-offset", b"0"),
        ("mitl-dlq-service", b"test"),
        ("mitl-dlq-group", f"test-{run}".encode()),
    ]


async def mitl(kafka: str, *args: str) -> tuple[int, str]:
    """Run `mitl ... --bootstrap kafka` in a thread (it runs its own event loop); its exit
    code and stdout."""

    def call() -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main([*args, "--bootstrap", kafka])
        return code, out.getvalue()

    return await asyncio.to_thread(call)


def test_a_dead_letter_is_replayed_to_the_group_that_refused_it_only(
    kafka: str, service_env: dict[str, object]
) -> None:
    run = uuid.uuid4().hex[:8]
    late, known = f"late-{run}", f"known-{run}"
    strict_group, lenient_group = f"strict-{run}", f"lenient-{run}"
    topic = topics.ITEMS_INGESTED

    async def scenario() -> dict[str, Any]:
        settings = ServiceSettings(
            **{**service_env, "kafka_auto_offset_reset": "earliest"}  # type: ignore[arg-type]
        )
        strict = ServiceRuntime("strict-test", settings)
        lenient = ServiceRuntime("lenient-test", settings)
        declared = {known}
        seen: dict[str, list[str]] = {"strict": [], "lenient": []}
        # Like a service's own sink: built once, under a name that is no consumer group.
        sink = strict.dead_letters("strict-test")

        async def refuse_undeclared(batch: list[Received[ItemIngested]]) -> None:
            for received in batch:
                if not received.event.dataset.endswith(run):
                    continue  # another test's traffic on the shared topic
                if received.event.dataset not in declared:
                    reason = f"unknown dataset {received.event.dataset!r}"
                    await sink.send(received.record, InvalidMessage(reason, "item"))
                    continue
                seen["strict"].append(received.event.event_id)

        async def take_all(batch: list[Received[ItemIngested]]) -> None:
            ours = [r for r in batch if r.event.dataset.endswith(run)]
            seen["lenient"].extend(r.event.event_id for r in ours)

        strict.subscribe(topic, ItemIngested, refuse_undeclared, group=strict_group)
        lenient.subscribe(topic, ItemIngested, take_all, group=lenient_group)
        out: dict[str, Any] = {"seen": seen}
        async with strict.running(), lenient.running():
            await publish_events(kafka, topic, [item(run, known, 0), item(run, late, 1)])
            await eventually(lambda: len(seen["lenient"]) == 2, timeout=60)
            await eventually(lambda: seen["strict"] == [f"{run}-0"], timeout=60)

            async def dead_lettered() -> dict[str, Any] | None:
                code, text = await mitl(kafka, "dlq", "show", topic, "--reason", late, "--json")
                rows = json.loads(text)
                return rows[0] if code == 0 and rows else None

            out["dead"] = await eventually(dead_lettered, timeout=30)
            # `list` reads the topics in turn: the one before ours holds a record too (a dead
            # letter in form, since other tests read that topic's reasons).
            await publish_raw(
                kafka, topics.dlq(topics.ITEMS_RAW), [b"{" + run.encode()], None, letter(run)
            )
            out["list"] = json.loads((await mitl(kafka, "dlq", "list", "--json"))[1])
            replay = ("dlq", "replay", topic, "--reason", late, "--json")
            out["dry"] = json.loads((await mitl(kafka, *replay, "--dry-run"))[1])
            declared.add(late)  # the cause is fixed
            out["replay"] = json.loads((await mitl(kafka, *replay))[1])
            await eventually(lambda: f"{run}-1" in seen["strict"], timeout=60)
            # The lenient group reads past the replay before it reads this.
            await publish_events(kafka, topic, [item(run, known, 2)])
            await eventually(lambda: f"{run}-2" in seen["lenient"], timeout=60)
            await eventually(lambda: f"{run}-2" in seen["strict"], timeout=60)
            out["again"] = json.loads((await mitl(kafka, *replay))[1])
            # A topic with nothing new (or nothing at all) to replay.
            out["none"] = await mitl(kafka, "dlq", "replay", topics.MODELS, "--reason", run)
        return out

    out = asyncio.run(scenario())
    dead = out["dead"]
    assert dead["group"] == strict_group and dead["service"] == "strict-test"
    assert dead["reason"] == f"unknown dataset {late!r}" and dead["kind"] == "item"
    assert dead["source_topic"] == topic and json.loads(dead["value"])["event_id"] == f"{run}-1"
    held = {row["topic"]: row for row in out["list"]}
    assert held[topics.dlq(topics.ITEMS_RAW)]["records"] >= 1
    assert held[topics.dlq(topic)]["records"] >= 1 and held[topics.dlq(topic)]["newest"] is not None
    assert out["dry"]["dry_run"] and out["dry"]["replayed"] == 1
    assert out["replay"]["replayed"] == 1 and out["replay"]["unaddressed"] == 0
    assert out["again"]["replayed"] == 0
    assert out["none"][0] == 0 and "replayed 0" in out["none"][1]
    seen = out["seen"]
    # The refusing group handled the event once it could; the other never saw it again.
    assert seen["strict"] == [f"{run}-0", f"{run}-1", f"{run}-2"]
    assert seen["lenient"] == [f"{run}-0", f"{run}-1", f"{run}-2"]
