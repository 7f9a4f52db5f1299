"""The looked-up counter children are the metrics' own: what they count is exported."""

from __future__ import annotations

from mitl_review import metrics
from prometheus_client import REGISTRY


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_looked_up_child_counts_in_the_exported_metric() -> None:
    labels = {"dataset": "m-test", "queue": "annotator", "outcome": "leased"}
    before = sample("mitl_review_claims_total", labels)
    assert metrics.claims("m-test", "annotator", "leased") is metrics.claims(
        "m-test", "annotator", "leased"
    )
    metrics.claims("m-test", "annotator", "leased").inc()
    metrics.claims("m-test", "annotator", "leased").inc()
    assert sample("mitl_review_claims_total", labels) == before + 2
    submitted = {"action": "confirm", "role": "m-test-role"}
    metrics.submissions("confirm", "m-test-role").inc()
    assert sample("mitl_review_submissions_total", submitted) == 1
