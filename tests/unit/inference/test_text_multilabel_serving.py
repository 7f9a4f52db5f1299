"""Inference scores a multi-label text dataset with a hybrid-ovr-onnx model unchanged: the
served per-label probabilities become each prediction's `label_probabilities` (text content,
an embedding sketch for the drift monitor), and the prediction fits the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mitl_contracts.datasets import Dataset
from mitl_contracts.events import ItemContent, ItemIngested
from mitl_inference.compatibility import check_fits
from mitl_inference.core import checked_predictions
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.text_multilabel_data import load_wnut16_types
from mitl_ml.text_ovr import train_text_ovr


def test_a_text_one_vs_rest_model_makes_multilabel_predictions(tmp_path: Path) -> None:
    data = load_wnut16_types()
    rows = set(range(120))
    for j in range(len(data.labels)):
        rows |= set(np.flatnonzero(data.y[:, j])[:3].tolist())
    picked = sorted(rows)
    sets = data.label_sets()
    encoder = MiniLMEncoder(intra_op_threads=1)
    manifest, files = train_text_ovr(
        [data.texts[i] for i in picked], [sets[i] for i in picked], list(data.labels),
        encoder=encoder, seed=0, name="t-ovr", version="t-ovr-1", dataset="tweets",
    )  # fmt: skip
    write_bundle(tmp_path, manifest, files)
    dataset = Dataset(name="tweets", task="multilabel", labels=list(data.labels))
    check_fits(manifest, dataset)
    model = load_model(tmp_path, encoder=encoder)
    texts = data.texts[1000:1004]
    items = [
        ItemIngested(
            dataset="tweets",
            item_id=f"i{n}",
            external_id=f"i{n}",
            batch_id="b",
            content=ItemContent(text=t),
        )
        for n, t in enumerate(texts)
    ]
    output = model.predict(texts)
    made, misfits = checked_predictions(
        items, output, model.version, model.labels, dataset.labels,
        multilabel=model.multilabel, dataset=dataset,
    )  # fmt: skip
    assert not misfits and len(made) == 4
    for prediction, row in zip(made, output.probabilities, strict=True):
        assert prediction.task == "multilabel" and prediction.content.text is not None
        assert prediction.label_probabilities == dict(zip(data.labels, row.tolist(), strict=True))
        assert abs(sum(prediction.probabilities) - 1.0) < 1e-9
        assert prediction.embedding_sketch is not None
