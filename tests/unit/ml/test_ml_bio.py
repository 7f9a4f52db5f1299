"""BIO tags over words and back to character spans: offsets, wordpieces, confidences."""

from __future__ import annotations

import numpy as np
import pytest
from mitl_contracts.spans import Span
from mitl_ml.bio import OUTSIDE, Word, decode, tag_set, word_tags, words_of

TAGS = tag_set(["loc", "person"])  # O, B-loc, I-loc, B-person, I-person
TEXT = "Anna flew to New York!"
# Wordpieces: "anna", "flew", "to", "new", "yo", "##rk", "!" (word 4 has two pieces).
OFFSETS = [(0, 4), (5, 9), (10, 12), (13, 16), (17, 19), (19, 22), (21, 22)]
WORD_IDS = [0, 1, 2, 3, 4, 4, 5]


def one_hot(rows: list[str], sure: float = 1.0) -> np.ndarray:
    probs = np.full((len(rows), len(TAGS)), (1 - sure) / (len(TAGS) - 1))
    for i, tag in enumerate(rows):
        probs[i, TAGS.index(tag)] = sure
    return probs


def test_tag_set_is_o_then_b_and_i_per_label() -> None:
    assert TAGS == ["O", "B-loc", "I-loc", "B-person", "I-person"]


def test_words_join_their_wordpieces_and_point_at_the_first() -> None:
    words = words_of(OFFSETS, WORD_IDS)
    assert [(w.start, w.end) for w in words] == [
        (0, 4), (5, 9), (10, 12), (13, 16), (17, 22), (21, 22),
    ]  # fmt: skip
    assert [w.first for w in words] == [0, 1, 2, 3, 4, 6]


def test_gold_spans_become_word_tags_by_first_character() -> None:
    words = words_of(OFFSETS, WORD_IDS)
    spans = [Span(start=0, end=4, label="person"), Span(start=13, end=21, label="loc")]
    assert word_tags(words, spans) == ["B-person", "O", "O", "B-loc", "I-loc", "O"]
    # Two adjacent entities of the same label stay two: the second starts with B-.
    split = [Span(start=13, end=16, label="loc"), Span(start=17, end=21, label="loc")]
    assert word_tags(words, split) == ["O", "O", "O", "B-loc", "B-loc", "O"]
    assert word_tags(words, []) == [OUTSIDE] * 6


def test_decoding_gives_character_spans_over_whole_words() -> None:
    words = words_of(OFFSETS, WORD_IDS)
    found = decode(words, one_hot(["B-person", "O", "O", "B-loc", "I-loc", "O"]), TAGS)
    assert [(s.start, s.end, s.label) for s in found.spans] == [(0, 4, "person"), (13, 22, "loc")]
    assert [s.confidence for s in found.spans] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert found.complete == pytest.approx(1.0)


def test_an_i_tag_without_its_entity_starts_one() -> None:
    words = [Word(0, 3, 0), Word(4, 7, 1), Word(8, 11, 2)]
    found = decode(words, one_hot(["I-loc", "I-person", "I-person"]), TAGS)
    assert [(s.start, s.end, s.label) for s in found.spans] == [(0, 3, "loc"), (4, 11, "person")]


def test_a_span_confidence_is_the_chance_its_words_and_its_end_are_right() -> None:
    words = [Word(0, 3, 0), Word(4, 7, 1), Word(8, 11, 2)]
    probs = np.array(
        [
            [0.1, 0.0, 0.0, 0.8, 0.1],  # B-person 0.8
            [0.2, 0.0, 0.0, 0.1, 0.7],  # I-person 0.7
            [0.6, 0.0, 0.0, 0.1, 0.3],  # O, but I-person 0.3: the entity may run on
        ]
    )
    found = decode(words, probs, TAGS)
    (span,) = found.spans
    assert (span.start, span.end, span.label) == (0, 7, "person")
    assert span.confidence == pytest.approx(0.8 * 0.7 * (1 - 0.3))
    # Nothing missing: the least P(O) of the words outside every span.
    assert found.complete == pytest.approx(0.6)


def test_no_words_no_spans_and_complete() -> None:
    found = decode([], np.zeros((0, len(TAGS))), TAGS)
    assert found.spans == [] and found.complete == 1.0


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        decode([Word(0, 1, 0)], np.zeros((2, len(TAGS))), TAGS)
