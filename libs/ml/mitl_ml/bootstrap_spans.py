"""Build the span pre-labeler bundle (kind spacy-ner) for a span dataset of the catalog.

    python -m mitl_ml.bootstrap_spans --out DIR [--dataset wnut16]
        [--catalog config/datasets.yaml] [--evaluate 500]

The bundle names the installed spaCy pipeline (mitl_ml.spacy_ner.SPACY_PACKAGE) and carries the
dataset's labels and `entity_map` as the catalog declares them; nothing is trained. With
`--evaluate N` (default 500, 0 to skip) it runs on N random gold items of the dataset
(mitl_ml.span_data; a dataset without gold data there is not measured) and records
entity-level precision, recall and F1 (a predicted span is right when a gold span has the
same offsets and label) and the items per second it ran at.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mitl_contracts.datasets import load_catalog

from mitl_ml.manifest import ModelManifest, write_bundle
from mitl_ml.runtime import load_model
from mitl_ml.spacy_ner import NER_FILE, spec_for
from mitl_ml.span_data import SPAN_LOADERS, load_spans
from mitl_ml.span_metrics import span_scores

DEFAULT_CATALOG = Path("config/datasets.yaml")
EVALUATION_SEED = 0


def build_span_bootstrap(
    out_dir: Path,
    dataset: str = "wnut16",
    catalog: Path = DEFAULT_CATALOG,
    evaluate: int = 500,
) -> ModelManifest:
    """Write the spacy-ner bundle for `dataset` (a span dataset of `catalog`) into
    `out_dir`; with `evaluate` > 0, measure it on that many gold items first."""
    declared = load_catalog(catalog).get(dataset)
    if declared.task != "spans":
        raise ValueError(f"dataset {dataset!r} is {declared.task}, not a span dataset")
    if not declared.entity_map:
        raise ValueError(f"dataset {dataset!r} declares no entity_map for a pretrained model")
    spec = spec_for(declared.entity_map)
    name = f"{dataset}-spacy"
    manifest = ModelManifest(
        name=name,
        version=f"{name}-{spec.package_version}",
        dataset=dataset,
        kind="spacy-ner",
        labels=list(declared.labels),
        input_kind="text",
        files={"ner": NER_FILE},
        training={"pretrained": spec.package, "package_version": spec.package_version},
    )
    files = {NER_FILE: spec.model_dump_json(indent=2).encode()}
    written = write_bundle(Path(out_dir), manifest, files)
    if evaluate <= 0 or dataset not in SPAN_LOADERS:
        return written
    metrics = evaluate_bundle(Path(out_dir), dataset, evaluate)
    return write_bundle(Path(out_dir), written.model_copy(update={"metrics": metrics}), files)


def evaluate_bundle(bundle: Path, dataset: str, n: int) -> dict[str, float]:
    """Entity-level precision/recall/F1 on `n` random gold items, and items per second."""
    data = load_spans(dataset)
    rng = np.random.default_rng(EVALUATION_SEED)
    picked = np.sort(rng.permutation(len(data))[: min(n, len(data))])
    model = load_model(bundle)
    texts = [data.texts[i] for i in picked]
    started = time.perf_counter()
    output = model.predict(texts)
    elapsed = time.perf_counter() - started
    assert output.spans is not None
    scores = span_scores([data.spans[i] for i in picked], output.spans)
    return {
        "entity_precision": scores.precision,
        "entity_recall": scores.recall,
        "entity_f1": scores.f1,
        "evaluated_items": float(len(picked)),
        "items_per_second": len(picked) / elapsed if elapsed > 0 else 0.0,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mitl_ml.bootstrap_spans", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    parser.add_argument("--dataset", default="wnut16", choices=sorted(SPAN_LOADERS))
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--evaluate", type=int, default=500, help="gold items to measure on")
    args = parser.parse_args(argv)
    manifest = build_span_bootstrap(args.out, args.dataset, args.catalog, args.evaluate)
    shown = {k: round(v, 4) for k, v in manifest.metrics.items()}
    print(json.dumps({"bundle": str(args.out), "version": manifest.version} | shown))


if __name__ == "__main__":
    main()
