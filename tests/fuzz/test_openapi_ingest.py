"""Ingest's OpenAPI document, fuzzed: every operation, valid and invalid requests alike, never
answers 5xx, and every rejection says why."""

from __future__ import annotations

import pytest

from tests.fuzz.conftest import Platform
from tests.fuzz.openapi import fuzz

pytestmark = pytest.mark.e2e


def test_ingest_never_answers_5xx_and_explains_every_rejection(platform: Platform) -> None:
    """With the dev client's key, and without credentials (401s that say why)."""
    headers = platform.stack.ingest_headers
    exercised, failures = fuzz(platform.url("ingest"), headers=headers, max_examples=100)
    assert "POST /v1/items" in exercised
    _, anonymous = fuzz(platform.url("ingest"), max_examples=10)
    assert not failures + anonymous, "\n".join(map(str, failures + anonymous))
