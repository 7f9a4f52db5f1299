"""The scenarios a chaos run knows, by name: one crash scenario per service, PostgreSQL's crash,
and the sustained-load run (`load`)."""

from __future__ import annotations

from dataclasses import dataclass

from mitl_cli.chaos.faults import Fault, KillService, RestartPostgres
from mitl_cli.stack import SERVICES

LOAD = "load"


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault


CRASHES: dict[str, Scenario] = {
    **{f"kill-{name}": Scenario(f"kill-{name}", KillService(name)) for name in SERVICES},
    "restart-postgres": Scenario("restart-postgres", RestartPostgres()),
}
ALL = (*CRASHES, LOAD)


def parse(names: str | None) -> list[str]:
    """Scenario names from a comma-separated list (all of them if empty), in run order;
    ValueError naming any unknown one."""
    if not names:
        return list(ALL)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in ALL]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(ALL)}")
    return [n for n in ALL if n in wanted]
