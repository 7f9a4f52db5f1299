"""Guideline versions: content identity (hash), which edits make a version, what a version
changed, and submitted guidelines naming labels the dataset lacks."""

from __future__ import annotations

import pytest
from mitl_contracts.datasets import Catalog, LabelGuide
from mitl_review.core.errors import Unprocessable
from mitl_review.core.guidelines import (
    Changes,
    GuidelineContent,
    LabelDefinition,
    changes,
    checked,
    from_config,
    labels_from_json,
    makes_version,
)
from mitl_review.schemas import GuidelinesUpdate

from tests.unit.review.factories import CATALOG, LABELS

HUM = LabelDefinition("A person or a group", ("Who wrote Hamlet ?",))
LOC = LabelDefinition("A place", ("Where is Lima ?", "What is the capital of Uruguay ?"))


def content(markdown: str = "# Guide\n", **labels: LabelDefinition) -> GuidelineContent:
    return GuidelineContent(markdown, labels)


def test_the_same_content_hashes_the_same_however_it_was_written() -> None:
    a = GuidelineContent("# Guide\n", {"HUM": HUM, "LOC": LOC})
    b = GuidelineContent("# Guide\n", {"LOC": LOC, "HUM": HUM})
    assert a.sha256 == b.sha256 and len(a.sha256) == 64
    # A label described with nothing is the same as one not described.
    assert content(HUM=HUM, NUM=LabelDefinition()).sha256 == content(HUM=HUM).sha256


@pytest.mark.parametrize(
    "edited",
    [
        content("# Guide!\n", HUM=HUM, LOC=LOC),
        content(HUM=HUM),
        content(HUM=HUM, LOC=LabelDefinition("A location", LOC.examples)),
        content(HUM=HUM, LOC=LabelDefinition(LOC.description, LOC.examples[::-1])),
    ],
)
def test_any_edit_changes_the_hash(edited: GuidelineContent) -> None:
    assert edited.sha256 != content(HUM=HUM, LOC=LOC).sha256


def test_stored_labels_read_back_to_the_same_content() -> None:
    original = content(HUM=HUM, LOC=LOC)
    again = GuidelineContent(original.markdown, labels_from_json(original.labels_json()))
    assert again == original and again.sha256 == original.sha256


def test_an_api_edit_makes_a_version_unless_it_is_the_latest() -> None:
    guide = content(HUM=HUM)
    assert makes_version(guide, "api", None, None)
    assert not makes_version(guide, "api", guide.sha256, None)
    assert makes_version(guide, "api", "other", guide.sha256)


def test_the_datasets_file_makes_a_version_only_when_it_was_edited() -> None:
    from_file, put_later = content(HUM=HUM), content(HUM=HUM, LOC=LOC)
    # First start: version 1.
    assert makes_version(from_file, "config", None, None)
    # Restart with the file unchanged: nothing.
    assert not makes_version(from_file, "config", from_file.sha256, from_file.sha256)
    # An admin PUT a newer version; a restart with the unchanged file must not undo it.
    assert not makes_version(from_file, "config", put_later.sha256, from_file.sha256)
    # The file edited to what the admin PUT: already the latest.
    assert not makes_version(put_later, "config", put_later.sha256, from_file.sha256)
    # The file edited to something new: a new version.
    edited = content("# Guide, edited\n", HUM=HUM)
    assert makes_version(edited, "config", put_later.sha256, from_file.sha256)


def test_changes_name_what_a_version_changed() -> None:
    first = content(HUM=HUM, LOC=LOC)
    assert changes(None, first) == Changes(markdown=True, added=("HUM", "LOC"))
    second = content(
        "# Guide v2\n", HUM=LabelDefinition("A human", HUM.examples), NUM=LabelDefinition("n")
    )
    assert changes(first, second) == Changes(
        markdown=True, added=("NUM",), removed=("LOC",), changed=("HUM",)
    )
    assert changes(second, second) == Changes(markdown=False)


def test_config_guidelines_and_label_order() -> None:
    catalog = Catalog.model_validate(
        {
            "datasets": {
                "q": {
                    "labels": list(LABELS),
                    "guidelines": {
                        "labels": {
                            "LOC": {"description": "A place"},
                            "ABBR": {"description": "Short form", "examples": ["What is A ?"]},
                        }
                    },
                }
            }
        }
    )
    guide = from_config(catalog.get("q"), "# Q\n")
    assert guide is not None and guide.markdown == "# Q\n"
    assert [label for label, _ in guide.ordered(LABELS)] == ["ABBR", "LOC"]
    assert guide.labels["ABBR"] == LabelDefinition("Short form", ("What is A ?",))
    assert from_config(CATALOG.get("trec6"), "") is None
    # A stored label the dataset no longer has is listed after the dataset's own.
    old = content(ZZZ=LabelDefinition("gone"), LOC=LOC, AAA=LabelDefinition("gone too"))
    assert [label for label, _ in old.ordered(LABELS)] == ["LOC", "AAA", "ZZZ"]


def test_submitted_guidelines_naming_labels_the_dataset_lacks_are_refused() -> None:
    body = GuidelinesUpdate(
        markdown="# x",
        labels={
            "HUM": LabelGuide(description="person"),
            "PERSON": LabelGuide(description="typo"),
            "PLACE": LabelGuide(),
        },
    )
    with pytest.raises(Unprocessable) as refused:
        checked(CATALOG.get("trec6"), body.markdown, body.labels)
    assert refused.value.status == 422
    assert "dataset 'trec6'" in refused.value.message
    assert "'PERSON', 'PLACE'" in refused.value.message
    accepted = checked(CATALOG.get("trec6"), "# x", {"HUM": LabelGuide(description="person")})
    assert accepted.labels == {"HUM": LabelDefinition("person")}


@pytest.mark.parametrize(
    ("markdown", "labels", "named"),
    [
        ("a\x00b", {}, "markdown: contains a NUL character"),
        ("# ok", {"HUM": LabelGuide(description="\x00")}, "labels.HUM.description: contains"),
        ("# ok", {"LOC": LabelGuide(examples=["ok", "\x00"])}, "labels.LOC.examples[1]: contains"),
    ],
)
def test_text_postgres_cannot_store_is_refused_naming_where(
    markdown: str, labels: dict[str, LabelGuide], named: str
) -> None:
    with pytest.raises(Unprocessable, match=named.replace("[", r"\[").replace("]", r"\]")):
        checked(CATALOG.get("trec6"), markdown, labels)
