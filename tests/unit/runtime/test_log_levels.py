"""MITL_LOG_LEVELS sets chosen loggers' levels over MITL_LOG_LEVEL; a bad value is refused at
start-up with the fault named."""

from __future__ import annotations

import logging

import pytest
from mitl_runtime import serve
from mitl_runtime.settings import ServiceSettings, logger_levels
from pydantic import ValidationError


def test_levels_are_read_per_logger() -> None:
    assert logger_levels("") == {}
    assert logger_levels(" aiokafka=info , uvicorn.error=WARNING,") == {
        "aiokafka": "INFO",
        "uvicorn.error": "WARNING",
    }


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("aiokafka", "'aiokafka' is not name=LEVEL"),
        ("=INFO", "'=INFO' is not name=LEVEL"),
        ("aiokafka=LOUD", "'LOUD' for 'aiokafka' is not one of"),
    ],
)
def test_a_bad_value_is_refused_naming_the_fault(spec: str, fault: str) -> None:
    with pytest.raises(ValidationError, match=fault):
        ServiceSettings(log_levels=spec)


def test_serve_sets_the_named_loggers_over_the_service_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: None)
    monkeypatch.setattr(serve, "tune_gc", lambda: None)
    quiet = logging.getLogger("mitl-test-quiet")
    monkeypatch.setattr(quiet, "level", logging.NOTSET)
    settings = ServiceSettings(log_level="DEBUG", log_levels="mitl-test-quiet=WARNING")
    serve.serve(lambda s: serve.FastAPI(), settings)
    assert quiet.level == logging.WARNING
