"""Every item accounted for: the rules a chaos run is judged by. Pure: no I/O.

For each item that went in (ingest or the broker acknowledged it):
- exactly one routing decision (rows are distinct by event_id, so two rows are two different
  events for one item: a real duplicate);
- an accepted item has exactly one auto label, and no other item has one;
- an item that needs a person (routed to review or escalation, or a spot check of an accepted
  item) has exactly one review task per requested queue, every task is done, and each done
  task's label is in the audit log; no human label exists that no task published;
- its final label is the latest human label, else the auto label. A spot-checked item thus
  has two labels of different kinds; two of the same kind (two auto labels, or more human
  labels than tasks) is a duplicate.
An item breaking a rule by something missing is lost; by something extra, duplicated.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from mitl_cli.chaos.evidence import Evidence, LogRow, TaskRow

HUMAN_SOURCES = ("annotator", "expert")
NEEDS_PERSON = ("review", "escalate")


@dataclass
class Census:
    items_in: int = 0
    labels_out: int = 0
    decisions: int = 0
    tasks: int = 0
    human_labels: int = 0
    auto_labels: int = 0
    routes: Counter[str] = field(default_factory=Counter)
    spot_checks: int = 0
    lost: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    duplicated: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @property
    def lost_items(self) -> set[str]:
        return {item for items in self.lost.values() for item in items}

    @property
    def duplicated_items(self) -> set[str]:
        return {item for items in self.duplicated.values() for item in items}

    @property
    def settled(self) -> bool:
        """Nothing missing (duplicates cannot heal; waiting longer is pointless for them)."""
        return not self.lost

    def reasons(self, limit: int = 3) -> dict[str, dict[str, object]]:
        """Per broken rule: how many items, and a few of them to look at."""
        out: dict[str, dict[str, object]] = {}
        for verdict, rules in (("lost", self.lost), ("duplicated", self.duplicated)):
            for rule, items in sorted(rules.items()):
                out[f"{verdict}: {rule}"] = {"items": len(items), "examples": items[:limit]}
        return out


def tally(items_in: Iterable[str], evidence: Evidence) -> Census:
    expected = list(dict.fromkeys(items_in))
    log: dict[str, list[LogRow]] = defaultdict(list)
    for row in evidence.log:
        log[row.item_id].append(row)
    tasks: dict[str, list[TaskRow]] = defaultdict(list)
    for task in evidence.tasks:
        tasks[task.item_id].append(task)
    census = Census(items_in=len(expected))
    for item in expected:
        final = judge(item, log[item], tasks[item], item in evidence.ingested, census)
        census.labels_out += final is not None
    return census


def judge(
    item: str, rows: list[LogRow], tasks: list[TaskRow], ingested: bool, census: Census
) -> str | None:
    """Apply the rules to one item, recording what it breaks; return its final label's event
    id (None if it has none)."""
    lost, extra = census.lost, census.duplicated
    if not ingested:
        lost["not marked published by ingest"].append(item)
    decisions = [r for r in rows if r.kind == "decision"]
    autos = [r for r in rows if r.kind == "label" and r.action == "auto_accept"]
    humans = [r for r in rows if r.kind == "label" and r.source in HUMAN_SOURCES]
    census.decisions += len(decisions)
    census.tasks += len(tasks)
    census.auto_labels += len(autos)
    census.human_labels += len(humans)
    if not decisions:
        lost["no routing decision"].append(item)
    if len(decisions) > 1:
        extra["more than one routing decision"].append(item)
    route = decisions[0].route if decisions else None
    spot_check = bool(decisions) and decisions[0].spot_check
    if route:
        census.routes[route] += 1
    census.spot_checks += spot_check
    if route == "accept" and not autos:
        lost["accepted without an auto label"].append(item)
    if len(autos) > 1 or (autos and route != "accept"):
        extra["auto label not matching one accept decision"].append(item)
    needs_person = route in NEEDS_PERSON or spot_check
    per_queue = Counter(t.requested_queue for t in tasks)
    if needs_person and not tasks:
        lost["no review task"].append(item)
    if any(n > 1 for n in per_queue.values()) or (tasks and route and not needs_person):
        extra["review task doubled or unasked"].append(item)
    if any(t.status != "done" for t in tasks):
        lost["review task not done"].append(item)
    published = {t.label_event_id for t in tasks if t.label_event_id}
    logged = {r.event_id for r in humans}
    if published - logged:
        lost["human label missing from the audit log"].append(item)
    if logged - published or len(humans) > len(tasks):
        extra["human label without its own task"].append(item)
    if humans:
        return humans[-1].event_id
    return autos[0].event_id if autos else None
