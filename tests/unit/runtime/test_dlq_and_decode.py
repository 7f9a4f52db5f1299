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
