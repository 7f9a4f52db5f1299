"""Build the first ("bootstrap") model version from a small stratified seed of labels.

    python -m mitl_ml.bootstrap --out models/trec6-bootstrap [--seed-size 300] [--seed 0]
        [--kind minilm|minilm-int8|tfidf|vector|pixels] [--dataset trec6|sms_spam|digits|lfw]

`minilm` trains the head on the shipped encoder (fp32 at run time), `minilm-int8` on the int8
encoder built from it (mitl_ml.quantize, carried in the bundle); DEFAULT_TEXT_KIND is the one
`make models`, `mitl run` and the benchmarks build. `pixels` trains a head on the raw pixels of
an image dataset (digits as 8x8 PNGs, lfw as 25x25 PNGs; `--dataset lfw` implies it), resized
to the dataset's native side (IMAGE_SIZES).

Data layout (fixed so every component sees the same items): a stratified split with
SPLIT_SEED puts TEST_FRACTION of the dataset aside; the holdout is up to HOLDOUT_SIZE of that
part. The seed set is a stratified sample of the training part chosen by `seed`; the rest of
the training part is the unlabeled pool. Seed, pool and holdout are disjoint.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from mitl_ml.datasets import (
    IMAGE_LOADERS,
    IMAGE_SIZES,
    LabeledData,
    load_dataset,
    load_image_dataset,
    split,
    stratified_sample,
)
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import ModelManifest, write_bundle
from mitl_ml.quantize import INT8_IS_DEFAULT, int8_encoder
from mitl_ml.train import (
    DEFAULT_IMAGE_SIZE,
    train_minilm_head,
    train_pixels_classifier,
    train_tfidf_logreg,
    train_vector_classifier,
)

SPLIT_SEED = 0
TEST_FRACTION = 0.2
HOLDOUT_SIZE = 1000
Kind = Literal["minilm", "minilm-int8", "tfidf", "vector", "pixels"]
KINDS: tuple[Kind, ...] = ("minilm", "minilm-int8", "tfidf", "vector", "pixels")

DEFAULT_TEXT_KIND: Kind = "minilm-int8" if INT8_IS_DEFAULT else "minilm"


@dataclass(frozen=True)
class BootstrapSplits:
    """Disjoint parts of a dataset: labeled seed set, unlabeled pool, evaluation holdout."""

    seed_set: LabeledData
    pool: LabeledData
    holdout: LabeledData


def bootstrap_splits(
    dataset: str, seed_size: int, seed: int, images: bool = False
) -> BootstrapSplits:
    """The seed/pool/holdout partition used by build_bootstrap (deterministic); `images`:
    the image version of the dataset (digits as PNGs)."""
    data = load_image_dataset(dataset) if images else load_dataset(dataset)
    train, test = split(data, seed=SPLIT_SEED, test_fraction=TEST_FRACTION)
    seed_set = stratified_sample(train, seed_size, seed)
    picked = {id(e) for e in seed_set.examples}
    pool = train.subset([i for i, e in enumerate(train.examples) if id(e) not in picked])
    return BootstrapSplits(seed_set, pool, stratified_sample(test, HOLDOUT_SIZE, SPLIT_SEED))


def build_bootstrap(
    out_dir: Path,
    dataset: str = "trec6",
    kind: Kind = DEFAULT_TEXT_KIND,
    seed_size: int = 300,
    seed: int = 0,
    encoder: MiniLMEncoder | None = None,
) -> ModelManifest:
    """Train on `seed_size` stratified seed labels, evaluate on the holdout, write the bundle
    to `out_dir` and return its manifest (holdout metrics under "holdout_*").

    Name is "{dataset}-{kind}", version "{dataset}-{kind}-bootstrap-s{seed}". `encoder` lets
    callers reuse a loaded MiniLM session (for minilm-int8, an int8 one). Raises ValueError
    for an impossible combination (text kinds on digits, vector kind on text data, an encoder
    of the other precision).
    """
    parts = bootstrap_splits(dataset, seed_size, seed, images=kind == "pixels")
    seed_set, holdout = parts.seed_set, parts.holdout
    wanted = {"vector": "vector", "pixels": "image"}.get(kind, "text")
    if wanted != seed_set.input_kind:
        raise ValueError(f"kind {kind!r} does not fit {dataset} ({seed_set.input_kind} inputs)")
    name = f"{dataset}-{kind}"
    common: dict[str, Any] = {
        "seed": seed,
        "name": name,
        "version": f"{name}-bootstrap-s{seed}",
        "dataset": dataset,
    }
    labels = list(seed_set.labels)
    if kind in ("minilm", "minilm-int8"):
        if encoder is None:
            encoder = int8_encoder() if kind == "minilm-int8" else MiniLMEncoder()
        if bool(encoder.quantization) != (kind == "minilm-int8"):
            raise ValueError(f"kind {kind!r} with encoder {encoder.encoder_id!r}")
        manifest, files = train_minilm_head(
            seed_set.texts(),
            seed_set.label_list(),
            labels,
            encoder=encoder,
            holdout=(holdout.texts(), holdout.label_list()),
            **common,
        )
    elif kind == "tfidf":
        manifest, files = train_tfidf_logreg(
            seed_set.texts(),
            seed_set.label_list(),
            labels,
            holdout=(holdout.texts(), holdout.label_list()),
            **common,
        )
    elif kind == "pixels":
        manifest, files = train_pixels_classifier(
            seed_set.images(),
            seed_set.label_list(),
            labels,
            size=IMAGE_SIZES.get(dataset, DEFAULT_IMAGE_SIZE),
            holdout=(holdout.images(), holdout.label_list()),
            **common,
        )
    else:
        manifest, files = train_vector_classifier(
            seed_set.vectors(),
            seed_set.label_list(),
            labels,
            holdout=(holdout.vectors(), holdout.label_list()),
            **common,
        )
    layout = {"seed_size": seed_size, "split_seed": SPLIT_SEED, "test_fraction": TEST_FRACTION}
    training = manifest.training | {"bootstrap": layout}
    return write_bundle(Path(out_dir), manifest.model_copy(update={"training": training}), files)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: build the bundle and print a one-line JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m mitl_ml.bootstrap", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    parser.add_argument(
        "--dataset", default="trec6", choices=["trec6", "sms_spam", "digits", "lfw"]
    )
    parser.add_argument("--kind", default=DEFAULT_TEXT_KIND, choices=KINDS)
    parser.add_argument("--seed-size", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    kind = cast(Kind, args.kind)
    if args.dataset in IMAGE_LOADERS and kind != "pixels":
        kind = "vector" if args.dataset == "digits" else "pixels"
    started = time.perf_counter()
    manifest = build_bootstrap(args.out, args.dataset, kind, args.seed_size, args.seed)
    summary = {
        "bundle": str(args.out),
        "name": manifest.name,
        "version": manifest.version,
        "kind": manifest.kind,
        "seed_size": manifest.training["n_examples"],
        "holdout_n": int(manifest.metrics.get("holdout_n", 0)),
        "accuracy": round(manifest.metrics.get("holdout_accuracy", float("nan")), 4),
        "macro_recall": round(manifest.metrics.get("holdout_macro_recall", float("nan")), 4),
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
