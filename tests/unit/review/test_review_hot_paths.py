"""The claim/submit fast layer answers only what it reads exactly as FastAPI would, and hands
everything else on to FastAPI untouched (the body included)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException
from mitl_review import hot_paths
from mitl_review.core.auth import User, hash_token
from mitl_review.token_cache import TokenCache

ANN = User("ann", "annotator")


class Ctx:
    def __init__(self) -> None:
        self.tokens = TokenCache(30)
        self.tokens.put(hash_token("tok"), ANN, self.tokens.generation)


def layer() -> hot_paths.HotPaths:
    return hot_paths.HotPaths(app=None, context=Ctx(), fastapi_app=None)  # type: ignore[arg-type]


def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}


def test_only_a_cached_bearer_token_is_taken() -> None:
    hot = layer()
    assert hot.user(scope((b"authorization", b"Bearer tok"))) == ANN
    assert hot.user(scope((b"authorization", b"bearer  tok "))) == ANN
    assert hot.user(scope((b"authorization", b"Bearer other"))) is None
    assert hot.user(scope((b"authorization", b"Basic tok"))) is None
    assert hot.user(scope((b"authorization", b"Bearer "))) is None
    assert hot.user(scope()) is None


def test_paths_match_exactly() -> None:
    claim = hot_paths.CLAIM.fullmatch("/v1/queues/trec6/annotator/claim")
    assert claim is not None and claim.groups() == ("trec6", "annotator")
    assert hot_paths.CLAIM.fullmatch("/v1/queues/trec6/boss/claim") is None
    assert hot_paths.CLAIM.fullmatch("/v1/queues/trec6/annotator/claim/") is None
    submit = hot_paths.SUBMIT.fullmatch("/v1/tasks/t-1/submit")
    assert submit is not None and submit[1] == "t-1"
    assert hot_paths.SUBMIT.fullmatch("/v1/tasks/a/b/submit") is None


def test_a_body_fastapi_would_refuse_is_left_to_fastapi() -> None:
    ok = hot_paths.parse_submission(b'{"action": "correct", "label": "HUM", "revision": 2}')
    assert ok is not None and ok.label == "HUM" and ok.revision == 2
    assert hot_paths.parse_submission(b'{"action": "shout"}') is None
    assert hot_paths.parse_submission(b'{"action": "skip", "extra": 1}') is None
    assert hot_paths.parse_submission(b"[1, 2]") is None
    assert hot_paths.parse_submission(b"{not json") is None
    assert hot_paths.parse_submission(b"\xff") is None
    assert hot_paths.parse_submission(b"[" * 100_000) is None


def test_headers_are_read_as_fastapi_reads_them() -> None:
    assert hot_paths.json_content(scope((b"content-type", b"application/json")))
    assert hot_paths.json_content(scope((b"content-type", b"Application/JSON; charset=utf-8")))
    assert not hot_paths.json_content(scope((b"content-type", b"text/plain")))
    assert not hot_paths.json_content(scope())
    assert hot_paths.content_length(scope((b"content-length", b"42"))) == 42
    assert hot_paths.content_length(scope((b"content-length", b"x"))) is None
    assert hot_paths.content_length(scope()) is None


def test_a_body_read_is_handed_on_as_it_came() -> None:
    async def run() -> list[dict[str, Any]]:
        incoming = [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"c", "more_body": False},
            {"type": "http.disconnect"},
        ]

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        messages, body = await hot_paths.read_body(receive)
        assert body == b"abc"
        replayed = hot_paths.replay(messages, receive)
        return [await replayed() for _ in range(3)]

    got = asyncio.run(run())
    assert [m.get("body") for m in got] == [b"ab", b"c", None]
    assert got[2]["type"] == "http.disconnect"


def test_a_token_the_cache_forgot_is_looked_up_as_the_routes_do_and_a_refusal_left_to_fastapi(
    monkeypatch: Any,
) -> None:
    looked_up: list[str] = []

    async def current_user(ctx: Any, credentials: Any) -> User:
        looked_up.append(credentials.credentials)
        if credentials.credentials == "revoked":
            raise HTTPException(401, "unknown or revoked token")
        return User("bob", "annotator")

    monkeypatch.setattr(hot_paths, "current_user", current_user)
    hot = layer()

    async def caller(*headers: tuple[bytes, bytes]) -> User | None:
        return await hot.caller(scope(*headers))

    assert asyncio.run(caller((b"authorization", b"Bearer tok"))) == ANN  # cached: no lookup
    assert asyncio.run(caller((b"authorization", b"Bearer other "))) == User("bob", "annotator")
    assert asyncio.run(caller((b"authorization", b"Bearer revoked"))) is None
    assert asyncio.run(caller((b"authorization", b"Basic other"))) is None
    assert asyncio.run(caller()) is None
    assert looked_up == ["other", "revoked"]
