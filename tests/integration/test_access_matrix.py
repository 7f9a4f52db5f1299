"""The cells of the authorization matrix (tests/access_matrix.py) that look a credential up
in Postgres: ingest's client keys (one for every dataset, one scoped elsewhere, one revoked)
and every review-api route (people's JWTs become review users there), against the real
services with their database and broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from mitl_ingest import client_store
from mitl_runtime.db import create_pool

from tests import access_matrix as matrix
from tests.support import ingest_key, running_app
from tests.unit.runtime.auth import keys
from tests.unit.test_access_matrix import caller_headers

pytestmark = pytest.mark.integration


async def test_the_matrix_cells_that_need_the_database(service_env: dict, tmp_path: Path) -> None:
    url = service_env["database_url"]
    _, every = await ingest_key(url)
    _, elsewhere = await ingest_key(url, "sms")
    revoked_id, revoked = await ingest_key(url)
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        assert await client_store.revoke(pool, revoked_id)
    finally:
        await pool.close()
    headers = caller_headers() | {
        "client": {"Authorization": f"Bearer {every}"},
        "wrong-dataset": {"Authorization": f"Bearer {elsewhere}"},
    }
    wrong: list[str] = []
    for service in ("ingest", "review-api"):
        callers = {
            "ingest": {
                "client": headers["client"],
                "wrong-dataset": headers["wrong-dataset"],
                "revoked": {"Authorization": f"Bearer {revoked}"},
            },
            "review-api": headers,
        }[service]
        # review-api takes people's JWTs (single sign-on) made with the tests' keys.
        sso = {
            "oidc_issuer": keys.ISSUER,
            "oidc_audience": keys.AUDIENCE,
            "oidc_jwks_file": keys.write_jwks(tmp_path),
            "oidc_leeway_s": 0,
        }
        app = matrix.build(service, service_env | (sso if service == "review-api" else {}))
        async with running_app(app) as client:
            for (method, path), rule in sorted(matrix.rules(service).items()):
                if service == "review-api" and not isinstance(rule, matrix.ReviewUser):
                    continue  # open routes: tests/unit/test_access_matrix.py
                for caller, sent in callers.items():
                    probe = rule.probe
                    answer = await client.request(
                        method,
                        probe.path,
                        params=probe.params,
                        json=probe.json,
                        content=probe.content,
                        headers=probe.headers | sent,
                    )
                    want = matrix.expected(rule, caller)  # type: ignore[arg-type]
                    got = answer.status_code
                    ok = got not in (401, 403) if want is None else got == want
                    if not ok or (got in (401, 403) and not answer.json()["detail"]):
                        wrong.append(
                            f"{service} {method} {path} as {caller}: {answer.status_code} "
                            f"(expected {want}) {answer.text[:120]}"
                        )
    assert not wrong, "\n".join(wrong)
