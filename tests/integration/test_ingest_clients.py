"""Ingest's client keys against the real broker and Postgres, made and managed with
`mitl clients`: 401 without a key (or a malformed, unknown, rotated or revoked one), 403 for a
dataset outside the key's scope, 413 over its body limit, 429 over its rate limit, each with
its reason; the client's id on every ingested item, in the event and in ingest's table."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest
from mitl_cli.main import main as mitl
from mitl_contracts import topics
from mitl_contracts.events import ItemIngested
from mitl_ingest.app import create_app
from mitl_ingest.settings import Settings

from tests.support import ADMIN_TOKEN, TopicReader, running_app

pytestmark = pytest.mark.integration


async def clients(
    database_url: str, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    """`mitl clients ARGV` as an operator runs it (in a thread: it runs its own event loop)."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MITL_DATABASE_URL", database_url)
        code = await asyncio.to_thread(mitl, ["clients", *argv])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_client_keys_scope_limits_rotation_and_revocation(
    service_env: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    url = service_env["database_url"]
    run = uuid.uuid4().hex[:8]
    crm, other = f"crm-{run}", f"other-{run}"
    limits = ["--rate", "0.01", "--burst", "2", "--max-body-bytes", "4096"]
    code, key, said = await clients(
        url, capsys, "create", "--name", crm, "--dataset", "trec6", *limits
    )
    assert code == 0 and key.startswith("mitlk_") and "shown only once" in said
    assert (await clients(url, capsys, "create", "--name", crm, "--all-datasets"))[0] == 1
    assert "needs a scope" in (await clients(url, capsys, "create", "--name", "x"))[2]
    code, other_key, _ = await clients(url, capsys, "create", "--name", other, "--dataset", "sms")
    assert code == 0

    item = {"external_id": f"{run}-1", "text": "Who wrote Hamlet ?"}
    body = {"dataset": "trec6", "items": [item]}
    app = create_app(Settings(**service_env))
    async with running_app(app) as client:
        none = await client.post("/v1/items", json=body)
        assert none.status_code == 401 and "missing credentials" in none.json()["detail"]
        assert none.headers["www-authenticate"].startswith("Bearer")
        for wrong, why in (
            (ADMIN_TOKEN, "malformed client key"),  # a token for another service
            (key[:-2], "malformed client key"),
            ("mitlk_" + "A" * 43, "not valid"),
        ):
            answer = await client.post("/v1/items", json=body, headers=bearer(wrong))
            assert answer.status_code == 401 and why in answer.json()["detail"], wrong
        basic = await client.post("/v1/items", json=body, headers={"Authorization": f"Basic {key}"})
        assert basic.status_code == 401 and "malformed credentials" in basic.text

        scoped = await client.post("/v1/items", json=body, headers=bearer(other_key))
        assert scoped.status_code == 403
        assert scoped.json()["detail"] == (
            f"client '{other}' may not write to dataset 'trec6'; its key is scoped to sms"
        )

        accepted = await client.post("/v1/items", json=body, headers=bearer(key))
        assert accepted.status_code == 200 and accepted.json()["accepted"] == 1
        big = {"dataset": "trec6", "items": [{"external_id": run, "text": "x" * 5000}]}
        too_big = await client.post("/v1/items", json=big, headers=bearer(key))
        assert too_big.status_code == 413 and "may send at most 4096" in too_big.text
        # The burst of 2 is spent (the accepted request and the 413): the next waits.
        limited = await client.post("/v1/items", json=body, headers=bearer(key))
        assert limited.status_code == 429 and "over its rate limit" in limited.text
        assert int(limited.headers["retry-after"]) >= 1

        code, new_key, said = await clients(url, capsys, "rotate", crm)
        assert code == 0 and new_key != key and "no longer works" in said
        rotated = await client.post("/v1/items", json=body, headers=bearer(key))
        assert rotated.status_code == 401 and "unknown, revoked or rotated" in rotated.text

        code, listed, _ = await clients(url, capsys, "list", "--json")
        mine = {row["client_id"]: row for row in json.loads(listed)}[crm]
        assert mine["datasets"] == ["trec6"] and mine["rotated_at"] and not mine["revoked_at"]
        assert key not in listed and new_key not in listed

        assert (await clients(url, capsys, "revoke", crm))[:2] == (0, f"revoked client {crm!r}")
        revoked = await client.post("/v1/items", json=body, headers=bearer(new_key))
        assert revoked.status_code == 401
        assert (await clients(url, capsys, "rotate", crm))[0] == 1  # a revoked client stays revoked
        assert "already" in (await clients(url, capsys, "revoke", crm))[1]
        assert (await clients(url, capsys, "revoke", f"nobody-{run}"))[0] == 1
        metrics = (await client.get("/metrics")).text
        for status in (401, 403, 413, 429):
            assert f'mitl_ingest_refused_total{{status="{status}"}}' in metrics

    item_id = accepted.json()["items"][0]["item_id"]
    async with TopicReader(service_env["kafka_bootstrap_servers"], topics.ITEMS_INGESTED) as r:
        await r.wait_for(lambda _: len(r.events(ItemIngested, item_id=item_id)) >= 1)
        assert [e.client_id for e in r.events(ItemIngested, item_id=item_id)] == [crm]
    conn = await asyncpg.connect(url)
    try:
        stored = await conn.fetchval(
            "SELECT client_id FROM ingest.items WHERE item_id = $1", item_id
        )
    finally:
        await conn.close()
    assert stored == crm


async def test_auth_off_takes_anyone_and_records_no_client(
    service_env: dict, caplog: pytest.LogCaptureFixture
) -> None:
    run = uuid.uuid4().hex[:8]
    body = {"dataset": "trec6", "items": [{"external_id": run, "text": "Who is it ?"}]}
    app = create_app(Settings(**(service_env | {"ingest_auth": "off"})))
    async with running_app(app) as client:
        answer = await client.post("/v1/items", json=body)
        assert answer.status_code == 200 and answer.json()["accepted"] == 1
    assert "INGEST AUTHENTICATION IS OFF" in caplog.text
