"""Single sign-on's pure part: which review user a JWT person is, and with which role."""

from __future__ import annotations

import re

import pytest
from mitl_contracts.events import NAME_CHARACTERS
from mitl_review.core import sso
from mitl_review.core.errors import Forbidden


def test_the_user_id_is_stable_per_issuer_and_subject_and_a_name() -> None:
    one = sso.user_id("https://idp.example/a", "auth0|42")
    assert one == sso.user_id("https://idp.example/a", "auth0|42")
    assert one != sso.user_id("https://idp.example/b", "auth0|42")
    assert one != sso.user_id("https://idp.example/a", "auth0|43")
    # Whatever the subject holds, the id is a name (letters, digits, `_.:-`).
    assert one.startswith("sso:") and re.fullmatch(rf"[{NAME_CHARACTERS}]+", one)


@pytest.mark.parametrize(
    ("roles", "role"),
    [
        (["annotator"], "annotator"),
        (["expert", "annotator"], "expert"),
        (["auditor", "admin", "expert"], "admin"),
    ],
)
def test_the_review_role_is_the_highest_held(roles: list[str], role: str) -> None:
    assert sso.review_role(roles) == role


def test_a_person_without_a_review_role_is_refused_saying_so() -> None:
    with pytest.raises(Forbidden, match=r"no review role.*auditor"):
        sso.review_role(["auditor"])
    with pytest.raises(Forbidden, match="no role"):
        sso.review_role([])
