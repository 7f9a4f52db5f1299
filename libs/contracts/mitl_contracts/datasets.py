"""Datasets are declarative: label set, input kind, limits, model, routing policy and the
annotation guidelines people label by.

One YAML file (`MITL_DATASETS_FILE`) declares them all; every service validates it the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mitl_contracts.events import (
    LABEL_SET_SEPARATOR,
    MAX_IMAGE_BYTES,
    MAX_TEXT_CHARS,
    MAX_VECTOR_DIM,
    InputKind,
    ItemContent,
    Name,
    Prediction,
    Task,
    check_label_probabilities,
)
from mitl_contracts.spans import check_spans

# Widest or highest image a dataset may allow (pixels).
MAX_IMAGE_SIDE = 4096


class UnknownDataset(KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.message = f"unknown dataset {name!r}; known: {', '.join(sorted(known)) or 'none'}"

    def __str__(self) -> str:
        return self.message


DEFAULT_SPOT_CHECK_CEILING = 0.1

BoundName = Literal["wilson", "clopper_pearson", "betting_cs"]


def _all_correct_reaches(n: int, target: float, bound: str, level: float) -> bool:
    """Does the one-sided lower bound on n correct answers out of n reach `target`?"""
    if bound == "wilson":
        z = NormalDist().inv_cdf(level)
        return n / (n + z * z) >= target
    if bound == "clopper_pearson":
        return (1 - level) ** (1 / n) >= target
    # betting_cs: the bettor's wealth at the target after n successes (mitl_policy.bounds)
    log_wealth = (
        math.log1p(-(target ** (n + 1)))
        - math.log(n + 1)
        - math.log1p(-target)
        - n * math.log(target)
    )
    return log_wealth >= -math.log(1 - level)


def min_calibration_labels(target: float, bound: str, level: float) -> int:
    """The fewest sampled items, all correct, whose lower bound reaches `target`: a smaller
    calibration budget can never certify it."""
    n = 1
    while not _all_correct_reaches(n, target, bound, level):
        n *= 2
    low = n // 2
    while low + 1 < n:
        mid = (low + n) // 2
        if _all_correct_reaches(mid, target, bound, level):
            n = mid
        else:
            low = mid
    return n


class Policy(BaseModel):
    """How the router treats a dataset's predictions. Versioned: every decision records it.

    Two ways to auto-accept: a raw `accept_threshold`, or a `target_precision` from which the
    router learns one threshold per class out of human-verified outcomes (see docs/policies.md).
    Contradictory settings are refused with a message naming the fields.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "v1"
    accept_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    escalation_floor: float = Field(default=0.3, ge=0.0, lt=1.0)
    outlier_threshold: float | None = Field(default=None, gt=0.0)
    uncertainty: Literal["least_confidence", "margin", "entropy"] = "margin"
    # Items whose metadata[key] is one of the values always go to an expert.
    escalate_metadata: dict[str, list[str]] = Field(default_factory=dict)
    # Share of auto-accepted items also sent, blind, to review to measure accepted precision.
    spot_check_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # While the drift monitor has an alert open for the dataset, the accept threshold rises by
    # this much (capped at 1) and the spot-check share is at least drift_spot_check_rate.
    drift_threshold_raise: float = Field(default=0.05, ge=0.0, le=1.0)
    drift_spot_check_rate: float = Field(default=0.2, ge=0.0, le=1.0)

    # Precision-targeted auto-accept: a class's items are accepted at or above the lowest
    # confidence where a one-sided lower bound on the precision of verified items stays at or
    # above the target; until then (cold start) nothing of that class is accepted.
    target_precision: float | None = Field(default=None, gt=0.0, lt=1.0)
    # One-sided lower bound: "wilson" and "clopper_pearson" hold for one look at a sample of
    # fixed size; "betting_cs" (a confidence sequence) holds however often it is checked.
    bound: BoundName = "wilson"
    confidence_level: float = Field(default=0.95, gt=0.0, lt=1.0)
    # "dataset": the bound holds for the precision of everything accepted in the dataset, with
    # a class's threshold raised where its own items show precision below the target;
    # "class": each class's own accepted precision must reach the bound (needs far more
    # verified items per class).
    precision_scope: Literal["dataset", "class"] = "dataset"
    # Scope "dataset": when a class's own calibration verdicts above the pooled threshold
    # raise its threshold. "observed" (the default): their share right is under the target;
    # "significant": their one-sided upper bound is, so one mistake among a dozen verdicts
    # no longer lifts a class's threshold above it (docs/policies.md, "How thresholds are
    # learned"). The pooled bound over the classes' thresholds is checked either way.
    class_raise: Literal["observed", "significant"] = "observed"
    # Verified items a class needs before it can get a threshold; until then its items are
    # reviewed as a random calibration sample.
    min_verified: int = Field(default=50, ge=1, le=100_000)
    # Whom min_verified counts for: "class" (the default), each class on its own; "dataset",
    # the classes together, so each class needs its share, min_verified / classes rounded up
    # (docs/policies.md, "How thresholds are learned": ten classes at 50 each needed 500
    # labels before every class could be accepted, however early the pooled bound certified).
    min_verified_scope: Literal["class", "dataset"] = "class"
    # Scope "dataset": a class with fewer than its min_verified verified items (no threshold
    # of its own yet) accepts at the pooled threshold, which the pooled bound certifies over
    # every class's calibration verdicts, as a Ground-Truth-style global threshold does; its
    # own (raised) threshold replaces it once it has min_verified. Until then it samples
    # calibration reviews as an uncertified class does. The bound is on the precision of
    # everything accepted, pooled (docs/policies.md, "How thresholds are learned"). False
    # (the default): such a class is not accepted.
    shared_threshold: bool = False
    # Learned thresholds never fall below this confidence.
    min_accept_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    # Most recent verified items per dataset that thresholds are learned from.
    calibration_window: int = Field(default=5000, ge=10, le=1_000_000)
    # Calibration sampling: this share of items (a fixed random draw per item id), whenever
    # their confidence is >= min_accept_threshold, goes to a blind review instead of being
    # accepted or queued by uncertainty; thresholds are then bounded on that uniform random
    # sample alone. 0: thresholds are bounded on every verified item (cold-start classes
    # are reviewed in random order instead).
    calibration_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Adaptive calibration sampling (docs/policies.md, "Calibration sampling"): with a
    # budget, each class's rate starts at calibration_max_rate until the class is certified or
    # `calibration_budget` calibration labels are spent, then decays to calibration_rate (the
    # floor), rising again as the bound nears the target (within calibration_margin). The
    # budget is per class in precision_scope "class", and shared by the classes in scope
    # "dataset" (the bound is pooled there, so is what it costs).
    calibration_budget: int | None = Field(default=None, ge=1, le=1_000_000)
    # What the floor may spend after the budget (docs/policies.md, "Calibration sampling"):
    # once the calibration sample holds calibration_budget + calibration_floor_budget labels
    # (pooled like the budget) and the class is certified, it draws no more (rate 0); spot
    # checks keep watching what is accepted, and a withdrawn certificate draws at the floor
    # again. None: the floor draws without end.
    calibration_floor_budget: int | None = Field(default=None, ge=0, le=1_000_000)
    # While a class draws at a raised rate (above calibration_rate), the calibration reviews
    # queued and not yet labeled never exceed the budget still unspent (pooled like the
    # budget): of the predictions drawn past that, none is a calibration review (rate 0), so
    # they are accepted or queued by uncertainty like any other (docs/policies.md,
    # "Calibration sampling"). False (the default): every draw under the raised rate is
    # queued; measured in the simulator, the cap trades accuracy against labels (README).
    calibration_queue_cap: bool = False
    calibration_max_rate: float | None = Field(default=None, gt=0.0, le=1.0)
    calibration_margin: float = Field(default=0.01, gt=0.0, lt=1.0)
    # The threshold scan starts at the first candidate whose n could pass with this share of
    # the target's error rate (1 - target) wrong: 0, where n all right could pass.
    scan_start_errors: float = Field(default=0.0, ge=0.0, lt=1.0)
    # A new model version starts from the outcomes verified for earlier versions ("inherit"),
    # or with nothing accepted until its own outcomes suffice ("cold").
    new_model_start: Literal["inherit", "cold"] = "inherit"
    # The spot-check share rises from spot_check_rate to spot_check_max_rate (unset: the larger
    # of spot_check_rate and 0.1) as the bound on the precision of spot-checked accepted items
    # falls from target + margin to the target.
    spot_check_max_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    spot_check_margin: float = Field(default=0.005, gt=0.0, lt=1.0)
    # What that bound is computed on: "spot_checks" (the default), the spot checks alone;
    # "accepted": every blind verdict of what is accepted, the spot checks and the
    # calibration verdicts at or above their class's threshold (docs/policies.md, "Spot checks
    # that adapt"). Needs calibration sampling.
    spot_check_evidence: Literal["spot_checks", "accepted"] = "spot_checks"
    # Active learning: review priority is multiplied by (1 - diversity_weight * similarity to
    # the most similar recently queued text), similarity estimated with MinHash over word
    # shingles of `diversity_shingle` words in a window of `diversity_window` queued items.
    diversity_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    diversity_window: int = Field(default=500, ge=1, le=100_000)
    diversity_shingle: int = Field(default=2, ge=1, le=5)
    # Send an item to an expert when two annotators' labels differ, or when a newer model
    # version's prediction for it differs from an earlier version's.
    escalate_on_disagreement: bool = True
    escalate_on_model_change: bool = True
    # Where such a model-change item goes: the expert queue, or annotators (review, never
    # accepted as is). After a promotion the re-scored queue holds many items whose label the
    # better model changed: in the demo, 25 % of its decisions, all to experts.
    model_change_queue: Literal["expert", "annotator"] = "expert"
    # Inter-annotator agreement: this share of the items sent to the annotator queue (a draw
    # fixed by dataset and item id, so every replica picks the same items) is labeled by
    # `overlap_annotators` different annotators, each label published as any other; annotators
    # who disagree on one send it to an expert (escalate_on_disagreement). 0: one label each.
    overlap_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    overlap_annotators: int = Field(default=2, ge=2, le=10)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.target_precision is None and self.escalation_floor >= self.accept_threshold:
            raise ValueError(
                f"escalation_floor ({self.escalation_floor}) must be below "
                f"accept_threshold ({self.accept_threshold})"
            )
        if self.spot_check_max_rate is not None and self.spot_check_rate > self.spot_check_max_rate:
            raise ValueError(
                f"spot_check_rate ({self.spot_check_rate}) must not exceed "
                f"spot_check_max_rate ({self.spot_check_max_rate})"
            )
        if (
            self.calibration_max_rate is not None
            and self.calibration_rate > self.calibration_max_rate
        ):
            raise ValueError(
                f"calibration_rate ({self.calibration_rate}) must not exceed "
                f"calibration_max_rate ({self.calibration_max_rate})"
            )
        if self.spot_check_evidence == "accepted" and not (
            self.calibration_rate > 0 or self.calibration_max_rate
        ):
            raise ValueError(
                "spot_check_evidence 'accepted' needs calibration sampling (calibration_rate or "
                "calibration_max_rate): the calibration verdicts are the evidence it adds"
            )
        if self.shared_threshold and self.precision_scope != "dataset":
            raise ValueError(
                "shared_threshold needs precision_scope 'dataset': the shared threshold is "
                "certified by the pooled bound, and in scope 'class' each class needs its own"
            )
        if self.class_raise != "observed" and self.precision_scope != "dataset":
            raise ValueError(
                f"class_raise {self.class_raise!r} needs precision_scope 'dataset': in scope "
                "'class' each class's threshold rests on its own bound, nothing is raised"
            )
        if self.calibration_floor_budget is not None and self.calibration_budget is None:
            raise ValueError(
                "calibration_floor_budget needs calibration_budget: it is what the floor may "
                "spend after that budget"
            )
        if self.calibration_budget is not None:
            if self.target_precision is None or self.calibration_max_rate is None:
                raise ValueError(
                    "calibration_budget needs target_precision and calibration_max_rate: it "
                    "sizes the calibration sample that certifies a target precision"
                )
            needed = min_calibration_labels(
                self.target_precision, self.bound, self.confidence_level
            )
            if self.calibration_budget < needed:
                raise ValueError(
                    f"calibration_budget ({self.calibration_budget}) cannot certify "
                    f"target_precision {self.target_precision} with bound {self.bound} at "
                    f"confidence_level {self.confidence_level} even if every sampled item "
                    f"were correct: the minimum budget is {needed}"
                )
        if (
            self.calibration_rate > 0 or self.calibration_max_rate
        ) and self.target_precision is None:
            raise ValueError(
                f"calibration_rate ({self.calibration_rate}) needs target_precision: the "
                "calibration sample is what learned thresholds are bounded on"
            )
        # A policy written back with its defaults (overlap_annotators 2) is not a mistake.
        overlap_default = type(self).model_fields["overlap_annotators"].default
        if (
            "overlap_annotators" in self.model_fields_set
            and self.overlap_annotators != overlap_default
            and self.overlap_rate == 0
        ):
            raise ValueError(
                f"overlap_annotators ({self.overlap_annotators}) is set but overlap_rate is 0, "
                "so no item is labeled by more than one annotator: set overlap_rate, the share "
                "of reviewed items that go to that many annotators (e.g. 0.05)"
            )
        if self.target_precision is not None:
            if "accept_threshold" in self.model_fields_set:
                raise ValueError(
                    "accept_threshold and target_precision are both set: a policy either "
                    "fixes a raw threshold or learns thresholds for a target precision"
                )
            if self.escalation_floor >= self.min_accept_threshold:
                raise ValueError(
                    f"escalation_floor ({self.escalation_floor}) must be below "
                    f"min_accept_threshold ({self.min_accept_threshold})"
                )
        return self

    @property
    def learns_thresholds(self) -> bool:
        return self.target_precision is not None

    def class_min_verified(self, classes: int) -> int:
        """Verified items each of `classes` classes needs before it can get a threshold."""
        if self.min_verified_scope == "class":
            return self.min_verified
        return math.ceil(self.min_verified / max(1, classes))

    @property
    def calibration_ceiling(self) -> float:
        """The highest calibration rate: calibration_max_rate, else the fixed rate."""
        if self.calibration_max_rate is not None:
            return self.calibration_max_rate
        return self.calibration_rate

    @property
    def spot_check_ceiling(self) -> float:
        """The share spot checks may rise to when accepted precision nears the target."""
        if self.spot_check_max_rate is not None:
            return self.spot_check_max_rate
        return max(self.spot_check_rate, DEFAULT_SPOT_CHECK_CEILING)


MAX_GUIDELINE_DESCRIPTION_CHARS = 2000
MAX_GUIDELINE_EXAMPLES = 20
MAX_GUIDELINE_EXAMPLE_CHARS = 500
# The Markdown of one dataset's guidelines (a long style guide fits; a book does not).
MAX_GUIDELINE_MARKDOWN_CHARS = 200_000

GuidelineExample = Annotated[str, Field(min_length=1, max_length=MAX_GUIDELINE_EXAMPLE_CHARS)]


class LabelGuide(BaseModel):
    """What one label means: shown beside its choice in the review UI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(default="", max_length=MAX_GUIDELINE_DESCRIPTION_CHARS)
    examples: list[GuidelineExample] = Field(
        default_factory=list, max_length=MAX_GUIDELINE_EXAMPLES
    )


class Guidelines(BaseModel):
    """A dataset's annotation guidelines: a Markdown file (relative to the datasets file, like
    model paths) and a definition with short examples per label. Every label key must be one of
    the dataset's labels. The review API stores them versioned (docs/review.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path | None = None
    labels: dict[str, LabelGuide] = Field(default_factory=dict)


class Dataset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    input_kind: InputKind = "text"
    # "single": one label per item; "multilabel": a set of labels per item, each predicted
    # with its own probability (docs/multilabel.md).
    # "spans": a set of entity spans in each item's text (docs/spans.md).
    task: Task = "single"
    labels: list[str] = Field(min_length=2)
    # Span datasets: whether two entities may overlap (off: overlapping spans are refused),
    # and how a pretrained pre-labeler's entity types map to this dataset's labels (a type
    # not listed is dropped; empty: the model's types are the dataset's labels).
    allow_overlap: bool = False
    entity_map: dict[str, str] = Field(default_factory=dict)
    vector_dim: int | None = Field(default=None, ge=1, le=MAX_VECTOR_DIM)
    max_text_chars: int = Field(default=2000, ge=1, le=MAX_TEXT_CHARS)
    # Image items: at most this many bytes (PNG or JPEG, decoded from base64), at most
    # `max_image_side` pixels wide and high (ingest decodes every image to check).
    max_image_bytes: int = Field(default=256 * 1024, ge=1, le=MAX_IMAGE_BYTES)
    max_image_side: int = Field(default=1024, ge=1, le=MAX_IMAGE_SIDE)
    # Whether ingest may fetch an item's `image_url`; off, such an item is rejected.
    image_urls: bool = False
    model: Path | None = None
    policy: Policy = Field(default_factory=Policy)
    guidelines: Guidelines | None = None
    # Single-label text: the trainer's hybrid heads also read each text's opening word in
    # context (for data whose first word carries the class: questions, commands, intents;
    # the trainer's MITL_HYBRID_LEADING turns it on for every such dataset).
    hybrid_leading: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Dataset:
        if self.hybrid_leading and (self.input_kind != "text" or self.task != "single"):
            raise ValueError(
                "hybrid_leading is for single-label text datasets (the hybrid head reads it); "
                f"this one is {self.task} on {self.input_kind} items"
            )
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels are not distinct")
        if self.input_kind == "vector" and self.vector_dim is None:
            raise ValueError("a vector dataset needs vector_dim")
        if self.guidelines is not None:
            check_guideline_labels(self.name, self.labels, self.guidelines.labels)
        if self.task == "multilabel":
            separators = [label for label in self.labels if LABEL_SET_SEPARATOR in label]
            if separators:
                raise ValueError(
                    f"multi-label dataset labels may not contain {LABEL_SET_SEPARATOR!r}: "
                    f"{', '.join(separators)}"
                )
        if self.task == "spans":
            if self.input_kind != "text":
                raise ValueError("a span dataset takes text items (input_kind: text)")
            bad = [label for label in self.labels if ":" in label or "|" in label]
            if bad:
                raise ValueError(f"span labels may not contain ':' or '|': {', '.join(bad)}")
        unmapped = sorted(set(self.entity_map.values()) - set(self.labels))
        if unmapped:
            raise ValueError(f"entity_map maps to label(s) not in labels: {', '.join(unmapped)}")
        return self

    def check_prediction(self, prediction: Prediction) -> None:
        """Raise ValueError naming the fault if `prediction` does not fit this dataset's task:
        a multi-label dataset needs a probability for each of its labels; a span dataset
        needs spans within the text, with its labels, not overlapping unless allowed."""
        if self.task == "spans" or prediction.spans is not None:
            if prediction.spans is None:
                raise ValueError(f"dataset {self.name!r} labels spans; the prediction has none")
            if self.task != "spans":
                raise ValueError(f"dataset {self.name!r} is {self.task}; the prediction has spans")
            text = prediction.content.text
            check_spans(
                prediction.spans,
                text_length=None if text is None else len(text),
                labels=self.labels,
                allow_overlap=self.allow_overlap,
            )
            return
        if self.task == "single":
            if prediction.label_probabilities is not None:
                raise ValueError(
                    f"dataset {self.name!r} is single-label; the prediction carries "
                    "multi-label probabilities"
                )
            return
        if prediction.label_probabilities is None:
            raise ValueError(
                f"dataset {self.name!r} is multi-label; the prediction has no label_probabilities"
            )
        check_label_probabilities(self.labels, prediction.label_probabilities)

    def check_content(self, content: ItemContent) -> None:
        """Raise ValueError naming the problem if `content` does not fit this dataset."""
        if content.kind != self.input_kind:
            raise ValueError(
                f"dataset {self.name!r} takes {self.input_kind} items, not {content.kind}"
            )
        if content.text is not None and len(content.text) > self.max_text_chars:
            raise ValueError(
                f"text has {len(content.text)} characters; dataset {self.name!r} allows "
                f"{self.max_text_chars}"
            )
        if content.vector is not None and len(content.vector) != self.vector_dim:
            raise ValueError(
                f"vector has {len(content.vector)} values; "
                f"dataset {self.name!r} takes {self.vector_dim}"
            )
        if (data := content.image_data) is not None and len(data) > self.max_image_bytes:
            raise ValueError(
                f"image has {len(data)} bytes; dataset {self.name!r} allows "
                f"{self.max_image_bytes} (max_image_bytes)"
            )


def check_guideline_labels(dataset: str, labels: list[str], described: Iterable[str]) -> None:
    """Raise ValueError naming the dataset and every described label not in its label set."""
    unknown = [label for label in described if label not in labels]
    if unknown:
        names = ", ".join(repr(label) for label in unknown)
        raise ValueError(
            f"dataset {dataset!r}: the guidelines describe {names}, not among its labels {labels}"
        )


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    datasets: dict[str, Dataset]

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("datasets"), dict):
            data = dict(data)
            data["datasets"] = {
                key: {"name": key, **value} if isinstance(value, dict) else value
                for key, value in data["datasets"].items()
            }
        return data

    def get(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise UnknownDataset(name, list(self.datasets)) from None


def _resolved(ds: Dataset, folder: Path) -> Dataset:
    """`ds` with its relative model and guidelines paths resolved against `folder`."""
    update: dict[str, object] = {}
    if ds.model is not None and not ds.model.is_absolute():
        update["model"] = (folder / ds.model).resolve()
    guide = ds.guidelines
    if guide is not None and guide.file is not None and not guide.file.is_absolute():
        update["guidelines"] = guide.model_copy(update={"file": (folder / guide.file).resolve()})
    return ds.model_copy(update=update) if update else ds


def load_catalog(path: Path) -> Catalog:
    """Read and validate the datasets file; relative model and guidelines paths are resolved
    against it. A guideline naming a label the dataset does not have is refused here, so every
    service refuses it at start-up."""
    raw = yaml.safe_load(path.read_text()) or {}
    catalog = Catalog.model_validate(raw)
    resolved = {name: _resolved(ds, path.parent) for name, ds in catalog.datasets.items()}
    return Catalog(datasets=resolved)


def read_guidelines_markdown(dataset: Dataset) -> str:
    """The Markdown of `dataset`'s guidelines file ('' without one); a missing, unreadable or
    oversized file raises ValueError naming the dataset and the path."""
    guide = dataset.guidelines
    if guide is None or guide.file is None:
        return ""
    try:
        text = guide.file.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as error:
        raise ValueError(
            f"dataset {dataset.name!r}: cannot read its guidelines file {guide.file}: {error}"
        ) from None
    if len(text) > MAX_GUIDELINE_MARKDOWN_CHARS:
        raise ValueError(
            f"dataset {dataset.name!r}: guidelines file {guide.file} has {len(text)} characters; "
            f"at most {MAX_GUIDELINE_MARKDOWN_CHARS} are allowed"
        )
    return text
