"""Dead letters read back (mitl_runtime.replay) and the `mitl dlq` topic names: a record's
headers become its reason and origin, a replay is addressed to one consumer group, and the
other groups recognise a replay that is not theirs."""

from __future__ import annotations

import pytest
from mitl_cli.dead_letters import check_topic, dead_letter_topics
from mitl_contracts import topics
from mitl_runtime.replay import REPLAY_GROUP, DeadLetter, replayed_for_another

HEADERS = [
    ("content-type", b"application/json"),
    ("mitl-dlq-reason", b"unknown dataset 'tweets'"),
    ("mitl-dlq-kind", b"item"),
    ("mitl-dlq-topic", b"mitl.items.raw.v1"),
    ("mitl-dlq-partition", b"4"),
    ("mitl-dlq-offset", b"1207"),
    ("mitl-dlq-service", b"ingest"),
    ("mitl-dlq-group", b"mitl-ingest.items.raw.v1"),
]


def dead(headers: list[tuple[str, bytes]] = HEADERS, value: bytes = b'{"x": 1}') -> DeadLetter:
    return DeadLetter.from_record(
        "mitl.items.raw.v1.dlq", 2, 31, 1_796_659_880_000, b"k", value, headers
    )


def test_a_dead_letter_reads_its_reason_and_origin_from_its_headers() -> None:
    letter = dead()
    assert letter.reason == "unknown dataset 'tweets'" and letter.kind == "item"
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
        "mitl.items.raw.v1",
        4,
        1207,
    )
    assert letter.service == "ingest" and letter.group == "mitl-ingest.items.raw.v1"
    assert letter.position == "mitl.items.raw.v1.dlq:2:31"
    assert letter.at is not None and letter.at.year == 2026
    row = letter.as_dict()
    assert row["value"] == '{"x": 1}' and row["key"] == "k" and row["replayed_from"] is None


def test_a_record_without_the_headers_still_reads() -> None:
    letter = dead(headers=[("mitl-dlq-offset", b"not a number")], value=b"\xff\xfe")
    assert letter.source_topic == "mitl.items.raw.v1"  # the topic's name without .dlq
    assert letter.source_offset is None and letter.reason == "" and letter.group == ""
    assert letter.as_dict()["value"] == "\ufffd\ufffd"
    assert dead(value=b"y" * 300).as_dict(value_chars=10)["value"] == "y" * 10 + "…"


def test_filters_pick_by_kind_service_group_and_a_part_of_the_reason() -> None:
    letter = dead()
    assert letter.matches()
    assert letter.matches(kind="item", service="ingest", reason="DATASET 'TWEETS'")
    assert letter.matches(group="mitl-ingest.items.raw.v1")
    assert not letter.matches(kind="schema")
    assert not letter.matches(service="router")
    assert not letter.matches(reason="label set")


def test_a_replay_is_addressed_to_the_refusing_group_or_the_one_named() -> None:
    letter = dead()
    replay = dict(letter.replay_headers())
    assert replay[REPLAY_GROUP] == b"mitl-ingest.items.raw.v1"
    assert replay["mitl-replayed-from"] == b"mitl.items.raw.v1.dlq:2:31"
    headers = letter.replay_headers("mitl-ingest.items.raw.v1")
    assert not replayed_for_another(headers, "mitl-ingest.items.raw.v1")
    assert replayed_for_another(headers, "mitl-audit.items.raw.v1")
    assert dict(letter.replay_headers("other"))[REPLAY_GROUP] == b"other"
    # A message that is no replay is for everyone.
    assert not replayed_for_another([("content-type", b"x")], "any")
    assert not replayed_for_another(None, "any")
    # Read back from the topic, a replay says where it came from.
    again = dead(headers=[*HEADERS, *headers])
    assert again.replayed_from == "mitl.items.raw.v1.dlq:2:31"


def test_topics_are_named_by_their_source_or_dead_letter_name() -> None:
    assert check_topic(topics.LABELS) == topics.dlq(topics.LABELS)
    assert check_topic(topics.dlq(topics.LABELS)) == topics.dlq(topics.LABELS)
    assert topics.dlq(topics.ITEMS_RAW) in dead_letter_topics()
    with pytest.raises(ValueError, match=r"'mitl\.nope' is not a mitl topic.*mitl\.labels\.v1"):
        check_topic("mitl.nope")


def test_the_asyncapi_document_names_the_headers_a_replay_and_a_dead_letter_carry() -> None:
    from mitl_contracts.asyncapi import DEAD_LETTER_HEADERS, REPLAY_HEADERS
    from mitl_runtime.dlq import MAX_REASON_CHARS
    from mitl_runtime.replay import REPLAYED_FROM

    assert set(REPLAY_HEADERS) == {REPLAY_GROUP, REPLAYED_FROM}
    assert f"at most {MAX_REASON_CHARS} characters" in DEAD_LETTER_HEADERS["mitl-dlq-reason"]
    assert {name for name, _ in HEADERS if name.startswith("mitl-dlq-")} == set(DEAD_LETTER_HEADERS)
