"""Inference settings come from MITL_* variables with the documented defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_inference.settings import Settings
from pydantic import ValidationError


def test_defaults() -> None:
    settings = Settings()
    assert settings.http_port == 8002 and settings.intra_op_threads == 2
    assert settings.kafka_max_batch == 128 and settings.rescore_window == 10_000
    assert settings.artifact_dir == Path(".local/artifacts")


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITL_ARTIFACT_DIR", "/srv/artifacts")
    monkeypatch.setenv("MITL_RESCORE_WINDOW", "0")
    monkeypatch.setenv("MITL_KAFKA_MAX_BATCH", "512")
    settings = Settings()
    assert settings.artifact_dir == Path("/srv/artifacts")
    assert settings.rescore_window == 0 and settings.kafka_max_batch == 512


def test_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITL_INTRA_OP_THREADS", "0")
    with pytest.raises(ValidationError, match="intra_op_threads"):
        Settings()
