"""The agreement gauges: set from a computation, series that are no longer computed removed,
few Cohen's kappa series (pairs with enough items in common, the most first)."""

from __future__ import annotations

import uuid

from mitl_audit.agreement_gauges import AgreementExporter, by_dataset
from mitl_audit.core.agreement import SharedItem
from prometheus_client import REGISTRY


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def items(dataset: str, n: int, third_agrees: bool = True) -> list[SharedItem]:
    """n items ada and bob labeled alike, alternating A and B; one more with cyd."""
    shared = [
        SharedItem(dataset, f"i{k}", {"ada": "AB"[k % 2], "bob": "AB"[k % 2]}) for k in range(n)
    ]
    cyd = "A" if third_agrees else "B"
    return [*shared, SharedItem(dataset, "x", {"ada": "A", "cyd": cyd})]


def test_gauges_follow_the_latest_computation() -> None:
    ds, quiet = f"g-{uuid.uuid4().hex[:6]}", f"q-{uuid.uuid4().hex[:6]}"
    exporter = AgreementExporter(min_pair_items=3, max_pairs=1)
    exporter.export(by_dataset(items(ds, 4), [quiet]))
    assert value("mitl_audit_agreement_items", dataset=ds) == 5
    assert value("mitl_audit_agreement_krippendorff_alpha", dataset=ds) == 1.0
    assert value("mitl_audit_agreement_fleiss_kappa", dataset=ds) == 1.0
    assert value("mitl_audit_agreement_label_kappa", dataset=ds, label="A") == 1.0
    ada_bob = {"dataset": ds, "annotator_a": "ada", "annotator_b": "bob"}
    assert value("mitl_audit_agreement_cohen_kappa", **ada_bob) == 1.0
    # ada and cyd share one item: under the minimum, no series.
    ada_cyd = ada_bob | {"annotator_b": "cyd"}
    assert value("mitl_audit_agreement_cohen_kappa", **ada_cyd) is None
    # A catalog dataset without items in common: 0 items, no figures.
    assert value("mitl_audit_agreement_items", dataset=quiet) == 0
    assert value("mitl_audit_agreement_krippendorff_alpha", dataset=quiet) is None

    # The pairs fell out of the window: their series go, and so do the figures.
    exporter.export(by_dataset([], [quiet]))
    assert value("mitl_audit_agreement_cohen_kappa", **ada_bob) is None
    assert value("mitl_audit_agreement_items", dataset=ds) is None
    assert value("mitl_audit_agreement_krippendorff_alpha", dataset=ds) is None
    assert value("mitl_audit_agreement_items", dataset=quiet) == 0


def test_at_most_max_pairs_series_per_dataset_those_with_the_most_items() -> None:
    ds = f"p-{uuid.uuid4().hex[:6]}"
    shared = items(ds, 4) + [
        SharedItem(ds, f"c{k}", {"ada": "AB"[k % 2], "cyd": "B"}) for k in range(6)
    ]
    AgreementExporter(min_pair_items=1, max_pairs=1).export(by_dataset(shared, []))
    pair = {"dataset": ds, "annotator_a": "ada"}
    assert value("mitl_audit_agreement_cohen_kappa", **pair, annotator_b="cyd") is not None
    assert value("mitl_audit_agreement_cohen_kappa", **pair, annotator_b="bob") is None


def test_span_datasets_also_export_their_entity_level_f1() -> None:
    ner, plain = f"n-{uuid.uuid4().hex[:6]}", f"p-{uuid.uuid4().hex[:6]}"
    shared = [
        SharedItem(ner, "i1", {"ada": "0:3:PER|8:12:LOC", "bob": "0:3:PER|8:12:ORG"}),
        SharedItem(plain, "i1", {"ada": "A", "bob": "A"}),
    ]
    exporter = AgreementExporter(min_pair_items=1, max_pairs=5)
    figures = by_dataset(shared, [ner, plain], span_datasets={ner})
    assert figures[plain].entities is None and figures[ner].entities is not None
    exporter.export(figures)
    assert value("mitl_audit_agreement_entity_f1", dataset=ner) == 0.5
    assert value("mitl_audit_agreement_entity_f1", dataset=plain) is None
    exporter.export(by_dataset([], [ner], span_datasets={ner}))
    assert value("mitl_audit_agreement_entity_f1", dataset=ner) is None
