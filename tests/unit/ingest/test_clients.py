"""Ingest's clients, pure: the key's shape, the dataset scope, the body limit and the token
bucket (with a clock the test turns)."""

from __future__ import annotations

import pytest
from mitl_ingest.clients import (
    ALL_DATASETS,
    Client,
    RateLimiter,
    check_shape,
    new_key,
    scope,
)
from mitl_runtime.auth.errors import Forbidden, RateLimited, TooLarge, Unauthenticated


def client(**overrides: object) -> Client:
    base: dict[str, object] = {
        "client_id": "crm",
        "datasets": ("trec6",),
        "rate_per_s": 2.0,
        "burst": 3,
        "max_body_bytes": 2048,
    }
    return Client(**(base | overrides))  # type: ignore[arg-type]


def test_keys_have_a_shape_that_other_tokens_do_not() -> None:
    key = new_key()
    check_shape(key)
    for bad in ("", key[:-1], key + "x", "adm-token", "eyJh.eyJi.sig", key.replace("mitlk_", "")):
        with pytest.raises(Unauthenticated, match="malformed client key"):
            check_shape(bad)


def test_scope() -> None:
    assert scope(["sms", "trec6", "sms"], False) == ("sms", "trec6")
    assert scope([], True) == (ALL_DATASETS,)
    for datasets, everything, why in (
        ([], False, "needs a scope"),
        (["a"], True, "not both"),
        (["bad name"], False, "not a dataset name"),
    ):
        with pytest.raises(ValueError, match=why):
            scope(datasets, everything)


def test_dataset_scope_and_body_limit() -> None:
    scoped = client()
    scoped.check_dataset("trec6")
    with pytest.raises(
        Forbidden, match="may not write to dataset 'sms'; its key is scoped to trec6"
    ):
        scoped.check_dataset("sms")
    client(datasets=(ALL_DATASETS,)).check_dataset("anything")
    scoped.check_body(2048)
    with pytest.raises(TooLarge, match="2049 bytes; client 'crm' may send at most 2048"):
        scoped.check_body(2049)


def test_token_bucket() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    crm, other = client(), client(client_id="other")
    for _ in range(3):  # the burst
        limiter.take(crm)
    with pytest.raises(RateLimited) as limited:
        limiter.take(crm)
    assert limited.value.retry_after_s == pytest.approx(0.5)
    assert "over its rate limit of 2 requests a second (burst 3)" in limited.value.message
    limiter.take(other)  # buckets are per client
    now[0] += 0.5
    limiter.take(crm)  # one request refilled
    with pytest.raises(RateLimited):
        limiter.take(crm)
    now[0] += 60  # never more than the burst
    for _ in range(3):
        limiter.take(crm)
    with pytest.raises(RateLimited):
        limiter.take(crm)
