"""`mitl contracts write|check`: the AsyncAPI document of every topic and the JSON Schema of
every event (mitl_contracts.asyncapi), as files under `docs/`: `docs/asyncapi.yaml` and
`docs/schemas/<topic>-value.json`, one per schema-registry subject. `check` exits 1 and names
the stale files when a contract changed without them being written again."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from mitl_contracts import asyncapi

ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMAS_DIR = "schemas"


def rendered() -> dict[str, str]:
    """Relative path -> file text, exactly as `write` puts it on disk."""
    files = {
        ASYNCAPI_FILE: yaml.safe_dump(
            asyncapi.document(), sort_keys=False, allow_unicode=True, width=100
        )
    }
    for name, schema in asyncapi.event_schemas().items():
        files[f"{SCHEMAS_DIR}/{name}.json"] = json.dumps(schema, indent=2, sort_keys=False) + "\n"
    return files


def stale(out: Path) -> list[str]:
    """The files under `out` that differ from what the code generates (or are missing, or are
    schemas of no topic any more)."""
    files = rendered()
    wrong = [
        p for p, text in files.items() if not (out / p).is_file() or (out / p).read_text() != text
    ]
    extra = [
        f"{SCHEMAS_DIR}/{p.name}"
        for p in sorted((out / SCHEMAS_DIR).glob("*.json"))
        if f"{SCHEMAS_DIR}/{p.name}" not in files
    ]
    return sorted(wrong + extra)


def write(out: Path) -> list[str]:
    files = rendered()
    (out / SCHEMAS_DIR).mkdir(parents=True, exist_ok=True)
    for p in (out / SCHEMAS_DIR).glob("*.json"):
        if f"{SCHEMAS_DIR}/{p.name}" not in files:
            p.unlink()
    for rel, text in files.items():
        (out / rel).write_text(text)
    return sorted(files)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if args.action == "write":
        for rel in write(out):
            print(out / rel)
        return 0
    wrong = stale(out)
    if wrong:
        print(
            "stale event contracts (run `mitl contracts write`): "
            + ", ".join(str(out / p) for p in wrong),
            file=sys.stderr,
        )
        return 1
    print(f"{out}: AsyncAPI document and event schemas match the code")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "contracts", help="write or check the AsyncAPI document and event JSON Schemas"
    )
    parser.add_argument("action", choices=("write", "check"))
    parser.add_argument("--out", default="docs", help="folder to write or check (default: docs)")
    parser.set_defaults(func=run)
