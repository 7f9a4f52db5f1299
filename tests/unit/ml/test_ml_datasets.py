from collections import Counter

import numpy as np
from mitl_ml.datasets import load_digits, load_sms_spam, load_trec6, split, stratified_sample


def test_trec6_counts_and_labels() -> None:
    data = load_trec6()
    assert len(data) == 5381
    assert data.labels == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert len(set(data.texts())) == 5381
    assert Counter(data.label_list())["ABBR"] == 86


def test_sms_spam_unique_texts() -> None:
    data = load_sms_spam()
    assert len(data) == 4522
    assert data.labels == ("ham", "spam")
    spam_share = Counter(data.label_list())["spam"] / len(data)
    assert 0.10 < spam_share < 0.16


def test_digits_vectors() -> None:
    data = load_digits()
    assert data.input_kind == "vector"
    assert data.vectors().shape == (1797, 64)
    assert data.labels == tuple(str(d) for d in range(10))


def test_split_is_deterministic_disjoint_and_stratified() -> None:
    data = load_trec6()
    train, test = split(data, seed=3, test_fraction=0.2)
    again_train, again_test = split(data, seed=3, test_fraction=0.2)
    assert train.texts() == again_train.texts() and test.texts() == again_test.texts()
    assert not set(train.texts()) & set(test.texts())
    assert len(train) + len(test) == len(data)
    assert set(test.label_list()) == set(data.labels)
    other, _ = split(data, seed=4, test_fraction=0.2)
    assert other.texts() != train.texts()


def test_stratified_sample_keeps_every_class() -> None:
    sample = stratified_sample(load_trec6(), 300, seed=0)
    assert len(sample) == 300
    assert set(sample.label_list()) == set(sample.labels)
    np.testing.assert_array_equal(
        sample.label_list(), stratified_sample(load_trec6(), 300, seed=0).label_list()
    )
