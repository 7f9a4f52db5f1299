"""One chaos lab for the package: its own PostgreSQL server, the broker and every service as
real processes, shared by the crash and load tests (starting it is the slow part)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mitl_cli.chaos.lab import Lab


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory, bootstrap_model: Path) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("chaos"), bootstrap_model, annotators=3, experts=1) as lab:
        yield lab
