"""One stack for every e2e loop (single-label text, spans, images, multi-label): each has a
dataset of its own in one datasets file, so the four modules share the services' start-up,
the slow part. The drift monitor runs with small windows, so that it computes its statistic on
test_loop's short stream, and every service appends its spans to one file for the trace
test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitl_cli.stack import LocalStack
from mitl_ml.bootstrap import build_bootstrap
from mitl_ml.bootstrap_multilabel import build_multilabel_bootstrap
from mitl_ml.bootstrap_spans import build_span_bootstrap

from tests.e2e.loop import DIGITS, SPAN_LABELS, YEAST_LABELS, own_stack
from tests.support import trec6_dataset


@pytest.fixture(scope="package")
def task_stack(
    tmp_path_factory: pytest.TempPathFactory, bootstrap_model: Path
) -> Iterator[LocalStack]:
    config = tmp_path_factory.mktemp("task-config")
    datasets = config / "datasets.yaml"
    datasets.write_text(
        "datasets:\n"
        # Single-label text: the session's TREC-6 bootstrap model (test_loop).
        + trec6_dataset(bootstrap_model)
        # Spans: spaCy's pre-labeler; every item goes to people (nothing is that sure).
        + "  tweets:\n"
        "    task: spans\n"
        f"    labels: {json.dumps(SPAN_LABELS)}\n"
        "    entity_map: {PERSON: person, GPE: geo-loc, LOC: geo-loc, ORG: company,\n"
        "                 PRODUCT: product}\n"
        f"    model: {config / 'tweets-spacy'}\n"
        "    policy:\n"
        "      version: e2e-spans-v1\n"
        "      accept_threshold: 0.999\n"
        "      escalation_floor: 0.0\n"
        "      spot_check_rate: 0.0\n"
        "      escalate_on_model_change: false\n"
        # Images: a head on the pixels of 8x8 digits.
        "  digits:\n"
        "    input_kind: image\n"
        f"    labels: {json.dumps(DIGITS)}\n"
        "    max_image_side: 64\n"
        f"    model: {config / 'digits-pixels'}\n"
        "    policy:\n"
        "      version: e2e-images-v1\n"
        "      accept_threshold: 0.9\n"
        "      escalation_floor: 0.05\n"
        # Multi-label: a one-vs-rest head on Yeast's 103 features.
        "  yeast:\n"
        "    task: multilabel\n"
        "    input_kind: vector\n"
        "    vector_dim: 103\n"
        f"    labels: {json.dumps(YEAST_LABELS)}\n"
        f"    model: {config / 'yeast-ovr'}\n"
        "    policy:\n"
        "      version: e2e-multilabel-v1\n"
        "      accept_threshold: 0.9\n"
        "      escalation_floor: 0.0\n"
        "      spot_check_rate: 0.0\n"
        "      escalate_on_model_change: false\n"
    )
    build_span_bootstrap(config / "tweets-spacy", "tweets", datasets, evaluate=0)
    build_bootstrap(
        config / "digits-pixels", dataset="digits", kind="pixels", seed_size=100, seed=0
    )
    build_multilabel_bootstrap(config / "yeast-ovr", "yeast", seed_size=300, seed=0)
    with own_stack(tmp_path_factory, "tasks", datasets, loop_env) as running:
        yield running


def loop_env(workdir: Path) -> dict[str, str]:
    return {
        # Small drift windows so the monitor computes its statistics on a short stream.
        "MITL_REFERENCE_SIZE": "20",
        "MITL_WINDOW_SIZE": "20",
        "MITL_EVALUATE_EVERY": "10",
        # Every service appends its spans to one file: the trace test reads it.
        "MITL_TRACING_EXPORTER": "file",
        "MITL_TRACING_FILE": str(workdir / "spans.jsonl"),
    }
