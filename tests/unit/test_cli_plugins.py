"""The services' `mitl` subcommands come through entry points (mitl_cli.plugins): the list the
CLI falls back on is pyproject's, and every one of them is found and registered."""

from __future__ import annotations

import tomllib
from pathlib import Path

from mitl_cli import plugins
from mitl_cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_known_plugins_are_the_declared_entry_points() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"] == plugins.KNOWN


def test_every_plugin_loads() -> None:
    for group in plugins.KNOWN:
        for name, value in plugins.declared(group).items():
            assert plugins.load(value) is not None, f"{group} {name}: {value}"


def test_the_services_subcommands_are_registered(tmp_path: Path) -> None:
    parser = build_parser()
    for argv in (
        ["audit", "verify"],
        ["export", "--dataset", "trec6", "--out", str(tmp_path / "out.jsonl")],
        ["models", "list"],
        ["users", "create", "--name", "a", "--role", "admin"],
        ["bench", "drift"],
    ):
        assert callable(parser.parse_args(argv).func), argv
