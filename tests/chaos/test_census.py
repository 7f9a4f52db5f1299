"""The rules a chaos run is judged by (mitl_cli.chaos.census), on hand-made evidence: what
counts as lost, what as duplicated, and which label is an item's final one."""

from __future__ import annotations

from mitl_cli.chaos.census import tally
from mitl_cli.chaos.evidence import Evidence, LogRow, TaskRow


def decision(item: str, route: str, *, spot_check: bool = False, n: int = 0) -> LogRow:
    return LogRow(item, "decision", f"decision-{item}-{n}", route=route, spot_check=spot_check)


def auto(item: str, n: int = 0) -> LogRow:
    return LogRow(item, "label", f"label-auto-{item}-{n}", source="model", action="auto_accept")


def human(item: str, task: str, source: str = "annotator") -> LogRow:
    return LogRow(item, "label", f"label-{task}", source=source, action="confirm")


def task(item: str, name: str, queue: str = "annotator", status: str = "done") -> TaskRow:
    return TaskRow(name, item, queue, queue, status, f"label-{name}" if status == "done" else None)


def evidence(log: list[LogRow], tasks: list[TaskRow], items: set[str]) -> Evidence:
    return Evidence(log=log, tasks=tasks, ingested=items)


def test_a_clean_run_has_one_final_label_per_item() -> None:
    log = [
        decision("a", "accept"),
        auto("a"),
        decision("b", "review"),
        human("b", "tb"),
        decision("c", "accept", spot_check=True),
        auto("c"),
        human("c", "tc"),
        decision("d", "escalate"),
        human("d", "td", source="expert"),
    ]
    tasks = [task("b", "tb"), task("c", "tc"), task("d", "td", queue="expert")]
    census = tally(["a", "b", "c", "d"], evidence(log, tasks, {"a", "b", "c", "d"}))
    assert census.items_in == census.labels_out == 4
    assert not census.lost and not census.duplicated
    assert census.spot_checks == 1 and census.human_labels == 3 and census.auto_labels == 2


def test_missing_pieces_are_lost() -> None:
    log = [decision("b", "review"), decision("c", "accept"), decision("d", "review")]
    tasks = [task("d", "td", status="open")]
    census = tally(["a", "b", "c", "d"], evidence(log, tasks, {"b", "c", "d"}))
    assert census.lost_items == {"a", "b", "c", "d"}
    assert census.lost["no routing decision"] == ["a"]
    assert census.lost["not marked published by ingest"] == ["a"]
    assert census.lost["no review task"] == ["b"]
    assert census.lost["accepted without an auto label"] == ["c"]
    assert census.lost["review task not done"] == ["d"]
    assert census.labels_out == 0


def test_a_done_task_whose_label_never_reached_the_audit_log_is_lost() -> None:
    census = tally(["b"], evidence([decision("b", "review")], [task("b", "tb")], {"b"}))
    assert census.lost["human label missing from the audit log"] == ["b"]


def test_extra_events_for_one_item_are_duplicates() -> None:
    log = [
        decision("a", "accept", n=0),
        decision("a", "accept", n=1),
        auto("a"),
        decision("b", "accept"),
        auto("b", 0),
        auto("b", 1),
        decision("c", "review"),
        human("c", "tc1"),
        human("c", "tc2"),
        decision("d", "accept"),
        auto("d"),
        human("d", "td"),
    ]
    tasks = [task("c", "tc1"), task("c", "tc2"), task("d", "td")]
    census = tally(["a", "b", "c", "d"], evidence(log, tasks, {"a", "b", "c", "d"}))
    assert census.duplicated["more than one routing decision"] == ["a"]
    assert census.duplicated["auto label not matching one accept decision"] == ["b"]
    assert census.duplicated["review task doubled or unasked"] == ["c", "d"]
    assert census.duplicated_items == {"a", "b", "c", "d"}
    assert not census.lost


def test_a_human_label_no_task_published_is_a_duplicate() -> None:
    log = [decision("b", "review"), human("b", "tb"), human("b", "ghost")]
    census = tally(["b"], evidence(log, [task("b", "tb")], {"b"}))
    assert census.duplicated["human label without its own task"] == ["b"]


def test_the_final_label_is_the_latest_human_one_else_the_auto_label() -> None:
    spot = [decision("c", "accept", spot_check=True), auto("c")]
    waiting = tally(["c"], evidence(spot, [task("c", "tc", status="open")], {"c"}))
    assert waiting.labels_out == 1  # the auto label stands until the spot check is answered
    assert waiting.lost["review task not done"] == ["c"]
    answered = tally(["c"], evidence([*spot, human("c", "tc")], [task("c", "tc")], {"c"}))
    assert answered.labels_out == 1 and answered.settled
