import pytest
from mitl_contracts.events import ItemRaw
from mitl_runtime.consumer import decode
from mitl_runtime.dlq import DeadLetterLimit, DeadLetterLimitExceeded, InvalidMessage


def test_decode_names_the_problem_and_kind() -> None:
    with pytest.raises(InvalidMessage) as bad_json:
        decode(ItemRaw, b"{nope")
    assert bad_json.value.kind == "json" and "Invalid JSON" in bad_json.value.reason
    with pytest.raises(InvalidMessage) as bad_schema:
        decode(ItemRaw, b'{"dataset": "d", "external_id": "x", "text": 3}')
    assert bad_schema.value.kind == "schema" and "text" in bad_schema.value.reason
    with pytest.raises(InvalidMessage, match="external_id: Field required"):
        decode(ItemRaw, b'{"dataset": "d", "text": "hi"}')


def test_non_utf8_bytes_are_invalid_not_a_crash() -> None:
    with pytest.raises(InvalidMessage):
        decode(ItemRaw, b'{"dataset": "d", "external_id": "x", "text": "\xff\xfe"}')


def test_dead_letter_limit_trips_only_above_its_ratio_over_a_full_window() -> None:
    burst = DeadLetterLimit(max_ratio=0.5, window=10)
    for _ in range(9):
        burst.record(True)  # the window is not full yet: a burst at start-up is tolerated
    limit = DeadLetterLimit(max_ratio=0.5, window=10)
    for _ in range(10):
        limit.record(False)
    for _ in range(5):
        limit.record(True)  # 5 of the last 10: at the limit, not above it
    with pytest.raises(DeadLetterLimitExceeded, match="6 of the last 10 messages"):
        limit.record(True)


async def test_handler_rejections_are_counted_per_context() -> None:
    from mitl_runtime.dlq import DeadLetters, HandlerRejections, SourceRecord

    class FakeBroker:  # the DLQ's publish target only; this unit test needs no Kafka
        async def publish(self, *args: object, **kwargs: object) -> None:
            return None

    limit = DeadLetterLimit(max_ratio=0.5, window=100)
    dead_letters = DeadLetters(FakeBroker(), "svc", "g", limit)  # type: ignore[arg-type]
    record = SourceRecord("t", 0, 1, None, b"x")
    await dead_letters.send(record, InvalidMessage("outside"))
    with HandlerRejections() as rejections:
        await dead_letters.send(record, InvalidMessage("inside"))
        await dead_letters.send(record, InvalidMessage("inside"))
    assert rejections.count == 2
    assert limit.dead == 3


async def test_a_dead_letter_names_the_consumer_group_whose_batch_refused_it() -> None:
    from mitl_runtime.dlq import DeadLetters, SourceRecord, consuming

    sent: list[dict[str, str]] = []

    class FakeBroker:  # the DLQ's publish target only
        async def publish(self, *args: object, headers: dict[str, str], **kw: object) -> None:
            sent.append(headers)

    limit = DeadLetterLimit(max_ratio=0.5, window=100)
    # A service builds its handler's sink once, under a name that is no consumer group.
    sink = DeadLetters(FakeBroker(), "svc", "mitl-svc", limit)  # type: ignore[arg-type]
    record = SourceRecord("t", 0, 1, None, b"x")
    with consuming("mitl-svc.labels.v1"):
        await sink.send(record, InvalidMessage("refused"))
    await sink.send(record, InvalidMessage("outside any batch"))
    assert [h["mitl-dlq-group"] for h in sent] == ["mitl-svc.labels.v1", "mitl-svc"]
