"""Item ids: derived, not random. The same (dataset, external_id) always gets the same item_id,
so ingest's replays dedupe downstream, and a producer (a test, a load generator) knows the id
of an item it sent without asking."""

from __future__ import annotations

import hashlib


def item_id_for(dataset: str, external_id: str) -> str:
    return hashlib.sha256(f"{dataset}\x00{external_id}".encode()).hexdigest()[:32]
