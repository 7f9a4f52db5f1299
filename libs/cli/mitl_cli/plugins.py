"""Subcommands the services contribute to `mitl`, found through entry points, so that the CLI
imports no service.

A service declares its commands in pyproject.toml under `[project.entry-points."mitl.commands"]`
(a `register(subparsers)` function adding a top-level subcommand) and its benchmarks under
`[project.entry-points."mitl.benchmarks"]` (the same, under `mitl bench`). `KNOWN` lists the
same entry points (a unit test keeps the two equal), for a checkout whose installed metadata
predates one of them; a service that is not installed contributes nothing.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

COMMANDS, BENCHMARKS = "mitl.commands", "mitl.benchmarks"
KNOWN: dict[str, dict[str, str]] = {
    COMMANDS: {
        "audit": "mitl_audit.cli:register",
        "bootstrap": "mitl_trainer.cli:register",
        "clients": "mitl_ingest.cli:register",
        "export": "mitl_audit.export_cli:register",
        "models": "mitl_inference.cli:register",
        "retrain": "mitl_trainer.retrain_cli:register",
        "users": "mitl_review.cli:register",
    },
    BENCHMARKS: {
        "drift": "mitl_drift.bench:register",
    },
}
Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], Any]


def declared(group: str) -> dict[str, str]:
    """name -> "module:function" of the entry points of `group`, installed or known."""
    found = {point.name: point.value for point in entry_points(group=group)}
    return {**KNOWN.get(group, {}), **found}


def load(value: str) -> Register | None:
    """The function `value` ("module:function") names; None if its package is not installed."""
    module_name, _, attribute = value.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and module_name.startswith(error.name):
            return None
        raise
    function: Register = getattr(module, attribute)
    return function


def register_all(
    group: str, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
) -> None:
    """Let every plugin of `group` add its subcommand to `subparsers`, by name."""
    for _, value in sorted(declared(group).items()):
        function = load(value)
        if function is not None:
            function(subparsers)
