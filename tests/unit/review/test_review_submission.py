"""Submission rules: what each action does, who may do it, and replays."""

from __future__ import annotations

from typing import Any

import pytest
from mitl_review.core.auth import User
from mitl_review.core.errors import Conflict, Forbidden, Unprocessable
from mitl_review.core.submission import (
    Complete,
    Escalate,
    Replay,
    Skip,
    Submission,
    decide,
)
from mitl_review.core.task import Completion
from pydantic import ValidationError

from tests.unit.review.factories import NOW, leased_to, make_task

ANN = User("ann", "annotator")
BOB = User("bob", "annotator")
EVE = User("eve", "expert")
ROOT = User("root", "admin")


def body(**fields: Any) -> Submission:
    return Submission.model_validate(fields)


def done_by(user: User, action: str, label: str) -> Any:
    return make_task(
        status="done",
        completion=Completion(user.name, user.role, action, label, "label-t1", NOW),
    )


def test_confirm_takes_the_suggestion() -> None:
    outcome = decide(leased_to("ann"), ANN, body(action="confirm"), NOW)
    assert outcome == Complete(label="HUM", source="annotator", label_action="confirm")


def test_correct_takes_a_label_of_the_set() -> None:
    outcome = decide(leased_to("ann"), ANN, body(action="correct", label="LOC"), NOW)
    assert outcome == Complete(label="LOC", source="annotator", label_action="correct")


def test_correct_to_the_suggestion_is_reported_as_a_confirmation() -> None:
    outcome = decide(leased_to("ann"), ANN, body(action="correct", label="HUM"), NOW)
    assert isinstance(outcome, Complete) and outcome.label_action == "confirm"


def test_correct_names_the_bad_label_and_the_allowed_set() -> None:
    with pytest.raises(Unprocessable) as error:
        decide(leased_to("ann"), ANN, body(action="correct", label="PERSON"), NOW)
    assert "'PERSON'" in error.value.message
    assert "['ABBR', 'DESC', 'ENTY', 'HUM', 'LOC', 'NUM']" in error.value.message
    with pytest.raises(Unprocessable, match="'correct' needs a label"):
        decide(leased_to("ann"), ANN, body(action="correct"), NOW)


def test_confirm_with_another_label_is_refused() -> None:
    with pytest.raises(Unprocessable, match="submit 'correct'"):
        decide(leased_to("ann"), ANN, body(action="confirm", label="LOC"), NOW)
    outcome = decide(leased_to("ann"), ANN, body(action="confirm", label="HUM"), NOW)
    assert isinstance(outcome, Complete)


def test_blind_tasks_cannot_be_confirmed() -> None:
    blind = leased_to("ann", hide_suggestion=True)
    with pytest.raises(Unprocessable, match="blind"):
        decide(blind, ANN, body(action="confirm"), NOW)
    assert isinstance(decide(blind, ANN, body(action="correct", label="HUM"), NOW), Complete)


def test_experts_resolve_expert_tasks_and_confirm_or_correct_annotator_tasks() -> None:
    expert_task = leased_to("eve", queue="expert")
    outcome = decide(expert_task, EVE, body(action="correct", label="ENTY"), NOW)
    assert outcome == Complete(label="ENTY", source="expert", label_action="resolve")
    outcome = decide(expert_task, EVE, body(action="confirm"), NOW)
    assert outcome == Complete(label="HUM", source="expert", label_action="resolve")
    outcome = decide(leased_to("eve"), EVE, body(action="correct", label="LOC"), NOW)
    assert outcome == Complete(label="LOC", source="expert", label_action="correct")


def test_escalate_and_skip() -> None:
    assert decide(leased_to("ann"), ANN, body(action="escalate", comment="unsure"), NOW) == (
        Escalate("unsure")
    )
    assert decide(leased_to("ann"), ANN, body(action="skip"), NOW) == Skip()


def test_only_annotators_escalate_and_admins_do_not_label() -> None:
    with pytest.raises(Forbidden, match="only annotators escalate"):
        decide(leased_to("eve", queue="expert"), EVE, body(action="escalate"), NOW)
    with pytest.raises(Forbidden, match="admins"):
        decide(leased_to("root"), ROOT, body(action="confirm"), NOW)


@pytest.mark.parametrize("action", ["confirm", "correct", "escalate", "skip"])
def test_every_action_needs_the_callers_live_lease(action: str) -> None:
    submission = body(action=action, label="LOC" if action == "correct" else None)
    with pytest.raises(Conflict, match="leased by someone else"):
        decide(leased_to("bob"), ANN, submission, NOW)
    with pytest.raises(Conflict, match="expired"):
        decide(leased_to("ann", seconds_left=-5), ANN, submission, NOW)
    with pytest.raises(Conflict, match="claim it first"):
        decide(make_task(), ANN, submission, NOW)


def test_the_same_submission_again_is_a_replay() -> None:
    confirmed = done_by(ANN, "confirm", "HUM")
    assert decide(confirmed, ANN, body(action="confirm"), NOW) == Replay()
    assert decide(confirmed, ANN, body(action="confirm", label="HUM"), NOW) == Replay()
    corrected = done_by(ANN, "correct", "LOC")
    assert decide(corrected, ANN, body(action="correct", label="LOC"), NOW) == Replay()
    escalated = make_task(queue="expert", escalated_by="ann")
    assert decide(escalated, ANN, body(action="escalate"), NOW) == Replay()
    skipped = make_task(skipped_by=("ann",))
    assert decide(skipped, ANN, body(action="skip"), NOW) == Replay()


def test_a_different_submission_on_a_done_task_conflicts() -> None:
    corrected = done_by(ANN, "correct", "LOC")
    with pytest.raises(Conflict, match="you already completed"):
        decide(corrected, ANN, body(action="correct", label="NUM"), NOW)
    with pytest.raises(Conflict, match="you already completed"):
        decide(corrected, ANN, body(action="confirm"), NOW)
    with pytest.raises(Conflict, match="already completed by someone else"):
        decide(corrected, BOB, body(action="correct", label="LOC"), NOW)


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "approve"},
        {},
        {"action": "confirm", "time_spent_ms": -1},
        {"action": "confirm", "extra": 1},
        {"action": "correct", "label": ""},
        {"action": "confirm", "revision": 0},
    ],
)
def test_malformed_bodies_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Submission.model_validate(fields)


def test_a_submission_on_an_older_revision_conflicts() -> None:
    updated = leased_to("ann", revision=3)
    with pytest.raises(Conflict, match=r"changed after you saw it \(revision 2, now 3\)"):
        decide(updated, ANN, body(action="confirm", revision=2), NOW)
    assert isinstance(decide(updated, ANN, body(action="confirm", revision=3), NOW), Complete)
    # Without a revision the task is labeled as it stands.
    assert isinstance(decide(updated, ANN, body(action="confirm"), NOW), Complete)
    # A lease problem is reported before a revision problem.
    with pytest.raises(Conflict, match="leased by someone else"):
        decide(leased_to("bob", revision=3), ANN, body(action="confirm", revision=2), NOW)


def test_gold_tasks_take_any_label_of_the_set_and_cannot_be_confirmed() -> None:
    gold = leased_to(
        "ann", kind="gold", gold_id="g", assignee="ann", hide_suggestion=True, suggested_label=""
    )
    with pytest.raises(Unprocessable, match="blind"):
        decide(gold, ANN, body(action="confirm"), NOW)
    outcome = decide(gold, ANN, body(action="correct", label="HUM"), NOW)
    assert outcome == Complete(label="HUM", source="annotator", label_action="correct")
