"""The simulator for multi-label datasets (`task: multilabel`): the same full-coverage loop
and baselines as coverage.py and baselines.py, over label sets, with the router's multi-label
core (mitl_policy.multilabel).

- The model is a one-vs-rest logistic-regression head: one binary classifier per label, each
  label's probability on its own (a label with one class in the training labels gets the
  share of items that have it). A vector dataset's head reads its vectors; a text dataset's
  (wnut16-types) the served kind's features (mitl_ml.text_ovr: the MiniLM embedding,
  standardised, beside TF-IDF word and char n-grams, at that kind's C).
- People label an item's whole set; a wrong annotator toggles one label (drawn per item).
- Precision is counted per label decision: `accepted_correct` counts the label decisions of
  accepted items that were right, out of auto_accepted x labels; `final_correct` counts the
  right label decisions of every final label set (results.CoverageResult.decisions_per_item).
- The Ground-Truth-style baseline: a random sample labeled by people, one global threshold on
  label-decision confidence chosen on out-of-fold predictions with the router's bound, items
  whose every label clears it accepted, the rest labeled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from mitl_contracts.datasets import Policy
from mitl_contracts.events import (
    Decision,
    ItemContent,
    Prediction,
    distribution_of,
    label_set_key,
)
from mitl_policy.calibration import Verdict, learn_thresholds
from mitl_policy.multilabel import route_multilabel, verdicts_of
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from mitl_ml.hybrid import HybridFeaturizer
from mitl_ml.multilabel_data import load_multilabel
from mitl_ml.sim.baselines import (
    FOLDS,
    ground_truth_baseline,
    labeled_by_people,
)
from mitl_ml.sim.embeddings import DEFAULT_CACHE_DIR, cached_embeddings, texts_cache_path
from mitl_ml.sim.memory import RouterMemory
from mitl_ml.sim.people import People
from mitl_ml.sim.results import CoverageResult
from mitl_ml.text_multilabel_data import TEXT_MULTILABEL_LOADERS, load_text_multilabel
from mitl_ml.text_ovr import TEXT_OVR_C, head_scaling, text_features
from mitl_ml.train import MAX_ITER

MULTILABEL_SIM_DATASETS = ("yeast", *TEXT_MULTILABEL_LOADERS)
# The one-vs-rest head's regularisation (sklearn's default C; yeast's features are scaled).
OVR_C = 1.0


@dataclass(frozen=True)
class MultiWorld:
    """A multi-label dataset as the simulator sees it: features and true label sets."""

    name: str
    labels: list[str]
    x: np.ndarray | sparse.csr_matrix
    truth: np.ndarray  # bool [n, k]
    c: float = OVR_C  # the head's regularisation on these features

    def subset(self, size: int, seed: int) -> MultiWorld:
        picked = np.sort(np.random.default_rng([seed, 3]).permutation(len(self.truth))[:size])
        return MultiWorld(self.name, self.labels, self.x[picked], self.truth[picked], self.c)


def load_multi_world(name: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> MultiWorld:
    """A vector dataset with its vectors, a text one with its text features (embeddings
    cached under `cache_dir`)."""
    if name in TEXT_MULTILABEL_LOADERS:
        return text_multi_world(name, cache_dir)
    data = load_multilabel(name)
    return MultiWorld(data.name, list(data.labels), data.x, data.y)


def text_multi_world(name: str, cache_dir: Path = DEFAULT_CACHE_DIR) -> MultiWorld:
    """A multi-label text dataset as the served text kind sees it (mitl_ml.text_ovr): the
    vectorizers and the embedding's scaling learned from every text (no labels), as the
    single-label simulator's hybrid features are."""
    data = load_text_multilabel(name)
    embeddings = cached_embeddings(data.texts, texts_cache_path(name, data.texts, cache_dir))
    featurizer = HybridFeaturizer(data.texts)
    mean, scale = head_scaling(embeddings, featurizer.width)
    x = text_features(featurizer, data.texts, embeddings, mean, scale)
    return MultiWorld(data.name, list(data.labels), x, data.y, TEXT_OVR_C)


class OvRHead:
    """One logistic regression per label; `predict_proba` gives [n, k] independent
    probabilities that each label applies."""

    def __init__(
        self,
        x: np.ndarray | sparse.csr_matrix,
        y: np.ndarray,
        seed: int,
        version: str,
        c: float = OVR_C,
    ) -> None:
        self.version = version
        self._models: list[LogisticRegression | float] = []
        with threadpool_limits(limits=1, user_api="blas"):
            for j in range(y.shape[1]):
                column = y[:, j]
                if column.min() == column.max():
                    self._models.append(float(column.mean()))
                    continue
                model = LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed)
                self._models.append(model.fit(x, column))

    def predict_proba(self, x: np.ndarray | sparse.csr_matrix) -> np.ndarray:
        out = np.empty((x.shape[0], len(self._models)))
        for j, model in enumerate(self._models):
            if isinstance(model, float):
                out[:, j] = model
            else:
                out[:, j] = model.predict_proba(x)[:, 1]
        return out


class MultiOracle:
    """People answer label sets: the truth, or for `error_rate` of items the truth with one
    label (drawn per item) toggled; experts answer the truth. Fixed per seed."""

    def __init__(self, truth: np.ndarray, error_rate: float, seed: int) -> None:
        if not 0.0 <= error_rate < 1.0:
            raise ValueError(f"error_rate must be in [0, 1), got {error_rate}")
        rng = np.random.default_rng([seed, 7919])
        n, k = truth.shape
        wrong = rng.random(n) < error_rate
        flip = rng.integers(0, k, n)
        answers = truth.copy()
        rows = np.flatnonzero(wrong)
        columns = np.asarray(flip)[rows]
        answers[rows, columns] = ~answers[rows, columns]
        self.truth = truth
        self.annotator_answers = answers

    def annotator(self, item: int) -> np.ndarray:
        return np.asarray(self.annotator_answers[item])

    def expert(self, item: int) -> np.ndarray:
        return np.asarray(self.truth[item])


class MultiLabelRouter(RouterMemory):
    """The router's multi-label state in memory: decisions, outcomes and learned thresholds."""

    def __init__(self, dataset: str, labels: Sequence[str], policy: Policy) -> None:
        super().__init__(policy)
        self.dataset = dataset
        self.labels = list(labels)

    def relearn(self) -> None:
        if self.policy.learns_thresholds:
            found = verdicts_of(self.outcomes, self.labels, self.policy)
            self.thresholds = learn_thresholds(found, self.labels, self.policy)

    def route(self, item: int, probabilities: np.ndarray, version: str) -> Decision:
        per_label = {label: float(p) for label, p in zip(self.labels, probabilities, strict=True)}
        prediction = Prediction(
            event_id=f"prediction-{item}-{version}",
            dataset=self.dataset,
            item_id=str(item),
            content=ItemContent(vector=[0.0]),
            model_version=version,
            labels=self.labels,
            probabilities=distribution_of(list(per_label.values())),
            label_probabilities=per_label,
        )
        routed = route_multilabel(
            prediction, self.policy, self.labels, now=self.tick(), context=self.context(item)
        )
        return self.remember(item, prediction, routed.decision)

    def verify(self, item: int, answer: np.ndarray, source: str, spot_check: bool) -> None:
        chosen = [label for label, on in zip(self.labels, answer, strict=True) if on]
        self.record(item, str(item), label_set_key(chosen), source, spot_check)


def _result(method: str, world: MultiWorld, seed: int, policy: Policy) -> CoverageResult:
    result = CoverageResult(
        method, world.name, seed, float(policy.target_precision or 0), len(world.truth)
    )
    result.decisions_per_item = len(world.labels)
    return result


def full_coverage_multilabel(
    world: MultiWorld,
    policy: Policy,
    *,
    seed: int,
    retrain_every: int,
    initial: int,
    oracle: MultiOracle,
    retrain_growth: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    """Label every item with the loop (see coverage.py), multi-label."""
    n, k = world.truth.shape
    result = _result("loop", world, seed, policy)
    order = np.random.default_rng([seed, 1]).permutation(n)
    final = np.zeros((n, k), dtype=bool)
    people = People(oracle, final, result, progress)
    pending = people.start(order, initial)
    router = MultiLabelRouter(world.name, world.labels, policy)
    while pending:
        people.next_round(pending)
        done = people.trained
        head = OvRHead(world.x[done], final[done], seed, f"sim-r{result.rounds}", world.c)
        router.relearn()
        people.certify(router.thresholds)
        items = np.array(sorted(pending))
        probabilities = head.predict_proba(world.x[items])
        queue: list[tuple[float, int, Decision]] = []
        for item, row in zip(items, probabilities, strict=True):
            decision = router.route(int(item), row, head.version)
            if decision.route != "accept":
                queue.append((decision.priority, int(item), decision))
                continue
            predicted = row >= 0.5
            pending.discard(int(item))
            result.accepted_correct += int((predicted == world.truth[item]).sum())
            people.accept(router, int(item), decision, predicted, _same_set)
        pending -= set(
            people.review_queue(router, queue, people.batch(retrain_every, retrain_growth))
        )
    people.finish(world.truth, router.thresholds)
    result.details |= per_label_figures(world, final)
    return result


def _same_set(answer: np.ndarray, predicted: np.ndarray) -> bool:
    """A person agrees with a multi-label prediction when every label's in/out is the same."""
    return bool((answer == predicted).all())


def per_label_figures(world: MultiWorld, final: np.ndarray) -> dict[str, float]:
    """Per label: the share of items whose final in/out decision for it is right."""
    right = (final == world.truth).mean(axis=0)
    pairs = zip(world.labels, right, strict=True)
    return {f"accuracy.{label}": round(float(r), 4) for label, r in pairs}


def review_all_multilabel(world: MultiWorld, policy: Policy, *, seed: int,
                          oracle: MultiOracle) -> CoverageResult:  # fmt: skip
    result = _result("review_all", world, seed, policy)
    labeled_by_people(result, world.truth, oracle.annotator_answers)
    return result


def _sample_model(
    world: MultiWorld, seed: int, sample: np.ndarray, answers: np.ndarray, rest: np.ndarray
) -> tuple[list[Verdict], np.ndarray, np.ndarray]:
    """The one-vs-rest head's out-of-fold verdicts on the sample, one per label decision;
    trained on all of it, each of the rest's least certain label decision and its labels."""
    verdicts: list[Verdict] = []
    for train, held in KFold(FOLDS, shuffle=True, random_state=seed).split(sample):
        head = OvRHead(world.x[sample[train]], answers[train], seed, "fold", world.c)
        probs = head.predict_proba(world.x[sample[held]])
        confidence = np.maximum(probs, 1 - probs)
        right = (probs >= 0.5) == answers[held]
        verdicts.extend(
            Verdict("*", float(c), bool(r))
            for c, r in zip(confidence.ravel(), right.ravel(), strict=True)
        )
    probs = OvRHead(world.x[sample], answers, seed, "gt", world.c).predict_proba(world.x[rest])
    return verdicts, np.maximum(probs, 1 - probs).min(axis=1), probs >= 0.5


def ground_truth_multilabel(
    world: MultiWorld,
    policy: Policy,
    *,
    seed: int,
    oracle: MultiOracle,
    progress: Callable[[int, int], None] | None = None,
) -> CoverageResult:
    """The best of the baseline's sample sizes (fewest human labels, then most correct)."""
    return ground_truth_baseline(
        lambda: _result("ground_truth", world, seed, policy),
        world.truth, oracle.annotator_answers, policy, seed,
        partial(_sample_model, world, seed), progress,
    )  # fmt: skip
