"""Key and role changes in audit's chain, against the real broker and Postgres: an ingest
client key rotated with `mitl clients rotate`, a review user disabled with `mitl users
disable` and enabled again by an admin over HTTP travel from each service's outbox over
mitl.access.v1 into audit's hash chain, with who did it (`cli:<os user>`, `user:<admin id>`)
and without the key or the token; an auditor lists them at GET /v1/access, and the chain
verifies."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_audit.app import create_app as create_audit
from mitl_audit.cli import walk_chain
from mitl_audit.settings import Settings as AuditSettings
from mitl_cli.main import main as mitl
from mitl_ingest.app import create_app as create_ingest
from mitl_ingest.settings import Settings as IngestSettings
from mitl_review.app import create_app as create_review
from mitl_review.settings import Settings as ReviewSettings
from mitl_runtime.auth import actor

from tests.support import AUDITOR, eventually, ingest_key, running_app

pytestmark = pytest.mark.integration


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = mitl(list(args))
    out, _ = capsys.readouterr()
    return code, out.strip()


async def test_a_rotated_key_and_a_disabled_user_are_in_the_verified_chain(
    service_env: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tag = uuid.uuid4().hex[:6]
    url = str(service_env["database_url"])
    monkeypatch.setenv("MITL_DATABASE_URL", url)
    monkeypatch.setenv("MITL_DATASETS_FILE", str(service_env["datasets_file"]))
    client_id, old_key = await ingest_key(url)
    user = f"chain-{tag}"
    fast = {"outbox_interval_seconds": 0.2}
    audit = create_audit(AuditSettings(**service_env))
    ingest = create_ingest(IngestSettings(**service_env, **fast))
    review = create_review(ReviewSettings(**service_env, maintenance_interval_seconds=0.2))
    async with (
        running_app(audit, AUDITOR) as auditor,
        running_app(ingest),
        running_app(review) as reviewer,
    ):
        code, token = await asyncio.to_thread(
            cli, capsys, "users", "create", "--name", user, "--role", "annotator"
        )
        assert code == 0 and token
        code, new_key = await asyncio.to_thread(cli, capsys, "clients", "rotate", client_id)
        assert code == 0 and new_key.startswith("mitlk_")
        code, admin_token = await asyncio.to_thread(
            cli, capsys, "users", "create", "--name", f"boss-{tag}", "--role", "admin"
        )
        assert code == 0
        code, _ = await asyncio.to_thread(cli, capsys, "users", "disable", user)
        assert code == 0
        enabled = await reviewer.post(
            f"/v1/users/{user}/enable", headers={"Authorization": f"Bearer {admin_token}"}
        )
        assert enabled.status_code == 200, enabled.text

        async def listed() -> dict[str, dict[str, Any]] | None:
            answer = await auditor.get("/v1/access", params={"limit": 1000})
            assert answer.status_code == 200, answer.text
            rows = {
                f"{r['action']} {r['subject']}": r
                for r in answer.json()["rows"]
                if r["subject"] in (client_id, user)
            }
            wanted = {
                f"client.create {client_id}",
                f"client.rotate {client_id}",
                f"user.create {user}",
                f"user.disable {user}",
                f"user.enable {user}",
            }
            return rows if wanted <= set(rows) else None

        rows = await eventually(listed, timeout=60)
        # Filters: a family of actions, one subject.
        only = await auditor.get("/v1/access", params={"action": "client", "subject": client_id})
        assert [r["action"] for r in only.json()["rows"]] == ["client.rotate", "client.create"]
        assert (await auditor.get("/v1/access")).status_code == 200
        assert (await auditor.get("/v1/access", headers={"Authorization": ""})).status_code == 401
        bad = await auditor.get("/v1/access", params={"action": "x\x00y"})
        assert bad.status_code == 422

    me = actor.local()
    rotate, disable = rows[f"client.rotate {client_id}"], rows[f"user.disable {user}"]
    assert rotate["actor"] == me and rotate["service"] == "ingest"
    assert disable["actor"] == me and disable["service"] == "review-api"
    assert rows[f"user.enable {user}"]["actor"] == f"user:boss-{tag}"
    assert rows[f"user.create {user}"]["changes"]["role"] == "annotator"
    text = json.dumps(rows)
    for secret in (old_key, new_key, token):
        assert secret not in text
    assert "sha256" not in text

    verdict = await walk_chain(url)
    assert verdict.broken is None
    assert verdict.rows >= max(rotate["seq"], disable["seq"])
