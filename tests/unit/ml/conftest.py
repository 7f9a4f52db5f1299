"""Shared, expensive fixtures for the mitl_ml tests: built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_ml.bootstrap import BootstrapSplits, bootstrap_splits, build_bootstrap
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.manifest import ModelManifest


@pytest.fixture(scope="session")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(intra_op_threads=2)


@pytest.fixture(scope="session")
def trec_splits() -> BootstrapSplits:
    return bootstrap_splits("trec6", seed_size=300, seed=0)


@pytest.fixture(scope="session")
def minilm_bundle(
    tmp_path_factory: pytest.TempPathFactory, encoder: MiniLMEncoder
) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("bundles") / "trec6-minilm"
    return out, build_bootstrap(out, "trec6", "minilm", seed_size=300, seed=0, encoder=encoder)


@pytest.fixture(scope="session")
def tfidf_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("bundles") / "trec6-tfidf"
    return out, build_bootstrap(out, "trec6", "tfidf", seed_size=300, seed=0)


@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelManifest]:
    out = tmp_path_factory.mktemp("bundles") / "digits"
    return out, build_bootstrap(out, "digits", "vector", seed_size=300, seed=0)
