"""Dead letters, read back and replayed: what a `<topic>.dlq` record says, and how a replay
reaches only the consumer group that refused it.

A dead letter carries the message as it was (key and value) and, in headers, why and where it
was refused (dlq.py): the reason, its kind, the source topic, partition and offset, the service
and the consumer group. Replaying one publishes the message again to its source topic with a
`mitl-replay-group` header naming that group. Every other group consuming the topic already
handled the message, so each skips a record addressed to another group (consumer.py): a label
refused by one service is not counted twice by the others. The group that refused it handles
it like any message; if it is refused again it goes back to the dead-letter topic, with the
reason it has now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

REPLAY_GROUP = "mitl-replay-group"
REPLAYED_FROM = "mitl-replayed-from"
DLQ_PREFIX = "mitl-dlq-"

Headers = Sequence[tuple[str, bytes]]


def header(headers: Headers | None, name: str) -> str | None:
    """The last value of header `name`, as text; None when absent."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value.decode("utf-8", errors="replace")
    return found


def replayed_for_another(headers: Headers | None, group: str) -> bool:
    """Whether a record is a replay addressed to a consumer group other than `group`."""
    target = header(headers, REPLAY_GROUP)
    return target is not None and target != group


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic: where it sits, the message, and why it is there."""

    dlq_topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes
    reason: str
    kind: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    service: str
    group: str
    replayed_from: str | None = None

    @classmethod
    def from_record(
        cls,
        dlq_topic: str,
        partition: int,
        offset: int,
        timestamp_ms: int | None,
        key: bytes | None,
        value: bytes | None,
        headers: Headers | None,
    ) -> DeadLetter:
        def number(name: str) -> int | None:
            text = header(headers, DLQ_PREFIX + name)
            return int(text) if text is not None and text.lstrip("-").isdigit() else None

        return cls(
            dlq_topic=dlq_topic,
            partition=partition,
            offset=offset,
            timestamp_ms=timestamp_ms,
            key=key,
            value=value or b"",
            reason=header(headers, DLQ_PREFIX + "reason") or "",
            kind=header(headers, DLQ_PREFIX + "kind") or "",
            source_topic=header(headers, DLQ_PREFIX + "topic") or dlq_topic.removesuffix(".dlq"),
            source_partition=number("partition"),
            source_offset=number("offset"),
            service=header(headers, DLQ_PREFIX + "service") or "",
            group=header(headers, DLQ_PREFIX + "group") or "",
            replayed_from=header(headers, REPLAYED_FROM),
        )

    @property
    def position(self) -> str:
        """Where the dead letter sits: `<dlq topic>:<partition>:<offset>`."""
        return f"{self.dlq_topic}:{self.partition}:{self.offset}"

    @property
    def at(self) -> datetime | None:
        if self.timestamp_ms is None:
            return None
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def replay_headers(self, group: str | None = None) -> list[tuple[str, bytes]]:
        """The headers of the message published again: addressed to `group` (by default the
        group that refused it), and saying which dead letter it comes from."""
        return [
            (REPLAY_GROUP, (group or self.group).encode()),
            (REPLAYED_FROM, self.position.encode()),
        ]

    def matches(
        self,
        *,
        kind: str | None = None,
        service: str | None = None,
        group: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Whether the dead letter fits every filter given (`reason`: a case-insensitive part
        of the reason)."""
        return (
            (kind is None or self.kind == kind)
            and (service is None or self.service == service)
            and (group is None or self.group == group)
            and (reason is None or reason.casefold() in self.reason.casefold())
        )

    def as_dict(self, value_chars: int | None = None) -> dict[str, object]:
        text = self.value.decode("utf-8", errors="replace")
        if value_chars is not None and len(text) > value_chars:
            text = text[:value_chars] + "…"
        return {
            "position": self.position,
            "partition": self.partition,
            "offset": self.offset,
            "at": self.at.isoformat() if self.at else None,
            "service": self.service,
            "group": self.group,
            "kind": self.kind,
            "reason": self.reason,
            "source_topic": self.source_topic,
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
            "replayed_from": self.replayed_from,
            "key": self.key.decode("utf-8", errors="replace") if self.key is not None else None,
            "value": text,
        }
