"""`mitl bench encoder`: the shipped MiniLM encoder (fp32 at run time) against the int8 one
built from it (mitl_ml.quantize), in this process, no broker or database.

- speed: both encoders embed the same `--items` TREC-6 questions in `--batch`-item batches
  (2 threads, one chunk per thread, as inference runs it), alternately, `--repeats` times;
  the medians are `fp32_items_per_s` and `int8_items_per_s`, their ratio `speedup`;
- quality: the cosine similarity of each int8 embedding with its fp32 one, and 5-fold
  stratified cross-validated accuracy of a logistic-regression head (the platform's C) on
  every TREC-6 question and every SMS message, embedded by each encoder
  (`accuracy[dataset]`: fp32, int8 and int8 minus fp32 in points).
`holds` says whether every dataset's accuracy is within `MAX_DROP_POINTS` of fp32.
`--recipe all` measures every recipe of mitl_ml.quantize.RECIPES (under `recipes`) and
reports the default one at the top level.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from mitl_runtime.progress import Progress

from mitl_cli.commands.bench import emit, machine

DATASETS = ("trec6", "sms_spam")
FOLDS = 5
MAX_DROP_POINTS = 0.5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("encoder", help="fp32 vs int8 MiniLM: speed and accuracy")
    parser.add_argument("--recipe", default="default", help="a recipe name, default or all")
    parser.add_argument("--items", type=int, default=2000, help="TREC-6 questions to time")
    parser.add_argument("--batch", type=int, default=64, help="items per encode call")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per encoder")
    parser.add_argument("--no-accuracy", action="store_true", help="time only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


NOTES = Progress()


def progress(message: str) -> None:
    NOTES.note(f"bench encoder: {message}")


def items_per_s(encoder: Any, texts: list[str], batch: int) -> float:
    encoder.encode(texts[:batch])  # first-run allocations are not throughput
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        encoder.encode(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def cv_accuracy(x: np.ndarray, y: list[str]) -> float:
    """Mean 5-fold stratified cross-validated accuracy of the platform's head on `x`."""
    from mitl_ml.train import MAX_ITER, MINILM_C
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    head = LogisticRegression(C=MINILM_C, max_iter=MAX_ITER, solver="lbfgs", random_state=0)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    return float(np.mean(cross_val_score(head, x, np.array(y), cv=folds)))


def measure(encoders: dict[str, Any], texts: list[str], batch: int, repeats: int) -> dict[str, Any]:
    """Median items/s of each encoder, timed alternately (the machine's state moves)."""
    runs: dict[str, list[float]] = {name: [] for name in encoders}
    for _ in range(repeats):
        for name, encoder in encoders.items():
            runs[name].append(items_per_s(encoder, texts, batch))
    return {name: round(statistics.median(r), 1) for name, r in runs.items()} | {
        "runs": {name: [round(v, 1) for v in r] for name, r in runs.items()}
    }


def quality(
    fp32: dict[str, np.ndarray], int8: dict[str, np.ndarray], labels: dict[str, list[str]]
) -> dict[str, Any]:
    cosines = np.concatenate([(fp32[d] * int8[d]).sum(axis=1) for d in fp32])
    accuracy: dict[str, dict[str, float]] = {}
    for name in fp32:
        a32, a8 = cv_accuracy(fp32[name], labels[name]), cv_accuracy(int8[name], labels[name])
        points = (a8 - a32) * 100
        accuracy[name] = {"fp32": round(a32, 4), "int8": round(a8, 4), "points": round(points, 2)}
    return {
        "cosine_mean": round(float(cosines.mean()), 4),
        "cosine_min": round(float(cosines.min()), 4),
        "accuracy": accuracy,
        "holds": all(a["points"] >= -MAX_DROP_POINTS for a in accuracy.values()),
    }


def run(args: argparse.Namespace) -> int:
    import onnxruntime as ort
    from mitl_ml import quantize
    from mitl_ml.datasets import load_dataset
    from mitl_ml.encoder import MiniLMEncoder

    names = (
        sorted(quantize.RECIPES)
        if args.recipe == "all"
        else [quantize.DEFAULT_RECIPE if args.recipe == "default" else args.recipe]
    )
    if unknown := set(names) - set(quantize.RECIPES):
        raise SystemExit(f"unknown recipe {sorted(unknown)}; known: {sorted(quantize.RECIPES)}")
    data = {name: load_dataset(name) for name in DATASETS}
    texts = data["trec6"].texts()[: args.items]
    fp32 = MiniLMEncoder(intra_op_threads=2, allow_spinning=False)
    fp32_embedded: dict[str, np.ndarray] = {}
    if not args.no_accuracy:
        progress("embedding every TREC-6 and SMS text with the shipped encoder")
        fp32_embedded = {name: fp32.encode(d.texts()).embeddings for name, d in data.items()}
    labels = {name: d.label_list() for name, d in data.items()}
    per_recipe: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="mitl-bench-encoder-") as tmp:
        for name in names:
            progress(f"recipe {name}: quantizing, timing")
            path, record = quantize.built_encoder(Path(tmp) / name, name)
            int8 = MiniLMEncoder(intra_op_threads=2, allow_spinning=False, model_path=path)
            speed = measure({"fp32": fp32, "int8": int8}, texts, args.batch, args.repeats)
            row: dict[str, Any] = {
                "recipe": name,
                "fp32_items_per_s": speed["fp32"],
                "int8_items_per_s": speed["int8"],
                "speedup": round(speed["int8"] / speed["fp32"], 2),
                "runs": speed["runs"],
                "integer_ops": quantize.integer_ops(path.read_bytes()),
                "int8_sha256": record.sha256,
            }
            if fp32_embedded:
                progress(f"recipe {name}: embedding and cross-validating")
                int8_embedded = {n: int8.encode(d.texts()).embeddings for n, d in data.items()}
                row |= quality(fp32_embedded, int8_embedded, labels)
            per_recipe[name] = row
            progress(f"recipe {name}: {row}")
    top = per_recipe.get(quantize.DEFAULT_RECIPE, per_recipe[names[0]])
    figures: dict[str, object] = dict(top)
    figures |= {
        "items": len(texts),
        "batch": args.batch,
        "max_drop_points": MAX_DROP_POINTS,
        "onnxruntime": ort.__version__,
        "folds": FOLDS,
    }
    if len(per_recipe) > 1:
        figures["recipes"] = per_recipe
    emit(figures | machine(), args.json)
    return 0
