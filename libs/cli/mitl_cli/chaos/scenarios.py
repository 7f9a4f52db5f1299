"""The scenarios a chaos run knows, by name: one crash scenario per service, PostgreSQL's crash,
the broker's crash and pause, the loss of one replica of each scaled-out service, and the
sustained-load run (`load`)."""

from __future__ import annotations

from dataclasses import dataclass

from mitl_cli.chaos.faults import (
    Fault,
    KillBroker,
    KillReplicas,
    KillService,
    PauseBroker,
    RestartPostgres,
)
from mitl_cli.stack import SERVICES

LOAD = "load"
# The services kill-replicas runs twice: every one on the item's path that consumes a topic.
SCALED_OUT = ("ingest", "inference", "router", "review-api", "audit")
# How long pause-broker keeps the broker stopped unless told otherwise (a fault's own length:
# other scenarios last --down-seconds).
PAUSE_S = 20.0


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    # Seconds between inject and heal for this scenario (None: the run's down_s).
    down_s: float | None = None


CRASHES: dict[str, Scenario] = {
    **{f"kill-{name}": Scenario(f"kill-{name}", KillService(name)) for name in SERVICES},
    "restart-postgres": Scenario("restart-postgres", RestartPostgres()),
    "kill-broker": Scenario("kill-broker", KillBroker()),
    "pause-broker": Scenario("pause-broker", PauseBroker(), down_s=PAUSE_S),
    "kill-replicas": Scenario("kill-replicas", KillReplicas(SCALED_OUT)),
}
ALL = (*CRASHES, LOAD)


def parse(names: str | None) -> list[str]:
    """Scenario names from a comma-separated list, in the order given (all of them, in the
    order of ALL, if empty); ValueError naming any unknown one."""
    if not names:
        return list(ALL)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in ALL]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(ALL)}")
    return list(dict.fromkeys(wanted))
