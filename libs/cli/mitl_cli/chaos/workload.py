"""The items of one scenario: real TREC-6 questions under external ids of their own.

External ids carry the run and the scenario, so scenarios on one platform never share an
item and each is counted on its own. A share of the items is published to the raw topic as a
client system would (the rest goes over HTTP), and a share carries metadata that the chaos
policy escalates to experts, so both ingest paths and both review queues are under fault.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Literal

from mitl_contracts.ids import item_id_for

DATASET = "trec6"
Via = Literal["http", "topic"]


@dataclass(frozen=True)
class Item:
    external_id: str
    item_id: str
    text: str
    via: Via
    metadata: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        """The item as POST /v1/items takes it."""
        return {"external_id": self.external_id, "text": self.text, "metadata": self.metadata}


@functools.cache
def questions() -> tuple[str, ...]:
    from mitl_ml.datasets import load_dataset

    return tuple(load_dataset(DATASET).texts())


def share(key: str, salt: str) -> float:
    """A number in [0, 1) fixed by `key`: which items take which path is reproducible."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def workload(
    run_id: str,
    scenario: str,
    count: int,
    *,
    topic_share: float = 0.2,
    expert_share: float = 0.03,
) -> list[Item]:
    texts = questions()
    items = []
    for index in range(count):
        external_id = f"{run_id}-{scenario}-{index:06d}"
        metadata = {"source": "chaos"}
        if share(external_id, "expert") < expert_share:
            metadata["domain"] = "medical"
        items.append(
            Item(
                external_id=external_id,
                item_id=item_id_for(DATASET, external_id),
                text=texts[index % len(texts)],
                via="topic" if share(external_id, "via") < topic_share else "http",
                metadata=metadata,
            )
        )
    return items


def chaos_datasets_yaml(model_dir: str) -> str:
    """The catalog a chaos run serves: trec6 on `model_dir`, with spot checks (an accepted
    item that is also reviewed, so it gets two labels of different kinds) and an escalation
    rule (so the expert queue has work)."""
    return f"""
datasets:
  {DATASET}:
    input_kind: text
    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]
    max_text_chars: 2000
    model: {model_dir}
    policy:
      version: chaos-v1
      accept_threshold: 0.7
      escalation_floor: 0.3
      uncertainty: entropy
      spot_check_rate: 0.1
      escalate_metadata:
        domain: [medical]
"""
