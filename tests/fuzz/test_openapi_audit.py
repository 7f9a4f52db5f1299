"""Audit's report endpoints, fuzzed through its OpenAPI document: never 5xx, every rejection
says why."""

from __future__ import annotations

import pytest

from tests.fuzz.conftest import Platform
from tests.fuzz.openapi import fuzz

pytestmark = pytest.mark.e2e


def test_audit_reports_never_answer_5xx_and_explain_every_rejection(platform: Platform) -> None:
    """With the auditor's token, and without credentials (every answer then a 401 saying
    why, never a 5xx)."""
    headers = platform.stack.auditor_headers
    exercised, failures = fuzz(platform.url("audit"), headers=headers, max_examples=75)
    assert {"GET /v1/reports/{dataset}", "GET /v1/overrides/{dataset}"} <= set(exercised)
    _, anonymous = fuzz(platform.url("audit"), max_examples=10)
    assert not failures + anonymous, "\n".join(map(str, failures + anonymous))
