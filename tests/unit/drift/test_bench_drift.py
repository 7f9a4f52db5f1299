"""The arithmetic of `mitl bench drift`: one count per alert episode, delays after the switch."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from mitl_drift.bench import first_after, raised, run_stream
from mitl_drift.config import CONFIDENCE_PSI, DriftConfig

from tests.unit.drift.streams import LABELS, stream


def alert(statistic: str, state: str, segment: str = "all") -> SimpleNamespace:
    return SimpleNamespace(statistic=statistic, state=state, segment=segment)


def test_an_episode_counts_once_until_it_clears() -> None:
    fired = [
        (850, alert("a", "alert")),
        (900, alert("a", "alert")),  # warning -> critical: the same episode
        (900, alert("b", "alert", "class:X")),
        (950, alert("b", "alert", "class:Y")),  # another segment: an episode of its own
        (1000, alert("a", "clear")),
        (1100, alert("a", "alert")),
    ]
    assert raised(fired) == [(850, "a"), (900, "b"), (950, "b"), (1100, "a")]


def test_first_alert_after_the_switch_per_statistic() -> None:
    events = [(700, "a"), (1050, "b"), (1150, "a"), (1200, "b")]
    assert first_after(events, 1000) == {"b": 50, "a": 150}
    assert first_after(events, 1300) == {}


def test_a_stream_with_a_shift_alerts_after_it_and_not_before() -> None:
    rng = np.random.default_rng(0)
    observations = stream(rng, 1000) + stream(rng, 300, confidence=(3.0, 3.0))
    events = raised(run_stream(observations, LABELS, DriftConfig()))
    assert events and all(n > 1000 for n, _ in events)
    assert first_after(events, 1000)[CONFIDENCE_PSI] in (50, 100)
