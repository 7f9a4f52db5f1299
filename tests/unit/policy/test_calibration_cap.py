"""Calibration reviews at raised rates are queued only up to the unspent budget
(mitl_policy.calibration_cap): which draws keep their review, per pool, whatever the
confidences; and how the core routes a capped draw."""

from __future__ import annotations

from datetime import UTC, datetime

from mitl_contracts.datasets import Policy
from mitl_contracts.events import ItemContent, Prediction
from mitl_policy import core
from mitl_policy.calibration import (
    ClassThreshold,
    Thresholds,
    Verdict,
    calibration_draw,
    evidence_filter,
    is_calibration_verdict,
)
from mitl_policy.calibration_cap import Candidate, caps_any, over_cap, queued_pools, unspent

CAPPED = Policy(
    version="p",
    target_precision=0.95,
    escalation_floor=0.0,
    min_accept_threshold=0.5,
    calibration_rate=0.01,
    calibration_max_rate=0.5,
    calibration_budget=60,
    calibration_queue_cap=True,
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def candidates(n: int, label: str = "A", confidence: float = 0.9) -> list[Candidate]:
    return [Candidate(f"{label}{i}", "m1", label, confidence) for i in range(n)]


def drawn_at(rows: list[Candidate], rate: float) -> list[int]:
    return [i for i, c in enumerate(rows) if calibration_draw(c.item_id, c.model_version) < rate]


def test_before_anything_is_learned_the_budget_caps_the_draws_smallest_draw_first() -> None:
    rows = candidates(1000)
    flags, counts = over_cap(rows, None, CAPPED)
    drawn = drawn_at(rows, 0.5)
    kept = [i for i in drawn if not flags[i]]
    assert len(drawn) > 400 and len(kept) == 60 and counts == {"": 60}
    # The kept ones are the drawn ones with the smallest draws; nothing undrawn is flagged.
    by_draw = sorted(drawn, key=lambda i: calibration_draw(rows[i].item_id, "m1"))
    assert sorted(kept) == sorted(by_draw[:60])
    assert not any(flags[i] for i in range(1000) if i not in drawn)
    # Reviews already queued count against the budget; a full queue keeps none.
    flags, counts = over_cap(rows, None, CAPPED, {"": 45})
    assert sum(not flags[i] for i in drawn) == 15 and counts == {"": 60}
    flags, _ = over_cap(rows, None, CAPPED, {"": 80})
    assert all(flags[i] for i in drawn)


def test_which_draws_keep_their_review_does_not_depend_on_confidence() -> None:
    rows = candidates(600)
    shuffled = [
        Candidate(c.item_id, c.model_version, c.label, 0.5 + 0.5 * ((i * 7919) % 600) / 600)
        for i, c in enumerate(rows)
    ]
    flags, _ = over_cap(rows, None, CAPPED)
    again, _ = over_cap(shuffled, None, CAPPED)
    assert flags == again
    # Under min_accept_threshold a prediction is never drawn, so never capped either.
    low = [Candidate(c.item_id, "m1", "A", 0.4) for c in rows]
    assert over_cap(low, None, CAPPED)[0] == [False] * 600


def learned(sampled: dict[str, int], policy: Policy, certified: bool = False) -> Thresholds:
    from mitl_policy.calibration import adaptive_rate

    classes = {}
    for label, n in sampled.items():
        entry = ClassThreshold(
            label, 0.9 if certified else None, n, n, n, 0.99 if certified else 0.0, sampled=n
        )
        pooled = sum(sampled.values()) if policy.precision_scope == "dataset" else n
        rate = adaptive_rate(ClassThreshold(label, entry.threshold, n, n, n, entry.lower_bound,
                                            sampled=pooled), policy)  # fmt: skip
        classes[label] = ClassThreshold(
            label, entry.threshold, n, n, n, entry.lower_bound, sampled=n, calibration_rate=rate
        )
    return Thresholds("p", classes, 0.0)


def test_the_pool_is_the_dataset_or_the_class_like_the_budget() -> None:
    rows = candidates(500, "A") + candidates(500, "B")
    state = learned({"A": 20, "B": 10}, CAPPED)
    assert unspent(state, "A", CAPPED) == unspent(state, "B", CAPPED) == 30
    flags, counts = over_cap(rows, state, CAPPED)
    drawn = drawn_at(rows, 0.5)
    assert counts == {"": 30} and sum(not flags[i] for i in drawn) == 30
    per_class = CAPPED.model_copy(update={"precision_scope": "class"})
    state = learned({"A": 20, "B": 10}, per_class)
    assert (unspent(state, "A", per_class), unspent(state, "B", per_class)) == (40, 50)
    flags, counts = over_cap(rows, state, per_class, queued_pools({"A": 5}, per_class))
    assert counts == {"A": 40, "B": 50}
    assert queued_pools({"A": 5, "B": 7}, CAPPED) == {"": 12}


def test_no_cap_at_the_floor_or_when_switched_off() -> None:
    rows = candidates(3000)
    # Certified comfortably within the budget: the floor rate, which the cap leaves alone.
    state = learned({"A": 59}, CAPPED, certified=True)
    assert state.classes["A"].calibration_rate == 0.01 and not caps_any(state, ["A"], CAPPED)
    assert over_cap(rows, state, CAPPED)[0] == [False] * 3000
    off = CAPPED.model_copy(update={"calibration_queue_cap": False})
    assert not Policy(target_precision=0.95).calibration_queue_cap  # off unless asked for
    assert not caps_any(None, ["A"], off) and over_cap(rows, None, off)[0] == [False] * 3000
    fixed = Policy(target_precision=0.95, calibration_rate=0.3, min_accept_threshold=0.5)
    assert not caps_any(None, ["A"], fixed)


def test_a_capped_draw_is_routed_as_if_not_drawn_and_is_not_in_the_sample() -> None:
    drawn = next(i for i in range(100) if calibration_draw(f"x{i}", "m1") < 0.5)
    prediction = Prediction(
        event_id="e", dataset="d", item_id=f"x{drawn}", content=ItemContent(text="t"),
        model_version="m1", labels=["A", "B"], probabilities=[0.97, 0.03],
    )  # fmt: skip
    state = learned({"A": 5}, CAPPED)
    free = core.route(prediction, CAPPED, now=NOW, context=core.RouteContext(thresholds=state))
    assert free.decision.priority >= core.CALIBRATION_PRIORITY
    assert free.decision.thresholds["calibration_rate"] == 0.5
    capped = core.route(
        prediction, CAPPED, now=NOW,
        context=core.RouteContext(thresholds=state, calibration_capped=True),
    )  # fmt: skip
    assert capped.decision.route == "review"
    assert capped.decision.priority < core.CALIBRATION_PRIORITY
    assert capped.decision.thresholds["calibration_rate"] == 0.0
    verdict = Verdict("A", 0.97, True, item_id=f"x{drawn}", model_version="m1",
                      calibration_rate=capped.decision.thresholds["calibration_rate"])  # fmt: skip
    assert not is_calibration_verdict(verdict, CAPPED) and evidence_filter(CAPPED)([verdict]) == []
