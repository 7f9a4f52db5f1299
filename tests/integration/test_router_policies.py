"""Router policies on the live stream (real broker and Postgres): thresholds learned from human
labels change routing; annotator and model-version disagreements and a drifting class go to
the expert queue."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from mitl_contracts import topics
from mitl_contracts.events import (
    Decision,
    DriftAlert,
    ItemContent,
    Label,
    PolicyChanged,
    Prediction,
    ReviewRequested,
)
from mitl_policy.bounds import lower_bound, upper_bound
from mitl_policy.requests import disagreement_event_id
from mitl_router.app import create_app
from mitl_router.settings import Settings

from tests.support import TopicReader, eventually, publish_events, running_app

pytestmark = pytest.mark.integration

# Target 0.8 at one-sided Wilson 95% needs 11 correct verified items: a test-sized cold start.
POLICY = """
    labels: [A, B]
    policy:
      version: learn-v1
      target_precision: 0.8
      min_verified: 5
      escalation_floor: 0.2
      spot_check_rate: 0.0
      spot_check_max_rate: 0.0
"""

# The same, with every accepted label spot-checked.
SPOT_POLICY = POLICY.replace("spot_check_rate: 0.0", "spot_check_rate: 1.0").replace(
    "spot_check_max_rate: 0.0", "spot_check_max_rate: 1.0"
)

# Every confident prediction drawn (max rate 1, floor 0) until 12 calibration labels are in:
# the queue cap lets 12 calibration reviews be queued, not one per prediction.
CAP_POLICY = """
    labels: [A, B]
    policy:
      version: cap-v1
      target_precision: 0.8
      escalation_floor: 0.0
      min_accept_threshold: 0.5
      calibration_rate: 0.0
      calibration_max_rate: 1.0
      calibration_budget: 12
      calibration_queue_cap: true
"""


@pytest.fixture(scope="module")
def router_env(service_env: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    path: Path = tmp_path_factory.mktemp("policies") / "datasets.yaml"
    run = uuid.uuid4().hex[:6]
    path.write_text(
        f"datasets:\n  learn_{run}:{POLICY}  drift_{run}:{POLICY}  dispute_{run}:{POLICY}"
        f"  spot_{run}:{SPOT_POLICY}  cap_{run}:{CAP_POLICY}"
    )
    return service_env | {"datasets_file": path, "run": run}


def prediction(dataset: str, item: str, p_a: float, model: str = "m1") -> Prediction:
    return Prediction(
        event_id=f"pred-{item}-{model}",
        dataset=dataset,
        item_id=item,
        content=ItemContent(text=f"text of {item}"),
        model_version=model,
        labels=["A", "B"],
        probabilities=[p_a, round(1 - p_a, 6)],
    )


def human(dataset: str, item: str, label: str, who: str = "ann", model: str = "m1") -> Label:
    return Label(
        event_id=f"label-{item}-{who}",
        dataset=dataset,
        item_id=item,
        label=label,
        source="expert" if who == "expert" else "annotator",
        action="correct",
        annotator=who,
        model_version=model,
    )


async def all_decisions(kafka: str, keys: set[tuple[str, str]]) -> list[Decision]:
    """Every decision on the topic, once those for the (item, model version) keys are there."""
    async with TopicReader(kafka, topics.DECISIONS) as reader:
        await reader.wait_for(
            lambda _: {(d.item_id, d.model_version) for d in reader.events(Decision)} >= keys
        )
    return reader.events(Decision)


async def decisions_for(kafka: str, items: set[str], model: str = "m1") -> dict[str, Decision]:
    found = await all_decisions(kafka, {(i, model) for i in items})
    return {d.item_id: d for d in found if d.item_id in items and d.model_version == model}


async def test_thresholds_learned_from_human_labels_change_routing(router_env: dict) -> None:
    kafka, run = router_env["kafka_bootstrap_servers"], router_env["run"]
    dataset = f"learn_{run}"
    settings = Settings(**{k: v for k, v in router_env.items() if k != "run"})
    cold = [f"{run}-cold-{i}" for i in range(20)]
    async with running_app(create_app(settings)) as client:
        await publish_events(kafka, topics.PREDICTIONS, [prediction(dataset, i, 0.9) for i in cold])
        before = await decisions_for(kafka, set(cold))
        # Cold start: nothing accepted; a blind calibration sample at the head of the queue.
        assert {d.route for d in before.values()} == {"review"}
        assert all("cold start" in d.reason and d.priority >= 1.0 for d in before.values())
        await publish_events(kafka, topics.LABELS, [human(dataset, i, "A") for i in cold])

        async def learned() -> float | None:
            body = (await client.get("/v1/policies")).json()[dataset]
            return body["learned_thresholds"].get("m1", {}).get("A")

        assert await eventually(learned, timeout=60) == pytest.approx(0.9)
        async with TopicReader(kafka, topics.POLICIES) as policies:
            await policies.wait_for(
                lambda _: any(
                    e.dataset == dataset and e.policy["accept_thresholds"].get("A") == 0.9
                    for e in policies.events(PolicyChanged)
                )
            )
        warm = {f"{run}-sure": 0.95, f"{run}-unsure": 0.6, f"{run}-b": 0.1}
        await publish_events(
            kafka, topics.PREDICTIONS, [prediction(dataset, i, p) for i, p in warm.items()]
        )
        after = await decisions_for(kafka, set(warm))
    sure, unsure, b = after[f"{run}-sure"], after[f"{run}-unsure"], after[f"{run}-b"]
    assert sure.route == "accept" and sure.thresholds["accept_threshold"] == pytest.approx(0.9)
    assert sure.thresholds["target_precision"] == pytest.approx(0.8)
    assert sure.policy_version == "learn-v1" and "precision bound" in sure.reason
    assert unsure.route == "review" and unsure.priority < 1.0
    # B has no verified items yet: still a calibration sample.
    assert b.route == "review" and "cold start: B" in b.reason


async def test_disagreements_and_drifting_class_go_to_experts(router_env: dict) -> None:
    kafka, run = router_env["kafka_bootstrap_servers"], router_env["run"]
    dispute, drift = f"dispute_{run}", f"drift_{run}"
    settings = Settings(**{k: v for k, v in router_env.items() if k != "run"})
    item, rescored, drifting = f"{run}-x", f"{run}-y", f"{run}-d"
    alert = DriftAlert(
        event_id=f"drift-{run}",
        dataset=drift,
        model_version="m1",
        state="alert",
        statistic="class_share",
        value=0.5,
        threshold=0.2,
        segment="class:A",
        window_size=10,
        reference_size=10,
    )
    async with running_app(create_app(settings)) as client:
        await publish_events(
            kafka, topics.PREDICTIONS, [prediction(dispute, i, 0.7) for i in (item, rescored)]
        )
        await decisions_for(kafka, {item, rescored})
        labels = [human(dispute, item, "A", "ann1"), human(dispute, item, "B", "ann2")]
        await publish_events(kafka, topics.LABELS, labels)
        # A new model version disagrees with m1 about the same item.
        await publish_events(kafka, topics.PREDICTIONS, [prediction(dispute, rescored, 0.2, "m2")])
        await publish_events(kafka, topics.DRIFT, [alert])

        async def segment_open() -> bool:
            body = (await client.get("/v1/policies")).json()[drift]
            return "class:A" in body["drift_segments"]

        await eventually(segment_open)
        await publish_events(kafka, topics.PREDICTIONS, [prediction(drift, drifting, 0.99)])
        async with TopicReader(kafka, topics.REVIEW_REQUESTED) as reviews:
            await reviews.wait_for(
                lambda _: any(
                    r.event_id == disagreement_event_id(dispute, item)
                    for r in reviews.events(ReviewRequested)
                )
            )
        found = await all_decisions(kafka, {(rescored, "m2"), (drifting, "m1")})
    expert = [
        r
        for r in reviews.events(ReviewRequested)
        if r.event_id == disagreement_event_id(dispute, item)
    ]
    assert expert[0].queue == "expert" and expert[0].reason == "annotators disagree: A, B"
    assert expert[0].hide_suggestion
    by_key = {(d.item_id, d.model_version): d for d in found}
    rescore = by_key[(rescored, "m2")]
    assert rescore.route == "escalate"
    assert "model m2 predicts B but m1 predicted A" in rescore.reason
    assert by_key[(drifting, "m1")].route == "escalate"
    assert "segment class:A" in by_key[(drifting, "m1")].reason


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text exposition."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{"):
            series, value = line.rsplit(" ", 1)
            found = ",".join(sorted(series[len(name) + 1 : -1].split(",")))
            if found == wanted:
                return float(value)
    return None


async def test_spot_checks_of_accepted_labels_bound_their_precision(router_env: dict) -> None:
    kafka, run = router_env["kafka_bootstrap_servers"], router_env["run"]
    dataset = f"spot_{run}"
    settings = Settings(**{k: v for k, v in router_env.items() if k != "run"})
    cold = [f"{run}-spot-cold-{i}" for i in range(20)]
    accepted = [f"{run}-spot-acc-{i}" for i in range(10)]
    async with running_app(create_app(settings)) as client:
        await publish_events(kafka, topics.PREDICTIONS, [prediction(dataset, i, 0.9) for i in cold])
        await decisions_for(kafka, set(cold))
        await publish_events(kafka, topics.LABELS, [human(dataset, i, "A") for i in cold])

        async def learned() -> float | None:
            body = (await client.get("/v1/policies")).json()[dataset]
            return body["learned_thresholds"].get("m1", {}).get("A")

        await eventually(learned, timeout=60)
        await publish_events(
            kafka, topics.PREDICTIONS, [prediction(dataset, i, 0.95) for i in accepted]
        )
        found = await decisions_for(kafka, set(accepted))
        assert {d.route for d in found.values()} == {"accept"}
        # People answer the ten spot checks: eight confirm the model, two correct it.
        answers = ["A"] * 8 + ["B"] * 2
        await publish_events(
            kafka,
            topics.LABELS,
            [human(dataset, i, a, who="checker") for i, a in zip(accepted, answers, strict=True)],
        )

        async def exported() -> str | None:
            text = (await client.get("/metrics")).text
            n = metric(
                text, "mitl_router_spot_checks_verified", dataset=dataset, model_version="m1"
            )
            return text if n == 10 else None

        text = await eventually(exported)
    bound = metric(
        text,
        "mitl_router_spot_check_precision_lower_bound_ratio",
        dataset=dataset,
        model_version="m1",
    )
    assert bound == pytest.approx(lower_bound(8, 10, "wilson", 0.95))
    assert bound is not None and bound < 0.8
    upper = metric(
        text,
        "mitl_router_spot_check_precision_upper_bound_ratio",
        dataset=dataset,
        model_version="m1",
    )
    # 8 of 10 cannot show that precision is under 0.8: the alert on the upper bound stays quiet.
    assert upper == pytest.approx(upper_bound(8, 10, "wilson", 0.95)) and upper > 0.8
    assert metric(text, "mitl_router_target_precision_ratio", dataset=dataset) == 0.8


async def test_calibration_reviews_are_queued_up_to_the_unspent_budget(router_env: dict) -> None:
    kafka, run = router_env["kafka_bootstrap_servers"], router_env["run"]
    dataset = f"cap_{run}"
    settings = Settings(**{k: v for k, v in router_env.items() if k != "run"})
    first = [f"{run}-cap-{i}" for i in range(30)]
    later = [f"{run}-cap-later-{i}" for i in range(10)]
    async with running_app(create_app(settings)):
        await publish_events(
            kafka, topics.PREDICTIONS, [prediction(dataset, i, 0.9) for i in first]
        )
        before = await decisions_for(kafka, set(first))
        # Every prediction is drawn at rate 1; 12 (the budget) are calibration reviews, the
        # others are routed as if not drawn (rate 0), here ordinary reviews (cold start).
        calibrating = [d for d in before.values() if d.priority >= 1.0]
        assert len(calibrating) == 12
        assert {d.thresholds["calibration_rate"] for d in calibrating} == {1.0}
        rest = [d for d in before.values() if d.priority < 1.0]
        assert {d.route for d in rest} == {"review"}
        assert {d.thresholds["calibration_rate"] for d in rest} == {0.0}
        # A later batch: the 12 still queued (stored decisions, no label yet) fill the budget.
        await publish_events(
            kafka, topics.PREDICTIONS, [prediction(dataset, i, 0.9) for i in later]
        )
        after = await decisions_for(kafka, set(later))
    assert all(d.priority < 1.0 and d.thresholds["calibration_rate"] == 0.0 for d in after.values())
