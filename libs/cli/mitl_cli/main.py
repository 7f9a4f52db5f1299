"""`mitl`: the operator command. Each generic subcommand lives in `mitl_cli/commands/<name>.py`
and exposes `register(subparsers)`, which adds its parser and sets `func` (returns an exit
code); the services' own subcommands come the same way through the `mitl.commands` entry
points (mitl_cli.plugins)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mitl_cli import commands, plugins


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mitl", description="mitl operator commands")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"mitl_cli.commands.{module.name}").register(subparsers)
    plugins.register_all(plugins.COMMANDS, subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
