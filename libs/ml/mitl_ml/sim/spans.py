"""The simulator for span datasets (`task: spans`, NER): the same full-coverage loop and
baselines as coverage.py and baselines.py, over span sets, with the router's span core
(mitl_policy.spans).

- The model is the span pre-labeler the dataset ships with (kind spacy-ner: spaCy's
  pretrained pipeline through the catalog's `entity_map`, mitl_ml.spacy_ner). It is fixed:
  people's labels teach the router's thresholds, not the model (nothing is retrained). Its
  output over the dataset is computed once and cached under the cache directory. There is no
  random start (`initial` labels train a first model; a pretrained one needs none): the
  first round routes every item, and people's first labels are the router's calibration
  sample and its most uncertain items.
- People label an item's whole span set; a wrong annotator drops one span of the item
  (drawn per item; an item without entities stays right). Experts answer the truth.
- Precision is counted at entity level: `accepted_correct` counts the spans of accepted items
  that a true span matches (same offsets and label), out of `accepted_spans`.
  `final_correct` counts items whose final span set is exactly the true one (item accuracy);
  `details` adds the final labels' entity-level precision, recall and F1.
- The Ground-Truth-style baseline: a random sample labeled by people, one global threshold on
  the part confidences (every span's and the complete claim's) chosen on the sample with the
  router's bound, items whose every part clears it accepted, the rest labeled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from mitl_contracts.datasets import Policy, load_catalog
from mitl_contracts.events import Decision, ItemContent, Prediction
from mitl_contracts.spans import Span, least_confidence, spans_key, spans_of_key
from mitl_policy.calibration import Verdict, learn_thresholds
from mitl_policy.spans import (
    COMPLETE,
    parts_of,
    route_spans,
    span_verdicts,
    threshold_labels,
)

from mitl_ml.sim.baselines import (
    Sampled,
    ground_truth_baseline,
    labeled_by_people,
)
from mitl_ml.sim.memory import RouterMemory
from mitl_ml.sim.people import People
from mitl_ml.sim.results import CoverageResult
from mitl_ml.spacy_ner import SpacyNer, spec_for
from mitl_ml.span_data import load_spans
from mitl_ml.span_metrics import matched, span_scores

SPAN_SIM_DATASETS = ("wnut16",)
DEFAULT_CATALOG = Path("config/datasets.yaml")


@dataclass(frozen=True)
class SpanWorld:
    """A span dataset as the simulator sees it: texts, true span sets, and the fixed model's
    spans (with confidences) and spans_complete per item."""

    name: str
    labels: list[str]
    texts: list[str]
    truth: np.ndarray  # object [n]: each item's true span set key (spans_key)
    predicted: list[list[Span]]
    complete: list[float]
    version: str

    def subset(self, size: int, seed: int) -> SpanWorld:
        picked = np.sort(np.random.default_rng([seed, 3]).permutation(len(self.truth))[:size])
        return SpanWorld(
            self.name,
            self.labels,
            [self.texts[i] for i in picked],
            self.truth[picked],
            [self.predicted[i] for i in picked],
            [self.complete[i] for i in picked],
            self.version,
        )

    def predicted_key(self, item: int) -> str:
        return spans_key(self.predicted[item])


def load_span_world(name: str, cache_dir: Path, catalog: Path = DEFAULT_CATALOG) -> SpanWorld:
    """The dataset's gold spans and the pre-labeler's output on every text (from the cache
    when the same pipeline weights and entity_map made it before)."""
    dataset = load_catalog(catalog).get(name)
    if dataset.task != "spans" or not dataset.entity_map:
        raise ValueError(f"dataset {name!r} is not a span dataset with an entity_map")
    data = load_spans(name)
    spec = spec_for(dataset.entity_map)
    digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"spans-{name}-{digest}.json"
    if path.exists():
        cached = json.loads(path.read_text())
        predicted = [[Span.model_validate(s) for s in row] for row in cached["spans"]]
        complete = [float(c) for c in cached["complete"]]
    else:
        output = SpacyNer(spec, dataset.labels).predict(list(data.texts))
        assert output.spans is not None and output.spans_complete is not None
        predicted, complete = output.spans, output.spans_complete
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [[s.model_dump() for s in row] for row in predicted]
        path.write_text(json.dumps({"spans": rows, "complete": complete}))
    truth = np.array([spans_key(s) for s in data.spans], dtype=object)
    version = f"{name}-spacy-{spec.package_version}"
    return SpanWorld(
        name, list(dataset.labels), list(data.texts), truth, predicted, complete, version
    )


class SpanOracle:
    """People answer span sets: the truth, or for `error_rate` of items the truth without one
    of its spans (drawn per item); experts answer the truth. Fixed per seed."""

    def __init__(self, truth: np.ndarray, error_rate: float, seed: int) -> None:
        if not 0.0 <= error_rate < 1.0:
            raise ValueError(f"error_rate must be in [0, 1), got {error_rate}")
        rng = np.random.default_rng([seed, 7919])
        wrong = rng.random(len(truth)) < error_rate
        drop = rng.integers(0, 1 << 30, len(truth))
        answers = truth.copy()
        for item in np.flatnonzero(wrong):
            spans = spans_of_key(str(truth[item]))
            if spans:
                del spans[int(drop[item]) % len(spans)]
                answers[item] = spans_key(spans)
        self.truth = truth
        self.annotator_answers = answers

    def annotator(self, item: int) -> str:
        return str(self.annotator_answers[item])

    def expert(self, item: int) -> str:
        return str(self.truth[item])


class SpanRouter(RouterMemory):
    """The router's span state in memory: decisions, outcomes and learned thresholds."""

    def __init__(self, world: SpanWorld, policy: Policy, seed: int = 0) -> None:
        super().__init__(policy)
        self.world = world
        # Item ids carry the seed: the calibration draw is fixed by (item id, model version),
        # and the model is the same in every seed, so each seed draws its own sample.
        self.prefix = f"s{seed}-"

    def relearn(self) -> None:
        if self.policy.learns_thresholds:
            found = span_verdicts(self.outcomes, self.policy)
            labels = threshold_labels(self.world.labels)
            self.thresholds = learn_thresholds(found, labels, self.policy)

    def route(self, item: int) -> Decision:
        world = self.world
        k = len(world.labels)
        prediction = Prediction(
            event_id=f"prediction-{item}-{world.version}",
            dataset=world.name,
            item_id=f"{self.prefix}{item}",
            content=ItemContent(text=world.texts[item]),
            model_version=world.version,
            labels=world.labels,
            probabilities=[1.0 / k] * k,
            spans=world.predicted[item],
            spans_complete=world.complete[item],
        )
        routed = route_spans(prediction, self.policy, now=self.tick(), context=self.context(item))
        return self.remember(item, prediction, routed.decision)

    def verify(self, item: int, answer: str, source: str, spot_check: bool) -> None:
        self.record(item, f"{self.prefix}{item}", answer, source, spot_check)


def _result(method: str, world: SpanWorld, seed: int, policy: Policy) -> CoverageResult:
    result = CoverageResult(
        method, world.name, seed, float(policy.target_precision or 0), len(world.truth)
    )
    result.accepted_spans = 0
    return result


def _count_accepted(result: CoverageResult, world: SpanWorld, items: Sequence[int]) -> None:
    """Entity-level counts of the model's spans on accepted `items`."""
    for item in items:
        gold = spans_of_key(str(world.truth[item]))
        result.accepted_correct += matched(gold, world.predicted[item])
        result.accepted_spans = (result.accepted_spans or 0) + len(world.predicted[item])


def entity_figures(world: SpanWorld, final: np.ndarray) -> dict[str, float]:
    """Entity-level precision, recall and F1 of the final span sets against the truth."""
    scores = span_scores(
        [spans_of_key(str(k)) for k in world.truth], [spans_of_key(str(k)) for k in final]
    )
    return {
        "final_entity_precision": round(scores.precision, 4),
        "final_entity_recall": round(scores.recall, 4),
        "final_entity_f1": round(scores.f1, 4),
    }


def full_coverage_spans(
    world: SpanWorld,
    policy: Policy,
    *,
    seed: int,
    retrain_every: int,
    initial: int,
    oracle: SpanOracle,
    progress: Callable[[int, int], None] | None = None,
    retrain_growth: float = 0.0,
) -> CoverageResult:
    """Label every item with the loop (see coverage.py), over span sets, the model fixed:
    each round relearns the thresholds from the verified items and routes what is pending.
    `initial` is accepted for the runner's sake and unused (see the module docstring)."""
    n = len(world.truth)
    result = _result("loop", world, seed, policy)
    order = np.random.default_rng([seed, 1]).permutation(n)
    final = np.empty(n, dtype=object)
    people = People(oracle, final, result, progress)
    pending = people.start(order, 0)
    router = SpanRouter(world, policy, seed)
    while pending:
        people.next_round(pending)
        router.relearn()
        people.certify(router.thresholds)
        queue: list[tuple[float, int, Decision]] = []
        accepted: list[int] = []
        for item in sorted(pending):
            decision = router.route(item)
            if decision.route != "accept":
                queue.append((decision.priority, item, decision))
                continue
            pending.discard(item)
            accepted.append(item)
            people.accept(router, item, decision, world.predicted_key(item))
        _count_accepted(result, world, accepted)
        pending -= set(
            people.review_queue(router, queue, people.batch(retrain_every, retrain_growth))
        )
    people.finish(world.truth, router.thresholds)
    result.details |= entity_figures(world, final)
    return result


def review_all_spans(world: SpanWorld, policy: Policy, *, seed: int,
                     oracle: SpanOracle) -> CoverageResult:  # fmt: skip
    result = _result("review_all", world, seed, policy)
    labeled_by_people(result, world.truth, oracle.annotator_answers)
    result.details = entity_figures(world, oracle.annotator_answers)
    return result


def sample_verdicts(world: SpanWorld, items: np.ndarray, answers: np.ndarray) -> list[Verdict]:
    """The part verdicts of the fixed model on people-labeled `items` (entity level, as
    mitl_policy.spans.span_verdicts counts them), pooled under one label."""
    verdicts = []
    for item, answer in zip(items, answers, strict=True):
        verified = {s.key for s in spans_of_key(str(answer))}
        found = {s.key for s in world.predicted[item]}
        for part in parts_of(world.predicted[item], world.complete[item]):
            right = verified <= found if part.label == COMPLETE else part.key in verified
            verdicts.append(Verdict("*", part.confidence, right))
    return verdicts


def _sample_model(
    world: SpanWorld, sample: np.ndarray, answers: np.ndarray, rest: np.ndarray
) -> tuple[list[Verdict], np.ndarray, np.ndarray]:
    """The fixed model's part verdicts on the sample; on the rest, each item's least
    certain part and its span set key."""
    weakest = [least_confidence(world.predicted[i], world.complete[i]) for i in rest]
    predicted = np.array([world.predicted_key(i) for i in rest], dtype=object)
    return sample_verdicts(world, sample, answers), np.array(weakest), predicted


def _entity_counts(
    world: SpanWorld, oracle: SpanOracle, result: CoverageResult, run: Sampled
) -> None:
    """The baseline's entity-level counts and figures: the accepted items' spans are the
    model's, the others the annotators'."""
    result.accepted_correct = 0
    _count_accepted(result, world, [int(i) for i in run.rest[run.accepted]])
    final = oracle.annotator_answers.copy()
    final[run.rest[run.accepted]] = run.predicted[run.accepted]
    result.details |= entity_figures(world, final)


def ground_truth_spans(
    world: SpanWorld,
    policy: Policy,
    *,
    seed: int,
    oracle: SpanOracle,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    """The best of the baseline's sample sizes (fewest human labels, then most correct)."""
    return ground_truth_baseline(
        lambda: _result("ground_truth", world, seed, policy),
        world.truth, oracle.annotator_answers, policy, seed,
        partial(_sample_model, world), progress, partial(_entity_counts, world, oracle),
    )  # fmt: skip
