"""Measure a syntax block for the hybrid text head on TREC-6 (an experiment, not shipped).

Question classification leans on the wh-word and the noun it asks about ("What city ..." is a
location, "How many ..." a number). The block adds, per question, tokens that spaCy's small
English pipeline derives: the wh-word, the word after "how", the first noun after the wh-word
(lemma), the pair of the two, the root verb, the entity types, and the first four POS tags.
They are TF-IDF weighted and stacked after the hybrid features (MiniLM + word + char n-grams).

    python scripts/syntax_features.py oof                  # 5-fold, all of TREC-6
    python scripts/syntax_features.py curve                # random training sets of 200-2,000
    python scripts/syntax_features.py simulate -- --dataset trec6 --seeds 0,1,2 --target 0.98 \
        --json --cache-dir /tmp/syntax-cache               # the loop with the block

`simulate` runs `mitl simulate` with the simulator's hybrid features replaced by hybrid +
syntax; give it a cache folder of its own (the hybrid cache key does not know the block).
docs/models.md ("Syntax features for questions") gives the figures and why the block is not
shipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import spacy
from mitl_ml.datasets import load_trec6
from mitl_ml.hybrid import HybridFeaturizer
from mitl_ml.sim.embeddings import dataset_embeddings
from mitl_ml.spacy_ner import SPACY_PACKAGE
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

WH_WORDS = frozenset(
    {"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "name"}
)
# Nouns that name the question's form, not its subject ("What kind of animal ...").
FORM_NOUNS = frozenset({"name", "kind", "type", "sort"})
LEADING_TAGS = 4
CONFIDENT = (0.99, 0.995)


def question_tokens(doc: spacy.tokens.Doc) -> str:
    """The syntax tokens of one parsed question, space-separated."""
    words = [token.lower_ for token in doc]
    wh = next((word for word in words if word in WH_WORDS), "none")
    at = words.index(wh) if wh in words else -1
    tokens = [f"WH_{wh}"]
    if wh == "how" and at + 1 < len(words):
        tokens.append(f"HOW_{words[at + 1]}")
    head = next(
        (
            token.lemma_.lower()
            for token in doc[at + 1 :]
            if token.pos_ in ("NOUN", "PROPN") and token.lemma_.lower() not in FORM_NOUNS
        ),
        "none",
    )
    tokens += [f"HEAD_{head}", f"WHHEAD_{wh}_{head}"]
    tokens += [f"ROOT_{token.lemma_.lower()}" for token in doc if token.dep_ == "ROOT"][:1]
    tokens += [f"ENT_{entity.label_}" for entity in doc.ents]
    tokens += [f"POS_{token.tag_}" for token in doc[:LEADING_TAGS]]
    return " ".join(tokens)


def syntax_block(texts: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF of the syntax tokens of `texts` (fitted on the same texts, no labels)."""
    nlp = spacy.load(SPACY_PACKAGE)
    started = time.perf_counter()
    tokens = [question_tokens(doc) for doc in nlp.pipe(list(texts), batch_size=256)]
    seconds = time.perf_counter() - started
    print(f"spaCy parse: {seconds:.1f} s for {len(tokens)} texts", file=sys.stderr)
    vectorizer = TfidfVectorizer(token_pattern=r"\S+", lowercase=False)
    return vectorizer.fit_transform(tokens).astype(np.float32).tocsr()


def trec6_features() -> tuple[np.ndarray, sparse.csr_matrix, sparse.csr_matrix]:
    data = load_trec6()
    texts = data.texts()
    truth = np.array([example.label for example in data.examples])
    hybrid = HybridFeaturizer(texts).transform(texts, dataset_embeddings(data))
    both = sparse.hstack([hybrid, syntax_block(texts)], format="csr", dtype=np.float32)
    return truth, hybrid, both


def confident_share(
    truth: np.ndarray, classes: np.ndarray, probabilities: np.ndarray, at: float
) -> tuple[float, float, int]:
    """Share of items at confidence >= `at`, the precision there, and its mistakes."""
    predicted = classes[probabilities.argmax(1)]
    sure = probabilities.max(1) >= at
    wrong = int((predicted[sure] != truth[sure]).sum())
    precision = 1 - wrong / sure.sum() if sure.any() else 1.0
    return float(sure.mean()), float(precision), wrong


def out_of_fold(truth: np.ndarray, x: sparse.csr_matrix, c: float) -> np.ndarray:
    probabilities = np.zeros((len(truth), len(set(truth))))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(x, truth):
        head = LogisticRegression(C=c, max_iter=2000).fit(x[train], truth[train])
        probabilities[test] = head.predict_proba(x[test])
    return probabilities


def oof() -> None:
    truth, hybrid, both = trec6_features()
    classes = np.array(sorted(set(truth)))
    for name, x in (("hybrid", hybrid), ("hybrid + syntax", both)):
        probabilities = out_of_fold(truth, x, c=10.0)
        accuracy = float((classes[probabilities.argmax(1)] == truth).mean())
        for at in CONFIDENT:
            share, precision, _ = confident_share(truth, classes, probabilities, at)
            line = f"{name:16s} accuracy {accuracy:.3f}  at >= {at}: {share:.3f} of items"
            print(f"{line}, precision {precision:.4f}")


def curve() -> None:
    truth, hybrid, both = trec6_features()
    for size in (200, 500, 1000, 2000):
        for name, x in (("hybrid", hybrid), ("hybrid + syntax", both)):
            rows = []
            for draw in range(3):
                order = np.random.default_rng(draw).permutation(len(truth))
                train, test = order[:size], order[size:]
                head = LogisticRegression(C=16.0, max_iter=1000).fit(x[train], truth[train])
                probabilities = head.predict_proba(x[test])
                accuracy = (head.classes_[probabilities.argmax(1)] == truth[test]).mean()
                sure = confident_share(truth[test], head.classes_, probabilities, CONFIDENT[0])
                rows.append((accuracy, *sure))
            accuracy, share, precision, wrong = np.array(rows).mean(0)
            line = f"{size:5d} labels  {name:16s} accuracy {accuracy:.3f}"
            print(
                f"{line}  at >= 0.99: {share:.3f} of the rest, precision {precision:.4f}, "
                f"{wrong:.1f} wrong"
            )


def simulate(argv: list[str]) -> int:
    import mitl_ml.sim.world as world
    from mitl_cli.main import main

    hybrid_features = world.hybrid_features

    def with_syntax(texts: Sequence[str], embeddings: np.ndarray) -> sparse.csr_matrix:
        blocks = [hybrid_features(texts, embeddings), syntax_block(texts)]
        return sparse.hstack(blocks, format="csr", dtype=np.float32)

    world.hybrid_features = with_syntax
    # The block stacks after the plain hybrid's features, what it was measured against (trec6
    # otherwise defaults to hybrid-leading).
    if "--model" not in argv:
        argv += ["--model", "hybrid"]
    if "--cache-dir" not in argv:
        argv += ["--cache-dir", str(Path(".local/cache/syntax"))]
    return main(["simulate", *argv])


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("oof", "curve", "simulate"))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="simulate: mitl simulate's flags")
    args = parser.parse_args()
    if args.what == "simulate":
        return simulate([arg for arg in args.rest if arg != "--"])
    oof() if args.what == "oof" else curve()
    return 0


if __name__ == "__main__":
    sys.exit(run())
