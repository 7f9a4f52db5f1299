"""mitl_ml.export resolves skl2onnx's conversion options without skl2onnx's walk over fitted
data where that walk cannot change the answer; the two must agree on every model we convert,
and anything else must still go through skl2onnx's own resolution."""

from __future__ import annotations

import skl2onnx._parse
import skl2onnx.convert
from mitl_ml import export
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

TEXTS = ["what is the capital of france", "who wrote hamlet", "how far is the moon", "why"] * 5
LABELS = [0, 1, 2, 0] * 5


def test_both_skl2onnx_call_sites_resolve_options_through_export() -> None:
    assert skl2onnx.convert._process_options is export._process_options
    assert skl2onnx._parse._process_options is export._process_options


def test_a_vectorizer_and_a_plain_pipeline_resolve_as_skl2onnx_resolves_them() -> None:
    for analyzer in ("word", "char_wb"):
        vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=(1, 3)).fit(TEXTS)
        options = {id(vectorizer): {"tokenexp": None, "locale": "C.UTF-8"}}
        walked = export._walking_process_options(vectorizer, options)
        assert export._process_options(vectorizer, options) == walked == options
    pipeline = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    pipeline.fit(TEXTS, LABELS)
    options = export._options(pipeline)
    assert export._process_options(pipeline, options) == export._walking_process_options(
        pipeline, options
    )


def test_options_on_a_pipeline_itself_take_skl2onnx_s_resolution() -> None:
    pipeline = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    pipeline.fit(TEXTS, LABELS)
    # "zipmap" on the pipeline belongs to its last step: skl2onnx moves it there.
    options = {id(pipeline): {"zipmap": False}}
    resolved = export._process_options(pipeline, options)
    assert resolved[id(pipeline.steps[-1][1])] == {"zipmap": False}


def test_a_step_that_may_hold_a_pipeline_takes_skl2onnx_s_resolution() -> None:
    inner = Pipeline([("tfidf", TfidfVectorizer()), ("clf", LogisticRegression())])
    pipeline = Pipeline([("inner", inner)]).fit(TEXTS, LABELS)
    options = {id(inner): {"zipmap": False}}
    resolved = export._process_options(pipeline, options)
    assert resolved == export._walking_process_options(pipeline, options)
    # skl2onnx found the nested pipeline and gave its last step the option too.
    assert resolved[id(inner.steps[-1][1])] == {"zipmap": False}


def test_a_char_vectorizer_converts_without_the_may_not_work_warning() -> None:
    import inspect
    import warnings

    import skl2onnx.operator_converters.text_vectoriser as converter

    # The text filtered is the one this skl2onnx gives, and only that warning is silenced.
    assert export.CHAR_ANALYZER_WARNING in inspect.getsource(converter)
    char = TfidfVectorizer(analyzer="char", ngram_range=(2, 4)).fit(TEXTS)
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = export.to_onnx_tfidf_features([TfidfVectorizer().fit(TEXTS), char])
    assert not [w for w in caught if export.CHAR_ANALYZER_WARNING in str(w.message)]
    assert warnings.filters == before
    features = export.onnx_features(graph, TEXTS[:2])
    assert features.shape[0] == 2 and features.shape[1] > len(char.vocabulary_)
