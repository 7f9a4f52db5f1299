"""Review users over their lifetime, against the real broker and Postgres: `mitl users`
creates, lists, rotates, disables, enables, assigns and unassigns; the running API (its token
cache warm, its claim path the fast one) follows each change at once. Also: migration 010
keeps the users made before it working."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from mitl_cli.main import main as mitl
from mitl_review.app import create_app
from mitl_review.core.auth import hash_token
from mitl_review.settings import Settings
from mitl_review.store import users
from mitl_runtime.db import create_pool, migration_files

from tests import access_matrix as matrix
from tests.integration.test_review import publish_requests, review_request, write_datasets
from tests.support import eventually, running_app

pytestmark = pytest.mark.integration


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def settings(
    service_env: dict[str, Any], tmp_path: Path, tag: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Two datasets of this test's own; the `mitl users` commands see the same database and
    catalog."""
    path = write_datasets(tmp_path / "datasets.yaml", [f"ua-{tag}", f"ub-{tag}"])
    monkeypatch.setenv("MITL_DATABASE_URL", str(service_env["database_url"]))
    monkeypatch.setenv("MITL_DATASETS_FILE", str(path))
    return Settings(**{**service_env, "datasets_file": path})


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = mitl(["users", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_lifecycle_of_an_assigned_annotator(
    settings: Settings, tag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ds_a, ds_b = f"ua-{tag}", f"ub-{tag}"
    ann, free, root = f"ann-{tag}", f"free-{tag}", f"root-{tag}"
    run = asyncio.to_thread

    code, token, err = await run(
        cli, capsys, "create", "--name", ann, "--role", "annotator", "--datasets", ds_a,
        "--display-name", "Ann Example",
    )  # fmt: skip
    assert code == 0 and "shown only once" in err
    code, free_token, _ = await run(cli, capsys, "create", "--name", free, "--role", "annotator")
    assert code == 0
    code, root_token, _ = await run(cli, capsys, "create", "--name", root, "--role", "admin")
    assert code == 0
    code, _, err = await run(cli, capsys, "create", "--name", f"x-{tag}", "--role", "expert",
                             "--datasets", "nope")  # fmt: skip
    assert code == 2 and "unknown dataset(s) nope" in err

    app = create_app(settings)
    async with running_app(app) as client:
        await publish_requests(
            settings.kafka_bootstrap_servers,
            [review_request(ds_a, 1), review_request(ds_a, 2), review_request(ds_b, 1)],
        )

        async def datasets(headers: dict[str, str]) -> list[str]:
            answer = await client.get("/v1/datasets", headers=headers)
            assert answer.status_code == 200, answer.text
            return [d["name"] for d in answer.json()["datasets"]]

        async def queues(headers: dict[str, str]) -> set[str]:
            answer = await client.get("/v1/queues", headers=headers)
            return {q["dataset"] for q in answer.json()["queues"]}

        async def claim(headers: dict[str, str], dataset: str) -> Any:
            return await client.post(f"/v1/queues/{dataset}/annotator/claim", headers=headers)

        # Assigned: only ds_a. Never assigned: every dataset. Admin: every dataset.
        assert await datasets(bearer(token)) == [ds_a]
        assert await queues(bearer(token)) == {ds_a}
        assert {ds_a, ds_b, "trec6"} <= set(await datasets(bearer(free_token)))
        assert {ds_a, ds_b} <= await queues(bearer(root_token))
        me = (await client.get("/v1/me", headers=bearer(token))).json()
        assert (me["id"], me["name"], me["datasets"]) == (ann, "Ann Example", [ds_a])

        refused = await claim(bearer(token), ds_b)
        assert refused.status_code == 403 and "not assigned" in refused.json()["detail"]
        guidelines = await client.get(f"/v1/datasets/{ds_b}/guidelines", headers=bearer(token))
        assert guidelines.status_code == 403

        async def claimed() -> Any:
            answer = await claim(bearer(token), ds_a)
            return answer.json() if answer.status_code == 200 else None

        task = await eventually(claimed)
        assert task["dataset"] == ds_a
        done = await client.post(
            f"/v1/tasks/{task['task_id']}/submit", json={"action": "confirm"}, headers=bearer(token)
        )
        assert done.status_code == 200 and done.json()["status"] == "done"

        # Rotation: the old token (cached) stops working at once, the new one works. "At once"
        # is the database's notification reaching the app (milliseconds), not the cache's 30 s.
        cache = app.state.review.tokens
        assert cache.get(hash_token(token)) is not None and settings.auth_cache_seconds >= 30
        generation = cache.generation
        code, new_token, err = await run(cli, capsys, "rotate-token", ann)
        assert code == 0 and new_token and new_token != token and "shown only once" in err
        await eventually(lambda: cache.generation > generation, timeout=2)
        answer = await claim(bearer(token), ds_a)
        assert answer.status_code == 401, answer.text
        assert (await claim(bearer(new_token), ds_a)).status_code in (200, 204)
        await claim(bearer(new_token), ds_a)  # now served from the cache (the fast path)

        # Disabled: refused with the reason, on the fast path too; what they labeled stays.
        generation = cache.generation
        code, _, err = await run(cli, capsys, "disable", ann)
        assert code == 0 and "disabled" in err
        await eventually(lambda: cache.generation > generation, timeout=2)
        answer = await claim(bearer(new_token), ds_a)
        assert answer.status_code == 403 and "disabled" in answer.json()["detail"]
        answer = await client.post(
            f"/v1/tasks/{task['task_id']}/submit", json={"action": "skip"},
            headers=bearer(new_token),
        )  # fmt: skip
        assert answer.status_code == 403 and "disabled" in answer.json()["detail"]
        pool = app.state.review.pool
        stays = await pool.fetchval(
            "SELECT count(*) FROM review.tasks WHERE completed_by = $1 AND status = 'done'", ann
        )
        assert stays == 1
        code, listing, _ = await run(cli, capsys, "list")
        [row] = [line.split() for line in listing.splitlines() if line.startswith(ann + " ")]
        assert row == [ann, "Ann", "Example", "annotator", "disabled", "never", ds_a]

        code, _, _ = await run(cli, capsys, "enable", ann)
        assert code == 0 and (await claim(bearer(new_token), ds_a)).status_code in (200, 204)

        # Assign and unassign, followed at once by the cached user.
        generation = cache.generation
        assert (await run(cli, capsys, "assign", ann, ds_b))[0] == 0
        await eventually(lambda: cache.generation > generation, timeout=2)
        assert await datasets(bearer(new_token)) == [ds_a, ds_b]
        assert (await claim(bearer(new_token), ds_b)).status_code in (200, 204)
        generation = cache.generation
        assert (await run(cli, capsys, "unassign", ann, ds_a, ds_b))[0] == 0
        await eventually(lambda: cache.generation > generation, timeout=2)
        assert await datasets(bearer(new_token)) == []
        assert (await claim(bearer(new_token), ds_a)).status_code == 403

        code, _, err = await run(cli, capsys, "unassign", free, ds_a)
        assert code == 1 and "never assigned" in err
        code, _, err = await run(cli, capsys, "disable", f"nobody-{tag}")
        assert code == 1 and "no user" in err


async def test_an_expiring_token(settings: Settings, tag: str) -> None:
    app = create_app(settings)
    async with running_app(app) as client:
        pool = app.state.review.pool
        token = await users.create(pool, f"exp-{tag}", "annotator")
        # Expires in 1.5 s; the first request caches the user, never past that.
        await pool.execute(
            "UPDATE review.users SET token_expires_at = now() + interval '1.5 seconds' "
            "WHERE user_id = $1",
            f"exp-{tag}",
        )
        dataset = f"ua-{tag}"
        claim = f"/v1/queues/{dataset}/annotator/claim"
        assert (await client.post(claim, headers=bearer(token))).status_code in (200, 204)
        assert (await client.post(claim, headers=bearer(token))).status_code in (200, 204)
        await asyncio.sleep(1.6)
        expired = await client.post(claim, headers=bearer(token))
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
        me = await client.get("/v1/me", headers=bearer(token))
        assert me.status_code == 401

        # Over HTTP, by an admin: assigned datasets and an expiry; an unknown dataset is 422.
        admin = bearer(await users.create(pool, f"adm-{tag}", "admin"))
        body = {"name": f"web-{tag}", "role": "expert", "display_name": "Web E.",
                "datasets": [f"ub-{tag}"], "expires_in_days": 7}  # fmt: skip
        made = await client.post("/v1/users", json=body, headers=admin)
        assert made.status_code == 201 and made.json()["token_expires_at"] is not None
        me = (await client.get("/v1/me", headers=bearer(made.json()["token"]))).json()
        assert (me["id"], me["name"], me["datasets"]) == (f"web-{tag}", "Web E.", [f"ub-{tag}"])
        body = {"name": f"web2-{tag}", "role": "expert", "datasets": ["nope"]}
        refused = await client.post("/v1/users", json=body, headers=admin)
        assert refused.status_code == 422 and "nope" in refused.json()["detail"]


async def test_migration_010_keeps_existing_users_working(settings: Settings, tag: str) -> None:
    """Users made before 010 keep their name as their id and display name, every dataset,
    no expiry: applied to a schema of this test's own, with a user made in between."""
    schema = f"review_m{tag}"
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute(f"CREATE SCHEMA {schema}")
            try:
                await conn.execute(f"SET search_path TO {schema}, public")
                for name, sql in migration_files("mitl_review"):
                    if name.startswith("010"):
                        await conn.execute(
                            "INSERT INTO users (name, role, token_sha256) "
                            "VALUES ('old-timer', 'expert', 'h1')"
                        )
                    await conn.execute(sql)
                row = await conn.fetchrow("SELECT * FROM users")
                assert (row["user_id"], row["display_name"], row["role"]) == (
                    "old-timer", "old-timer", "expert",
                )  # fmt: skip
                assert row["disabled_at"] is None and row["token_expires_at"] is None
                assert row["scoped"] is False
            finally:
                await conn.execute("RESET search_path")
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await pool.close()


async def test_every_user_route_refuses_disabled_expired_and_rotated_tokens(
    settings: Settings, tag: str
) -> None:
    """From the authorization matrix's route table: every route that takes a review user's
    token answers a disabled user 403, an expired token 401 and a rotated-away token 401,
    each with its reason; the same user, active, is let through (admin routes refuse an
    annotator by role)."""
    app = create_app(settings)
    async with running_app(app) as client:
        pool = app.state.review.pool
        tokens = {kind: await users.create(pool, f"{kind}-{tag}", "annotator")
                  for kind in ("disabled", "expired", "rotated")}  # fmt: skip
        wrong: list[str] = []

        async def probe_all(caller: str, headers: dict[str, str], want: int | None) -> None:
            reason = {"disabled": "disabled", "expired": "expired", "rotated": "unknown or revoked"}
            for (method, path), rule in sorted(matrix.rules("review-api").items()):
                if not isinstance(rule, matrix.ReviewUser):
                    continue
                probe = rule.probe
                answer = await client.request(
                    method, probe.path, params=probe.params, json=probe.json, headers=headers
                )
                got = answer.status_code
                if want is None:  # let through; an admin route refuses by role, not user
                    ok = got != 401 and (got != 403 or "only an admin" in answer.text)
                else:
                    ok = got == want and reason[caller] in answer.json()["detail"]
                if not ok:
                    wrong.append(f"{method} {path} as {caller}: {got} {answer.text[:100]}")

        # Active first: the tokens are cached when the changes come.
        for kind in tokens:
            await probe_all("active", bearer(tokens[kind]), None)
        cache = app.state.review.tokens
        generation = cache.generation
        await users.set_disabled(pool, f"disabled-{tag}", True)
        await users.rotate_token(pool, f"rotated-{tag}", None)
        await pool.execute(
            "UPDATE review.users SET token_expires_at = now() WHERE user_id = $1", f"expired-{tag}"
        )
        # The two notifications reach the app (the expiry set by hand sends none: the cached
        # expired token lives on until the cache's bound, so drop it here).
        await eventually(lambda: cache.generation >= generation + 2, timeout=2)
        cache.clear()
        await probe_all("disabled", bearer(tokens["disabled"]), 403)
        await probe_all("expired", bearer(tokens["expired"]), 401)
        await probe_all("rotated", bearer(tokens["rotated"]), 401)
        assert not wrong, "\n".join(wrong)
