"""Who may claim which queue, tokens, and the lease rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitl_review.core.auth import (
    User,
    check_admin,
    check_can_claim,
    hash_token,
    new_token,
)
from mitl_review.core.errors import Conflict, Forbidden
from mitl_review.core.leases import lease_expiry, lease_state, require_lease

from tests.unit.review.factories import NOW, leased_to, make_task


@pytest.mark.parametrize(
    ("role", "queue", "allowed"),
    [
        ("annotator", "annotator", True),
        ("annotator", "expert", False),
        ("expert", "expert", True),
        ("expert", "annotator", True),
        ("admin", "annotator", False),
        ("admin", "expert", False),
    ],
)
def test_roles_claim_only_their_queues(role: str, queue: str, allowed: bool) -> None:
    user = User("u", role)
    if allowed:
        check_can_claim(user, queue)
    else:
        with pytest.raises(Forbidden, match=queue if role != "admin" else "admins"):
            check_can_claim(user, queue)


def test_only_admins_pass_the_admin_check() -> None:
    check_admin(User("root", "admin"))
    with pytest.raises(Forbidden, match="only an admin"):
        check_admin(User("ann", "annotator"))


def test_tokens_are_long_random_and_stored_as_sha256() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 43
    assert hash_token(a) == hash_token(a) != hash_token(b)
    assert len(hash_token(a)) == 64 and a not in hash_token(a)


def test_lease_states() -> None:
    assert lease_state(make_task(), "ann", NOW) == "free"
    assert lease_state(leased_to("ann"), "ann", NOW) == "mine"
    assert lease_state(leased_to("bob"), "ann", NOW) == "theirs"
    assert lease_state(leased_to("ann", seconds_left=-1), "ann", NOW) == "expired_mine"
    # A lapsed lease of someone else is no lease at all: the task is back in its queue.
    assert lease_state(leased_to("bob", seconds_left=-1), "ann", NOW) == "free"
    # Expiry is exclusive: at the instant it expires, the lease no longer holds.
    assert lease_state(leased_to("ann", seconds_left=0), "ann", NOW) == "expired_mine"


def test_require_lease_explains_each_conflict() -> None:
    require_lease(leased_to("ann"), "ann", NOW)
    with pytest.raises(Conflict, match="leased by someone else"):
        require_lease(leased_to("bob"), "ann", NOW)
    with pytest.raises(Conflict, match="expired at 2024-05-01T11:59:59Z"):
        require_lease(leased_to("ann", seconds_left=-1), "ann", NOW)
    with pytest.raises(Conflict, match="claim it first"):
        require_lease(make_task(), "ann", NOW)


@given(st.floats(min_value=0.001, max_value=86_400), st.floats(min_value=0, max_value=86_400))
def test_a_lease_holds_exactly_until_its_expiry(lease_seconds: float, elapsed: float) -> None:
    expires = lease_expiry(NOW, lease_seconds)
    task = make_task(lease_holder="ann", lease_expires_at=expires)
    later = NOW + timedelta(seconds=elapsed)
    expected = "mine" if later < expires else "expired_mine"
    assert lease_state(task, "ann", later) == expected
