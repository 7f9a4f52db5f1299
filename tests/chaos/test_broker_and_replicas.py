"""Broker faults and scale-out, short version of `mitl chaos` (200 items each instead of
5,000, a 5 s pause instead of 20 s, a fixed rate instead of a share of measured capacity):
SIGKILL Apache Kafka mid-stream and start it again on its data directory, SIGSTOP it and
SIGCONT it, then run two replicas of every service on the item's path and SIGKILL one of
each. Nothing is lost, doubled or reordered; no service is restarted; while the broker is
away every watched service says "not ready"; every row names the broker."""

from __future__ import annotations

import asyncio

import pytest
from mitl_cli.chaos.campaign import CampaignPlan, run_campaign
from mitl_cli.chaos.lab import Lab
from mitl_cli.chaos.report import ScenarioResult
from mitl_cli.chaos.scenarios import SCALED_OUT

# One module fixture runs all three scenarios (a few minutes on a busy machine): more than the
# suite's default 300 s per test.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SCENARIOS = ("kill-broker", "pause-broker", "kill-replicas")
BROKER_FAULTS = ("kill-broker", "pause-broker")
ITEMS = 200
RATE = 30.0


@pytest.fixture(scope="module")
def results(lab: Lab) -> dict[str, ScenarioResult]:
    plan = CampaignPlan(
        list(SCENARIOS),
        items=ITEMS,
        crash_rate=RATE,
        down_s=2.0,
        scenario_down_s={"pause-broker": 5.0},
        rest_timeout_s=240,
    )
    done = asyncio.run(run_campaign(lab, plan, emit=lambda result: print(result.as_json())))
    return {result.scenario: result for result in done}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_nothing_lost_doubled_or_reordered(
    results: dict[str, ScenarioResult], scenario: str
) -> None:
    result = results[scenario]
    census = result.census
    assert census.items_in == ITEMS, result.as_json()
    assert (result.lost, result.duplicated, result.out_of_order) == (0, 0, 0), result.as_json()
    assert census.labels_out == census.decisions == ITEMS
    assert result.order is not None and result.order.events >= 3 * ITEMS
    assert result.details["broker"].startswith("apache-kafka "), result.details
    assert result.details["audit_chain"].startswith("ok"), result.details["audit_chain"]


@pytest.mark.parametrize("scenario", BROKER_FAULTS)
def test_services_ride_through_the_broker_outage(
    results: dict[str, ScenarioResult], scenario: str
) -> None:
    result = results[scenario]
    details = result.details
    assert details["services_restarted"] == [], details
    assert details["readyz_saw_outage"] is True, details["readyz_during_outage"]
    assert result.recovery_s is not None, details


def test_the_survivors_take_over_from_killed_replicas(
    results: dict[str, ScenarioResult],
) -> None:
    result = results["kill-replicas"]
    details = result.details
    assert details["replicas_killed"] == sorted(f"{name}#2" for name in SCALED_OUT), details
    assert details["services_restarted"] == [], details
    assert set(details["replicas_left"]) >= set(SCALED_OUT), details
    assert details["rejected"] == 0, details
    assert result.recovery_s is not None, details
