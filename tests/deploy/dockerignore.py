"""Docker's .dockerignore rules, enough to tell whether a file reaches the build context:
patterns in order, the last one matching the path or a folder above it decides, `!` keeps;
`*` and `?` stop at `/`, `**` crosses folders."""

from __future__ import annotations

import re
from pathlib import Path


def pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):
                out += "/?"
                i += 1
            continue
        char = pattern[i]
        out += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        i += 1
    return re.compile(f"^{out}$")


def rules(path: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(keeps, regex) per pattern of the .dockerignore at `path`."""
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        out.append((keep, pattern_regex(pattern)))
    return out


def in_context(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for keep, regex in patterns:
        if any(regex.match(prefix) for prefix in prefixes):
            included = keep
    return included
