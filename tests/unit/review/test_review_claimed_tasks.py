"""Claimed tasks: a task handed out is given back once, to its holder, with the database's
clock as last read and the dataset's guideline version; nothing until a read reported them."""

from __future__ import annotations

from datetime import timedelta

from mitl_review import claimed_tasks
from mitl_review.claimed_tasks import ClaimedTasks

from tests.unit.review.factories import NOW, leased_to

ZERO = timedelta(0)


class Wall:
    def __init__(self) -> None:
        self.now = (NOW - timedelta(seconds=3)).timestamp()  # this host is 3 s behind the db

    def __call__(self) -> float:
        return self.now


def test_nothing_is_taken_before_a_read_reported_the_clock_and_the_guidelines() -> None:
    claimed = ClaimedTasks(Wall())
    claimed.remember(leased_to("ann"))
    assert claimed.take("t1", "ann", ZERO) is None
    # taken out all the same: a second submission of it reads it too
    assert "t1" not in claimed.tasks


def test_a_claimed_task_is_taken_once_by_its_holder_at_the_database_s_time() -> None:
    wall = Wall()
    claimed = ClaimedTasks(wall)
    claimed.observe("trec6", NOW, 4, ZERO)
    task = leased_to("ann")
    claimed.remember(task)
    assert claimed.take("t1", "bob", ZERO) is None  # not bob's: left for its holder
    wall.now += 1.5
    assert claimed.take("t1", "ann", ZERO) == (task, NOW + timedelta(seconds=1.5), 4)
    assert claimed.take("t1", "ann", ZERO) is None


def test_the_clock_is_known_per_lease_clock_offset_and_guidelines_per_dataset() -> None:
    claimed = ClaimedTasks(Wall())
    claimed.observe("trec6", NOW, None, ZERO)
    claimed.remember(leased_to("ann"))
    assert claimed.take("t1", "ann", timedelta(hours=1)) is None  # a test moved the clock
    claimed.remember(leased_to("ann", dataset="sms"))
    assert claimed.take("t1", "ann", ZERO) is None  # sms's guidelines not seen yet
    claimed.remember(leased_to("ann"))
    taken = claimed.take("t1", "ann", ZERO)
    assert taken is not None and taken[2] is None  # trec6 has no guidelines


def test_the_memory_is_bounded() -> None:
    claimed = ClaimedTasks(Wall())
    for i in range(claimed_tasks.MAX_ENTRIES):
        claimed.remember(leased_to("ann", task_id=f"t{i}"))
    claimed.remember(leased_to("ann", task_id="one-more"))
    assert list(claimed.tasks) == ["one-more"]
