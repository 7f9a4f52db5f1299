from pathlib import Path

import pytest
from mitl_contracts.datasets import Catalog, Policy, UnknownDataset, load_catalog
from mitl_contracts.events import ItemContent
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_catalog_is_valid_and_resolves_model_paths() -> None:
    catalog = load_catalog(ROOT / "config" / "datasets.yaml")
    trec = catalog.get("trec6")
    assert trec.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert trec.model is not None and trec.model.is_absolute()


def test_unknown_dataset_names_the_known_ones() -> None:
    catalog = Catalog.model_validate({"datasets": {"a": {"labels": ["x", "y"]}}})
    with pytest.raises(UnknownDataset, match="unknown dataset 'b'; known: a"):
        catalog.get("b")


def test_contradictory_thresholds_are_refused_naming_the_fields() -> None:
    with pytest.raises(
        ValidationError, match=r"escalation_floor \(0.6\) must be below accept_threshold"
    ):
        Policy(accept_threshold=0.5, escalation_floor=0.6)
    with pytest.raises(ValidationError, match="accept_threshold"):
        Policy(accept_threshold=1.5)


def test_content_checks_name_the_problem() -> None:
    catalog = Catalog.model_validate(
        {"datasets": {"v": {"input_kind": "vector", "vector_dim": 3, "labels": ["x", "y"]}}}
    )
    ds = catalog.get("v")
    with pytest.raises(ValueError, match="takes vector items, not text"):
        ds.check_content(ItemContent(text="hi"))
    with pytest.raises(ValueError, match="vector has 2 values; dataset 'v' takes 3"):
        ds.check_content(ItemContent(vector=[1.0, 2.0]))
    with pytest.raises(ValidationError, match="NaN or infinity"):
        ItemContent(vector=[1.0, float("nan"), 2.0])


def test_overlap_defaults_to_one_label_per_item_and_is_checked() -> None:
    policy = Policy()
    assert (policy.overlap_rate, policy.overlap_annotators) == (0.0, 2)
    assert Policy(overlap_rate=0.1, overlap_annotators=3).overlap_annotators == 3
    with pytest.raises(ValidationError, match="overlap_rate"):
        Policy(overlap_rate=1.5)
    with pytest.raises(ValidationError, match="overlap_annotators"):
        Policy(overlap_rate=0.1, overlap_annotators=1)
    with pytest.raises(ValidationError, match="overlap_annotators"):
        Policy(overlap_rate=0.1, overlap_annotators=11)
    with pytest.raises(ValidationError, match=r"overlap_annotators \(3\) is set but overlap_rate"):
        Policy(overlap_annotators=3)
