"""One chaos lab for the package: its own PostgreSQL server, the broker and every service as
real processes, shared by the crash and load tests (starting it is the slow part)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitl_cli.chaos.lab import Lab
from mitl_runtime.progress import Progress


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory, bootstrap_model: Path) -> Iterator[Lab]:
    # The progress `mitl chaos` shows on stderr goes to a buffer the tests can read.
    progress = Progress(io.StringIO())
    workdir = tmp_path_factory.mktemp("chaos")
    with Lab(workdir, bootstrap_model, annotators=3, experts=1, progress=progress) as lab:
        yield lab
