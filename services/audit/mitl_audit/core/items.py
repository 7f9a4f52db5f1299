"""What audit keeps of an ingested item: its content, so that an export can carry the text or
vector its labels are about. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mitl_contracts.events import ItemIngested

from mitl_audit.core.entries import Unloggable, as_utc


@dataclass(frozen=True)
class ItemRow:
    """One row of audit.items."""

    dataset: str
    item_id: str
    event_id: str
    external_id: str
    batch_id: str
    content: str
    occurred_at: datetime
    client_id: str | None = None


def item_row(event: ItemIngested) -> ItemRow:
    """The row of an ingested item; Unloggable if its content cannot be stored unchanged."""
    content = event.content.model_dump_json()
    # Postgres jsonb cannot hold NUL; a silently altered copy would misrepresent the item.
    if "\\u0000" in content:
        raise Unloggable("item content contains a NUL character, which audit cannot store")
    return ItemRow(
        dataset=event.dataset,
        item_id=event.item_id,
        event_id=event.event_id,
        external_id=event.external_id,
        batch_id=event.batch_id,
        content=content,
        occurred_at=as_utc(event.occurred_at),
        client_id=event.client_id,
    )
