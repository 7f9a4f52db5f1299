"""Browser tests drive Debian's Chromium (`make browser` installs it) with Playwright."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")
