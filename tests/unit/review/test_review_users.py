"""The user lifecycle's pure rules: disabled users and expired tokens refused with a reason,
dataset assignments (none ever: every dataset; assigned: only those; admins: all), and how
`mitl users` parses and lists."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from mitl_review.cli import dataset_list, days, status, table
from mitl_review.core.auth import Account, User, active_user, check_dataset
from mitl_review.core.errors import Forbidden, Unauthenticated
from mitl_review.core.submission import Submission, decide
from mitl_review.store.users import Listed

from tests.unit.review.factories import NOW, leased_to

ANN = User("ann", "annotator", "Ann A.")
SCOPED = User("sam", "annotator", datasets=frozenset({"sms"}))
NONE_LEFT = User("nel", "expert", datasets=frozenset())
ROOT = User("root", "admin", datasets=frozenset())


def test_the_display_name_is_separate_from_the_id() -> None:
    assert (ANN.id, ANN.name) == ("ann", "Ann A.")
    assert User("bob", "annotator").name == "bob"  # none given: the id


def test_an_active_account_passes() -> None:
    assert active_user(Account(ANN, None, NOW + timedelta(seconds=1)), NOW) == ANN
    assert active_user(Account(ANN, None, None), NOW) == ANN
    assert active_user(Account(ANN, NOW + timedelta(hours=1), None), NOW) == ANN


def test_a_disabled_user_is_forbidden_with_the_reason() -> None:
    with pytest.raises(Forbidden, match="disabled") as refused:
        active_user(Account(ANN, NOW - timedelta(days=1), None), NOW)
    assert refused.value.status == 403


def test_an_expired_token_is_unauthenticated_with_the_reason() -> None:
    with pytest.raises(Unauthenticated, match="expired") as refused:
        active_user(Account(ANN, None, NOW), NOW)
    assert refused.value.status == 401


@pytest.mark.parametrize(
    ("user", "dataset", "allowed"),
    [
        (ANN, "trec6", True),  # never assigned: every dataset
        (ANN, "sms", True),
        (SCOPED, "sms", True),
        (SCOPED, "trec6", False),
        (NONE_LEFT, "sms", False),  # assigned once, all taken away: none
        (ROOT, "trec6", True),  # admins: all
    ],
)
def test_dataset_assignments(user: User, dataset: str, allowed: bool) -> None:
    assert user.may_use(dataset) is allowed
    if allowed:
        check_dataset(user, dataset)
    else:
        with pytest.raises(Forbidden, match=f"not assigned the dataset '{dataset}'"):
            check_dataset(user, dataset)


def test_a_submission_on_a_dataset_no_longer_assigned_is_refused() -> None:
    task = leased_to("sam")  # leased before the dataset was taken away
    with pytest.raises(Forbidden, match="not assigned"):
        decide(task, SCOPED, Submission(action="confirm"), NOW)
    assert decide(leased_to("ann"), ANN, Submission(action="confirm"), NOW)


def test_cli_arguments() -> None:
    assert days("30") == 30
    for bad in ("0", "x", "99999"):
        with pytest.raises(argparse.ArgumentTypeError):
            days(bad)
    assert dataset_list("sms, trec6,") == ["sms", "trec6"]
    with pytest.raises(argparse.ArgumentTypeError):
        dataset_list(" , ")


def test_the_user_list() -> None:
    rows = [
        Listed(Account(ANN, None, None), NOW, NOW),
        Listed(Account(SCOPED, None, NOW - timedelta(seconds=1)), NOW, NOW),
        Listed(Account(NONE_LEFT, NOW, None), NOW, NOW),
    ]
    assert [status(r, NOW) for r in rows] == ["active", "expired", "disabled"]
    lines = table(rows, NOW).splitlines()
    assert lines[0].split() == ["ID", "NAME", "ROLE", "STATUS", "TOKEN", "EXPIRES", "DATASETS"]
    assert lines[1].split() == ["ann", "Ann", "A.", "annotator", "active", "never", "(all)"]
    assert lines[2].split()[-1] == "sms" and lines[3].split()[-1] == "(none)"
