"""A scenario's result and how it is printed: a table row, or one JSON object per line.

The six headline fields are the same in both; JSON lines carry the details (routes, review
work, retries, what was broken and examples of it; the broker; for a crash scenario how many
items had their events out of order; for the load run lag, latency, memory).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mitl_cli.chaos.census import Census
from mitl_cli.chaos.order import Order

HEADLINE = ("scenario", "items_in", "labels_out", "lost", "duplicated", "recovery_s")
WIDTHS = (18, 9, 11, 6, 11, 11)


@dataclass
class ScenarioResult:
    scenario: str
    census: Census
    recovery_s: float | None
    details: dict[str, Any] = field(default_factory=dict)
    # Each item's events checked for order (crash scenarios; None where not checked).
    order: Order | None = None

    @property
    def lost(self) -> int:
        return len(self.census.lost_items)

    @property
    def duplicated(self) -> int:
        return len(self.census.duplicated_items)

    @property
    def out_of_order(self) -> int | None:
        return None if self.order is None else self.order.out_of_order

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.out_of_order

    def headline(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "items_in": self.census.items_in,
            "labels_out": self.census.labels_out,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 1),
        }

    def as_json(self) -> str:
        census = {
            "decisions": self.census.decisions,
            "routes": dict(self.census.routes),
            "spot_checks": self.census.spot_checks,
            "review_tasks": self.census.tasks,
            "human_labels": self.census.human_labels,
            "auto_labels": self.census.auto_labels,
            "out_of_order": self.out_of_order,
            "broken_rules": self.census.reasons()
            | (self.order.reasons() if self.order is not None else {}),
        }
        return json.dumps(self.headline() | census | self.details, default=str)


def header() -> str:
    return "  ".join(f"{name:<{width}}" for name, width in zip(HEADLINE, WIDTHS, strict=True))


def row(result: ScenarioResult) -> str:
    values = result.headline()
    cells = []
    for name, width in zip(HEADLINE, WIDTHS, strict=True):
        value = values[name]
        cells.append(f"{'-' if value is None else value!s:<{width}}")
    return "  ".join(cells)
