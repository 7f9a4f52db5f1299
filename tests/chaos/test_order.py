"""Each item's events in order (mitl_cli.chaos.order.check_order) on hand-made streams, and
the replica names LocalStack gives a scaled-out service."""

from __future__ import annotations

from mitl_cli.chaos.order import Seen, check_order
from mitl_cli.stack import replica_name, service_of
from mitl_contracts import topics


def stream(
    item: str,
    *,
    ingested: float = 1.0,
    predicted: float = 2.0,
    decided: float = 3.0,
    partitions: tuple[int, int, int] = (0, 0, 0),
    names_prediction: str | None = None,
) -> list[Seen]:
    p_ing, p_pred, p_dec = partitions
    return [
        Seen(topics.ITEMS_INGESTED, p_ing, 0, f"ing-{item}", ingested),
        Seen(topics.PREDICTIONS, p_pred, 0, f"pred-{item}", predicted),
        Seen(
            topics.DECISIONS, p_dec, 0, f"dec-{item}", decided, names_prediction or f"pred-{item}"
        ),
    ]


def test_events_in_order_pass() -> None:
    order = check_order(["a", "b"], {"a": stream("a"), "b": stream("b")})
    assert (order.items, order.events, order.out_of_order) == (2, 6, 0)


def test_a_redelivered_event_later_on_the_same_partition_is_in_order() -> None:
    again = Seen(topics.ITEMS_INGESTED, 0, 7, "ing-a-again", 5.0)
    assert check_order(["a"], {"a": [*stream("a"), again]}).out_of_order == 0


def test_a_prediction_scored_again_after_the_decision_is_in_order() -> None:
    """After a crash, inference may score a batch again: the same prediction id, published
    again later than the decision that was made on its first publication."""
    again = Seen(topics.PREDICTIONS, 0, 5, "pred-a", 9.0)
    assert check_order(["a"], {"a": [*stream("a"), again]}).out_of_order == 0


def test_each_broken_rule_is_named() -> None:
    seen = {
        "early": stream("early", predicted=4.0, decided=3.0),
        "before-ingest": stream("before-ingest", ingested=2.5),
        "orphan": stream("orphan", names_prediction="pred-someone-else"),
        "split": [
            *stream("split"),
            Seen(topics.PREDICTIONS, 3, 9, "pred-split-2", 2.1),
        ],
    }
    order = check_order(seen, seen)
    assert dict(order.broken) == {
        "decision before its prediction": ["early"],
        "prediction before the item was ingested": ["before-ingest"],
        "decision names no prediction of the item": ["orphan"],
        "events of one topic on more than one partition": ["split"],
    }
    assert order.out_of_order == 4
    assert order.reasons()["out of order: decision before its prediction"]["items"] == 1


def test_an_item_without_a_decision_is_left_to_the_census() -> None:
    assert check_order(["a"], {"a": stream("a")[:2]}).out_of_order == 0


def test_replica_names() -> None:
    assert [replica_name("router", i) for i in (1, 2, 3)] == ["router", "router#2", "router#3"]
    assert service_of("router#2") == service_of("router") == "router"
    assert service_of("review-api#2") == "review-api"
