from pathlib import Path

import pytest
from mitl_contracts.datasets import (
    Catalog,
    Policy,
    UnknownDataset,
    load_catalog,
    read_guidelines_markdown,
)
from mitl_contracts.events import ItemContent
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[3]


def test_shipped_catalog_is_valid_and_resolves_model_paths() -> None:
    catalog = load_catalog(ROOT / "config" / "datasets.yaml")
    trec = catalog.get("trec6")
    assert trec.labels == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert trec.model is not None and trec.model.is_absolute()


def test_shipped_datasets_have_guidelines_for_every_label() -> None:
    catalog = load_catalog(ROOT / "config" / "datasets.yaml")
    for name, dataset in catalog.datasets.items():
        guide = dataset.guidelines
        assert guide is not None and guide.file is not None, f"{name} has no guidelines"
        assert guide.file.is_absolute() and guide.file.is_relative_to(
            ROOT / "config" / "guidelines"
        )
        assert read_guidelines_markdown(dataset).startswith("# ")
        assert sorted(guide.labels) == sorted(dataset.labels), name
        for label, described in guide.labels.items():
            assert described.description, f"{name}: {label} has no description"
            if dataset.input_kind == "text":  # examples quote items; vectors are not quotable
                assert 2 <= len(described.examples) <= 3, f"{name}: {label} needs 2-3 examples"


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
    # A policy dumped with its defaults and read back (as `mitl bench` and deploy files do).
    assert Policy.model_validate(Policy().model_dump()).overlap_annotators == 2


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_guidelines_naming_a_label_not_in_the_dataset_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    datasets = write(
        tmp_path / "datasets.yaml",
        """
datasets:
  ok:
    labels: [a, b]
  questions:
    labels: [HUM, LOC]
    guidelines:
      labels:
        HUM: {description: a person}
        PERSON: {description: a typo of HUM}
""",
    )
    with pytest.raises(ValidationError) as refused:
        load_catalog(datasets)
    message = str(refused.value)
    assert "dataset 'questions'" in message and "'PERSON'" in message
    assert "not among its labels ['HUM', 'LOC']" in message


def test_guideline_paths_are_relative_to_the_datasets_file_and_read_with_limits(
    tmp_path: Path,
) -> None:
    (tmp_path / "guides").mkdir()
    write(tmp_path / "guides" / "q.md", "# Questions\n\nLabel the answer type.\n")
    datasets = write(
        tmp_path / "datasets.yaml",
        """
datasets:
  q:
    labels: [HUM, LOC]
    guidelines:
      file: guides/q.md
      labels:
        LOC: {description: a place, examples: ["Where is Lima ?"]}
  bare:
    labels: [HUM, LOC]
  missing:
    labels: [HUM, LOC]
    guidelines: {file: guides/none.md}
""",
    )
    catalog = load_catalog(datasets)
    q = catalog.get("q")
    assert q.guidelines is not None and q.guidelines.file == tmp_path / "guides" / "q.md"
    assert read_guidelines_markdown(q).startswith("# Questions")
    assert q.guidelines.labels["LOC"].examples == ["Where is Lima ?"]
    # Labels without a description are fine; a dataset without guidelines has no Markdown.
    assert "HUM" not in q.guidelines.labels
    assert read_guidelines_markdown(catalog.get("bare")) == ""
    with pytest.raises(ValueError, match=r"dataset 'missing': cannot read its guidelines file"):
        read_guidelines_markdown(catalog.get("missing"))


def test_guideline_fields_are_checked() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Catalog.model_validate(
            {"datasets": {"d": {"labels": ["a", "b"], "guidelines": {"labels": {"a": {"x": 1}}}}}}
        )
    with pytest.raises(ValidationError, match="at least 1 character"):
        Catalog.model_validate(
            {
                "datasets": {
                    "d": {"labels": ["a", "b"], "guidelines": {"labels": {"a": {"examples": [""]}}}}
                }
            }
        )
