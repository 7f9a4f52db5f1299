"""A PostgreSQL server of the chaos run's own: a temporary data directory, a free port, trust
auth on 127.0.0.1. Crashing and restarting the machine's shared server would break everyone
else's work, so a scenario that restarts PostgreSQL restarts this one.

Binaries: Debian's (/usr/lib/postgresql/<version>/bin), else those in PATH, else the ones the
`pgserver` wheel ships. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` OS user (runuser), which then owns the data directory.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mitl_runtime.localinfra import free_port, wait_for_port

SERVER_USER = "postgres"
# Settings for a throwaway server: durability against an OS crash is not what is tested here
# (a process crash, `pg_ctl -m immediate`, keeps everything written to the kernel).
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    " -c max_connections=300 -c shared_buffers=128MB"
)


def scratch_root() -> Path:
    """A fresh folder the server's user can reach (pytest's and most home folders are closed
    to other users; the system temp folder is open to all)."""
    return Path(tempfile.mkdtemp(prefix="mitl-chaos-pg-"))


def binary_dir() -> Path:
    """Where initdb and pg_ctl are."""
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if debian:
        return Path(debian[-1]).parent
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "pg_ctl").exists():
            return bundled
    raise FileNotFoundError("no PostgreSQL binaries: install postgresql or the pgserver wheel")


@dataclass
class OwnPostgres:
    """One server under `root` (data in root/data, log in root/postgres.log). As root, `root`
    and every folder above it must be open to the `postgres` user: use `scratch_root()`."""

    root: Path
    port: int = field(default_factory=free_port)
    bin_dir: Path = field(default_factory=binary_dir)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
        return done

    def _hand_over(self) -> None:
        """As root, give the directory to the server's user (it must own its data)."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(SERVER_USER)
        for path in (self.root, *self.root.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid)

    def start(self) -> OwnPostgres:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self._hand_over()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                "initdb", "-D", str(self.data_dir), "-A", "trust", "-U", "postgres", "--no-sync"
            )
        self._pg_ctl_start()
        return self

    def _pg_ctl_start(self) -> None:
        # No Unix socket: everything connects over TCP, and long temp paths cannot overflow
        # the socket path limit.
        options = f"-p {self.port} -c unix_socket_directories='' {SERVER_OPTIONS}"
        self._run(
            "pg_ctl", "start", "-w", "-D", str(self.data_dir),
            "-l", str(self.root / "postgres.log"), "-o", options,
        )  # fmt: skip
        wait_for_port(self.port, timeout=30)

    def crash(self) -> None:
        """Stop as a crash would: every backend killed at once, recovery from WAL on start."""
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", check=False)
        deadline = time.monotonic() + 30
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart_after_crash(self) -> None:
        self._pg_ctl_start()

    def running(self) -> bool:
        status = self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False)
        return status.returncode == 0

    def stop(self) -> None:
        if self.data_dir.exists() and self.running():
            self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", check=False)

    def remove(self) -> None:
        self.stop()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root)
