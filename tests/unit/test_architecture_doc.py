"""docs/architecture.md names real files: every backticked path in it exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"

# A backticked token is a path if it has no spaces and either holds a slash (not a leading
# one: `/v1/...` is an HTTP route) or ends in a file extension.
EXTENSIONS = (".py", ".md", ".toml", ".yaml", ".yml", ".sql", ".lock", ".in", ".json", ".cfg")


def named_paths(text: str) -> list[str]:
    """Paths relative to the repository. A path whose first part is not at the top of the
    repository (`core.py`, `store/`) is relative to the last directory named before it on
    the same line (a table row names its package's directory first)."""
    paths = []
    for line in text.splitlines():
        base = ""
        for token in re.findall(r"`([^`\n]+)`", line):
            if " " in token or token.startswith("/") or "{" in token or "<" in token:
                continue
            if "/" not in token and not token.endswith(EXTENSIONS):
                continue
            top = token.split("/", 1)[0]
            path = token if top and (ROOT / top).exists() else base + token
            paths.append(path)
            if token.endswith("/"):
                base = path
    return paths


def test_the_doc_names_paths() -> None:
    assert len(named_paths(DOC.read_text())) > 20


def test_every_named_path_exists() -> None:
    missing = [p for p in named_paths(DOC.read_text()) if not (ROOT / p).exists()]
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_detects_paths() -> None:
    text = (
        "`libs/x/y.py` `GET /v1/overrides/{dataset}` `mitl.labels.v1` `a b/c`\n"
        "| `libs/policy/mitl_policy/` | `core.py` and `store/` |\n"
        "`pyproject.toml` `nowhere.py`"
    )
    assert named_paths(text) == [
        "libs/x/y.py",
        "libs/policy/mitl_policy/",
        "libs/policy/mitl_policy/core.py",
        "libs/policy/mitl_policy/store/",
        "pyproject.toml",
        "nowhere.py",
    ]
