"""When to train. Pure: no I/O.

Requests are keyed by what triggered them, so that every replica, and every replay of the same
events, makes the same request once: a drift alert by its event id, a count of verified items
by the multiple of `retrain_every` it reached, a manual request by the count it was made at.
Whether a request can train is decided when it is worked off (`readiness`), on the data then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mitl_contracts.events import DriftAlert

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def label_request_id(dataset: str, verified: int, every: int) -> str | None:
    """The request for `verified` human-labeled items: one per multiple of `every` reached
    (a batch that jumps past several makes only the last); None below the first."""
    reached = verified // every
    return f"labels-{dataset}-{reached * every}" if reached >= 1 else None


def drift_request_id(alert: DriftAlert, min_severity: str) -> str | None:
    """The request for a drift alert at or above `min_severity`; None for clears and milder
    alerts."""
    if alert.state != "alert" or SEVERITY_RANK[alert.severity] < SEVERITY_RANK[min_severity]:
        return None
    return f"drift-{alert.event_id}"


def manual_request_id(dataset: str, verified: int) -> str:
    """Asking twice with no new labels is one request: training would give the same model."""
    return f"manual-{dataset}-{verified}"


def waits_for_content(missing: int, waited_s: float, wait_s: float) -> bool:
    """Does a request that cannot train yet wait rather than end? Only while `missing` of
    its human-labeled items have no content yet (their labels came before their items: the
    two topics are consumed apart) and it has waited less than `wait_s`. Labels whose items
    never come (content lost, an item of another system) end it as skipped once the wait
    is over, with the reason."""
    return missing > 0 and waited_s < wait_s


# A waiting request is looked at again this many times over its wait at most: each look
# rebuilds the training set (every label and its content), so not every poll.
CONTENT_LOOKS = 10


def content_retry_s(poll_s: float, wait_s: float) -> float:
    """How long a request waiting for content waits before it is looked at again."""
    return max(poll_s, wait_s / CONTENT_LOOKS)


@dataclass(frozen=True)
class Readiness:
    """Whether a dataset has what training needs; `reason` says what is missing."""

    ready: bool
    verified: int
    needed: int
    short_classes: dict[str, int]
    reason: str


def readiness(
    verified: int,
    class_counts: Mapping[str, int],
    labels: Sequence[str],
    *,
    min_labels: int,
    min_per_class: int,
    dataset: str,
) -> Readiness:
    """Ready when at least `min_labels` items are verified (with their text) and each class of
    `labels` has at least `min_per_class` training examples (held-out items do not train)."""
    short = {label: class_counts.get(label, 0) for label in labels}
    short = {label: n for label, n in short.items() if n < min_per_class}
    problems = []
    if verified < min_labels:
        problems.append(
            f"dataset {dataset!r} has {verified} verified labels with text; training needs "
            f"at least {min_labels}"
        )
    if short:
        listed = ", ".join(f"{label} has {n}" for label, n in short.items())
        problems.append(f"every class needs at least {min_per_class} training examples ({listed})")
    reason = "; ".join(problems) or f"{verified} verified labels"
    return Readiness(not problems, verified, min_labels, short, reason)
