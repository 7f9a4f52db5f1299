"""A true int8 MiniLM encoder, built from the shipped one with onnxruntime's own quantizer.

The shipped `all-MiniLM-L6-v2-int8` file stores its weights as int8 with a per-column scale
(Cast + Mul in the graph), and onnxruntime folds them back into fp32 MatMuls when it loads the
model: it runs in fp32. `build` makes an encoder that runs integer kernels instead:

1. `dequantized`: fold every Cast(int8 initializer) * scale into an fp32 initializer (the graph
   onnxruntime ran anyway, numerically the same);
2. `onnxruntime.quantization.quantize_dynamic` with a `Recipe`: MatMuls with constant weights
   become MatMulInteger fed by DynamicQuantizeLinear (activations quantized per batch, uint8).

Quantizing is deterministic for a given source file, recipe and onnxruntime version, so the
built file's sha256 is reproducible; `Quantization` records all three, and a model bundle that
carries the encoder carries that record in its manifest. Built at `make models` time (nothing
built is committed): `python -m mitl_ml.quantize --out DIR [--recipe NAME]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from mitl_ml.encoder import ENCODER_ID, MiniLMEncoder, default_model_path
from mitl_ml.manifest import sha256_hex

ENCODER_FILE = "encoder.onnx"
RECORD_FILE = "quantization.json"
# How onnxruntime's quantize_dynamic starts the warning it logs on a graph it did not
# pre-process itself (_quiet_preprocessing).
PREPROCESSING_ADVICE = "Please consider to run pre-processing before quantization"
INT8_ENCODER_ID = "all-MiniLM-L6-v2-int8-dynamic"
# Where `make models` builds it (relative to the checkout, like models/trec6-bootstrap);
# built there on first use if missing.
DEFAULT_DIR = Path("models/encoders/minilm-int8")


@dataclass(frozen=True)
class Recipe:
    """How `quantize_dynamic` is called. `exclude` names which MatMuls stay fp32, by what
    feeds them (see `excluded_nodes`): "ffn-out" = the feed-forward output projections (their
    input is the GELU output, the widest-ranged activations of the network)."""

    name: str
    per_channel: bool = False
    reduce_range: bool = False
    exclude: tuple[str, ...] = ()
    op_types: tuple[str, ...] = ("MatMul",)

    def describe(self) -> dict[str, object]:
        return asdict(self)


# Every recipe measured (docs/models.md has what each cost); DEFAULT_RECIPE is the one built.
RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("dynamic-per-tensor"),
        Recipe("dynamic-per-channel", per_channel=True),
        Recipe("dynamic-per-channel-reduce-range", per_channel=True, reduce_range=True),
        Recipe("dynamic-per-channel-fp32-ffn-out", per_channel=True, exclude=("ffn-out",)),
    )
}
# Per-channel 7-bit weights: the smallest accuracy cost of the recipes at the full speed-up
# (`mitl bench encoder --json --recipe all`, 2026-12-07, Intel Xeon with AVX-512 VNNI: 2.23x,
# TREC-6 5-fold -0.20 points, SMS spam 0.00; 8-bit per-channel 2.22x, -0.39 / +0.07). 7-bit
# weights also keep the u8s8 kernels of CPUs without VNNI clear of int16 overflow.
DEFAULT_RECIPE = "dynamic-per-channel-reduce-range"
# Whether new MiniLM models (the bootstrap of `make models`, `mitl run`, the trainer's
# candidates) use the int8 encoder: only for a recipe measured to hold 5-fold accuracy within
# 0.5 points of the shipped encoder on TREC-6 and SMS spam (`mitl bench encoder`), which
# DEFAULT_RECIPE does (docs/models.md). Where the CPU has no VNNI the int8 encoder runs at
# about the fp32 speed (measured on an AMD EPYC with AVX2 only: 0.98-0.99x), at the same
# accuracy.
INT8_IS_DEFAULT = True
# The id new MiniLM models record as their encoder (`training.encoder`).
DEFAULT_ENCODER_ID = INT8_ENCODER_ID if INT8_IS_DEFAULT else ENCODER_ID


@dataclass(frozen=True)
class Quantization:
    """What an int8 encoder file is: the recipe, the onnxruntime that quantized it, the sha256
    of the source model it was built from and of the built file itself."""

    recipe: dict[str, object]
    onnxruntime: str
    source_sha256: str
    sha256: str
    encoder_id: str = INT8_ENCODER_ID
    excluded_nodes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def dequantized(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with every MatMul weight `Mul(Cast(int8 initializer), scale initializer)` folded
    into one fp32 initializer (what onnxruntime's constant folding does at load time)."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes = list(graph.node)
    # Only weights a MatMul multiplies by: the embedding tables stay int8 in the file (Gather
    # reads a few rows of them; onnxruntime folds them at load either way).
    matmul_weights = {n.input[1] for n in nodes if n.op_type == "MatMul"}
    casts = {
        n.output[0]: i
        for i, n in enumerate(nodes)
        if n.op_type == "Cast" and len(n.input) == 1 and n.input[0] in inits
    }
    folded: dict[str, np.ndarray] = {}
    drop: set[int] = set()
    for i, node in enumerate(nodes):
        if node.op_type != "Mul" or len(node.input) != 2 or node.output[0] not in matmul_weights:
            continue
        cast = casts.get(node.input[0])
        if cast is None or node.input[1] not in inits:
            continue
        weights = numpy_helper.to_array(inits[nodes[cast].input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        folded[node.output[0]] = (weights * scale).astype(np.float32)
        drop |= {i, cast}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    kept = [
        onnx.NodeProto.FromString(n.SerializeToString())
        for i, n in enumerate(nodes)
        if i not in drop
    ]
    del out.graph.node[:]
    out.graph.node.extend(kept)
    used = {name for n in kept for name in n.input} | {o.name for o in graph.output}
    initializers = [i for i in graph.initializer if i.name in used]
    initializers += [numpy_helper.from_array(a, name) for name, a in sorted(folded.items())]
    del out.graph.initializer[:]
    out.graph.initializer.extend(initializers)
    return out


def excluded_nodes(model: onnx.ModelProto, recipe: Recipe) -> list[str]:
    """Names of the MatMul nodes `recipe` keeps in fp32."""
    rules: dict[str, Callable[[onnx.NodeProto], bool]] = {
        "ffn-out": lambda n: n.input[0].startswith("gelu"),
    }
    unknown = set(recipe.exclude) - rules.keys()
    if unknown:
        raise ValueError(f"recipe {recipe.name}: unknown exclusions {sorted(unknown)}")
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "MatMul" and any(rules[rule](n) for rule in recipe.exclude)
    ]


class _NoPreprocessingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(PREPROCESSING_ADVICE)


@contextmanager
def _quiet_preprocessing() -> Iterator[None]:
    """Drop onnxruntime's advice to run its pre-processing first, logged at WARNING on the
    root logger on every call: the recipes are measured as they are built here (accuracy and
    speed, docs/models.md), so on `make` it only alarmed whoever read the output."""
    advice = _NoPreprocessingAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)


def quantize(source: bytes, recipe: Recipe) -> tuple[bytes, Quantization]:
    """The int8 encoder built from the shipped encoder's bytes `source` with `recipe`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = dequantized(onnx.load_from_string(source))
    exclude = excluded_nodes(fp32, recipe)
    with tempfile.TemporaryDirectory(prefix="mitl-quantize-") as tmp, _quiet_preprocessing():
        target = Path(tmp) / ENCODER_FILE
        quantize_dynamic(
            fp32,
            target,
            op_types_to_quantize=list(recipe.op_types),
            per_channel=recipe.per_channel,
            reduce_range=recipe.reduce_range,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=exclude,
        )
        data = target.read_bytes()
    record = Quantization(
        recipe=recipe.describe(),
        onnxruntime=ort.__version__,
        source_sha256=sha256_hex(source),
        sha256=sha256_hex(data),
        excluded_nodes=exclude,
    )
    return data, record


def integer_ops(data: bytes) -> dict[str, int]:
    """How many integer-kernel nodes the graph `data` holds, by op type."""
    counts: dict[str, int] = {}
    for node in onnx.load_from_string(data).graph.node:
        if node.op_type in {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _write(path: Path, data: bytes) -> None:
    # A temporary file of this process's own: two processes building the same encoder at once
    # (test workers, replicas on a shared volume) each replace the file whole.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build(out_dir: Path, recipe: str = DEFAULT_RECIPE, source: Path | None = None) -> Quantization:
    """Quantize the shipped encoder (or `source`) into `out_dir/encoder.onnx` and record how
    in `out_dir/quantization.json` (written last). Raises KeyError for an unknown recipe."""
    data, record = quantize((source or default_model_path()).read_bytes(), RECIPES[recipe])
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / ENCODER_FILE, data)
    _write(out_dir / RECORD_FILE, json.dumps(record.as_dict(), indent=2).encode())
    return record


def read_record(out_dir: Path) -> Quantization | None:
    """The record of the encoder built in `out_dir`; None if there is none or it does not
    describe the file next to it."""
    try:
        raw = json.loads((out_dir / RECORD_FILE).read_bytes())
        record = Quantization(**raw)
        data = (out_dir / ENCODER_FILE).read_bytes()
    except (OSError, ValueError, TypeError):
        return None
    return record if sha256_hex(data) == record.sha256 else None


def built_encoder(
    out_dir: Path, recipe: str = DEFAULT_RECIPE, source: Path | None = None
) -> tuple[Path, Quantization]:
    """The int8 encoder in `out_dir`, (re)built if missing, stale (another recipe, source
    model or onnxruntime) or altered: (path of encoder.onnx, its record)."""
    source = source or default_model_path()
    record = read_record(out_dir)
    wanted = RECIPES[recipe].describe()
    if (
        record is None
        or record.recipe != wanted
        or record.onnxruntime != ort.__version__
        or record.source_sha256 != sha256_hex(source.read_bytes())
    ):
        record = build(out_dir, recipe, source)
    return out_dir / ENCODER_FILE, record


def int8_encoder(
    intra_op_threads: int = 2, allow_spinning: bool = True, directory: Path = DEFAULT_DIR
) -> MiniLMEncoder:
    """The int8 encoder of DEFAULT_RECIPE (built into `directory` if needed), loaded."""
    path, record = built_encoder(directory)
    return MiniLMEncoder(
        intra_op_threads,
        model_path=path,
        allow_spinning=allow_spinning,
        quantization=record.as_dict(),
    )


def default_encoder(intra_op_threads: int = 2, allow_spinning: bool = True) -> MiniLMEncoder:
    """The encoder new MiniLM heads are trained on: int8 if INT8_IS_DEFAULT, else shipped."""
    if INT8_IS_DEFAULT:
        return int8_encoder(intra_op_threads, allow_spinning)
    return MiniLMEncoder(intra_op_threads, allow_spinning=allow_spinning)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mitl_ml.quantize", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory to write")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE, choices=sorted(RECIPES))
    args = parser.parse_args(argv)
    path, record = built_encoder(args.out, args.recipe)
    os.utime(args.out / RECORD_FILE)  # up to date now, for make
    summary = record.as_dict() | {"file": str(path), "integer_ops": integer_ops(path.read_bytes())}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
