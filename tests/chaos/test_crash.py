"""Crash scenarios, short version of `mitl chaos` (200 items each instead of 5,000): while
items stream in and bots label them, SIGKILL the review API, then crash PostgreSQL; every
accepted item ends with exactly one routing decision, one final label and the review tasks it
needs, counted from the audit log and the review schema; the audit chain verifies."""

from __future__ import annotations

import asyncio
import io

import pytest
from mitl_cli.chaos.campaign import CampaignPlan, run_campaign
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.report import ScenarioResult

pytestmark = pytest.mark.e2e

SCENARIOS = ("kill-review-api", "restart-postgres")
ITEMS = 200
# Items/s of each stream: below what the lab sustains, so that recovery is measurable (the
# capacity burst that `mitl chaos` derives the rate from is test_load's).
RATE = 25.0


@pytest.fixture(scope="module")
def results(lab: Lab) -> dict[str, ScenarioResult]:
    plan = CampaignPlan(
        list(SCENARIOS), items=ITEMS, crash_rate=RATE, down_s=2.0, rest_timeout_s=180
    )
    done = asyncio.run(run_campaign(lab, plan, emit=lambda result: None))
    return {result.scenario: result for result in done}


def test_each_scenario_shows_its_items_sent_and_settled(
    lab: Lab, results: dict[str, ScenarioResult]
) -> None:
    assert isinstance(lab.progress.stream, io.StringIO)
    shown = lab.progress.stream.getvalue()
    for scenario in SCENARIOS:
        assert f"{scenario}: sent [####################] {ITEMS}/{ITEMS} items" in shown
        assert f"{scenario}: settled [####################] {ITEMS}/{ITEMS} items" in shown


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_nothing_lost_nothing_doubled(results: dict[str, ScenarioResult], scenario: str) -> None:
    result = results[scenario]
    census = result.census
    assert census.items_in == ITEMS, result.as_json()
    assert (result.lost, result.duplicated) == (0, 0), census.reasons()
    assert census.labels_out == census.decisions == census.items_in
    assert census.human_labels == census.tasks > 0
    assert result.details["audit_chain"].startswith("ok"), result.details["audit_chain"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_fault_was_felt_and_recovered_from(
    results: dict[str, ScenarioResult], scenario: str
) -> None:
    details = results[scenario].details
    failed_requests = sum(n for key, n in details["reviewers"].items() if key.startswith("error:"))
    assert failed_requests + details["client_retries"] > 0, details
    assert results[scenario].recovery_s is not None, details


def test_an_outage_is_answered_503_never_500(results: dict[str, ScenarioResult]) -> None:
    """While PostgreSQL is down, ingest and the review API say "unavailable, retry" (503 with
    Retry-After), which clients retry, instead of an unexplained 500."""
    details = results["restart-postgres"].details
    seen = [*details["client_failures"], *details["reviewers"]]
    assert not [kind for kind in seen if kind.endswith(" 500")], details
