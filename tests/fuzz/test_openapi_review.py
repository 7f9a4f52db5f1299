"""The review API's OpenAPI document, fuzzed with each role's token (the admin reaches the
admin routes, an annotator and an expert the labeling routes) and with none: never 5xx, every
rejection says why."""

from __future__ import annotations

import pytest

from tests.fuzz.conftest import ROLES, Platform
from tests.fuzz.openapi import fuzz

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("role", [*ROLES, None])
def test_review_api_never_answers_5xx_and_explains_every_rejection(
    platform: Platform, role: str | None
) -> None:
    headers = platform.auth(role) if role else None
    # 30 cases per operation and role; 10 without a token: every guarded route answers 401
    # before it reads the request, so more cases would test the same refusal again.
    cases = 30 if role else 10
    exercised, failures = fuzz(platform.url("review-api"), headers=headers, max_examples=cases)
    assert "POST /v1/tasks/{task_id}/submit" in exercised
    assert not failures, "\n".join(map(str, failures))
