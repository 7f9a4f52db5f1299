"""The items' consumers (settings.item_consumers) hand their batches to one Scorer, which puts
one batch on the model at a time (all its threads on it) while the other consumer's claims,
publishing and commits go on: two batches scored at once never overlap in `predict`, and each
still gets its own predictions."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, cast

import numpy as np
from mitl_contracts.datasets import Catalog, Dataset
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_inference.handlers.items import Scorer
from mitl_ml.runtime import LoadedModel, ModelOutput
from mitl_runtime.consumer import Received
from mitl_runtime.dlq import SourceRecord

LABELS = ["no", "yes"]


class SlowModel:
    """Scores every text 0.8 "yes", slowly, and counts how many predicts run at once."""

    version = "m-1"
    labels = LABELS
    multilabel = False

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def predict(self, texts: list[str]) -> ModelOutput:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        n = len(texts)
        return ModelOutput(
            probabilities=np.tile([0.2, 0.8], (n, 1)),
            outlier_scores=np.zeros(n),
            truncated=[False] * n,
            embeddings=None,
        )


def received(n: int) -> Received[ItemIngested]:
    item = ItemIngested(
        dataset="d",
        item_id=f"i{n}",
        external_id=f"x{n}",
        batch_id="b",
        content=ItemContent(text=f"text {n}"),
    )
    return Received(item, SourceRecord("t", 0, n, None, b"{}"))


def test_batches_take_turns_on_the_model_and_keep_their_own_predictions() -> None:
    catalog = Catalog(datasets={"d": Dataset(name="d", labels=LABELS)})
    scorer = Scorer(cast(Any, None), catalog, cast(Any, None), cast(Any, None), keep_recent=False)
    model = SlowModel()
    batches = [[received(10 * b + i) for i in range(3)] for b in range(4)]

    async def score_all() -> list[Any]:
        return await asyncio.gather(
            *(scorer._run("d", cast(LoadedModel, model), batch) for batch in batches)
        )

    results = asyncio.run(score_all())
    assert model.most == 1  # never two batches on the model at once
    for batch, (made, misfits) in zip(batches, results, strict=True):
        assert not misfits
        assert [p.item_id for p in made] == [r.event.item_id for r in batch]
        assert all(p.probabilities == [0.2, 0.8] and p.model_version == "m-1" for p in made)
