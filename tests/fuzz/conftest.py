"""The platform the fuzzers attack: every service as its own process (LocalStack, free ports)
on the real broker and the test Postgres, a fresh database, and one user per role. Every
service logs at DEBUG (the Kafka client at INFO): test_secrets reads those logs, after
everything the fuzzers sent, for any token that was in use."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from mitl_cli.chaos.identity import ensure_identities
from mitl_cli.stack import LocalStack
from mitl_review.cli import create_user

ROLES = ("annotator", "expert", "admin")


@dataclass(frozen=True)
class Platform:
    stack: LocalStack
    tokens: dict[str, str]

    def url(self, service: str) -> str:
        return self.stack.url(service)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def bootstrap(self) -> str:
        assert self.stack.broker is not None
        return self.stack.broker.bootstrap

    def decided(self, item_id: str) -> bool:
        """Whether the audit log holds a routing decision for `item_id`."""

        async def query() -> bool:
            conn = await asyncpg.connect(self.stack.database_url)
            try:
                return bool(
                    await conn.fetchval(
                        "SELECT 1 FROM audit.log WHERE kind = 'decision' AND item_id = $1",
                        item_id,
                    )
                )
            finally:
                await conn.close()

        return asyncio.run(query())


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory, datasets_file: Path) -> Iterator[Platform]:
    with LocalStack(
        workdir=tmp_path_factory.mktemp("fuzz-stack"),
        datasets_file=datasets_file,
        database=f"mitl_fuzz_{uuid.uuid4().hex[:8]}",
        fresh_database=True,
        drop_database_on_stop=True,
        fixed_ports=False,
        # DEBUG everywhere but the Kafka client, which logs every fetch at DEBUG (about 100,000
        # lines per service over the package, none of them about a request).
        extra_env={"MITL_LOG_LEVEL": "DEBUG", "MITL_LOG_LEVELS": "aiokafka=INFO"},
    ) as stack:
        ensure_identities(stack)
        tag = uuid.uuid4().hex[:6]
        tokens = {
            role: asyncio.run(create_user(stack.database_url, f"fuzz-{role}-{tag}", role))
            for role in ROLES
        }
        yield Platform(stack, tokens)
