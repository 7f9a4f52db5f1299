"""What the CLI's own tools (`mitl run`, chaos, benchmarks) need of a service's database,
asked through the service's `mitl` subcommand (mitl_cli.plugins) in a child process: the
CLI imports no service."""

from __future__ import annotations

import asyncio
import os
import sys


class UserExists(Exception):
    """`mitl users create` found the name taken."""


async def mitl(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    """Run `mitl argv...` with `env` on top of this process's environment: (code, out, err)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mitl_cli.main",
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def create_user(database_url: str, name: str, role: str) -> str:
    """Create a review-api user (`mitl users create`) and return their token."""
    code, out, err = await mitl(
        {"MITL_DATABASE_URL": database_url}, "users", "create", "--name", name, "--role", role
    )
    if code == 1:
        raise UserExists(err.strip())
    if code != 0:
        raise RuntimeError(f"mitl users create failed ({code}): {err.strip()}")
    return out.strip()


async def ingest_client_key(database_url: str, name: str, *options: str) -> str:
    """A key for ingest client `name` (`mitl clients create --name NAME OPTIONS`), or, when
    the client exists already, a new key for it (`mitl clients rotate`): the old one stops
    working."""
    env = {"MITL_DATABASE_URL": database_url}
    code, out, err = await mitl(env, "clients", "create", "--name", name, *options)
    if code == 1 and "exists already" in err:
        code, out, err = await mitl(env, "clients", "rotate", name)
    if code != 0:
        raise RuntimeError(f"mitl clients failed ({code}): {err.strip()}")
    return out.strip()


async def audit_chain(database_url: str) -> str:
    """The verdict of `mitl audit verify`: "ok: N rows", or what is broken."""
    code, out, err = await mitl({}, "audit", "verify", "--database-url", database_url)
    return out.strip() if code == 0 else err.strip()
