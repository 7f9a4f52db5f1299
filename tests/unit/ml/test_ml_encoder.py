from typing import cast

import numpy as np
import pytest
from mitl_ml.encoder import MiniLMEncoder


def test_shape_and_unit_norm(encoder: MiniLMEncoder) -> None:
    out = encoder.encode(["What is the capital of France ?", "hi", ""])
    assert out.embeddings.shape == (3, 384)
    assert out.embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out.embeddings, axis=1), 1.0, atol=1e-5)
    assert out.truncated == [False, False, False]


def test_empty_input(encoder: MiniLMEncoder) -> None:
    out = encoder.encode([])
    assert out.embeddings.shape == (0, 384)
    assert out.truncated == []


def test_order_preserved_across_sorting_and_chunks(encoder: MiniLMEncoder) -> None:
    # Mixed lengths and > 64 items force length-sorting and several chunks.
    texts = [("word " * (i % 17)) + f"question number {i} ?" for i in range(150)]
    batch = encoder.encode(texts).embeddings
    singles = np.vstack([encoder.encode([t]).embeddings for t in texts[::10]])
    np.testing.assert_allclose(batch[::10], singles, atol=1e-4)


def test_similar_texts_are_closer(encoder: MiniLMEncoder) -> None:
    a, b, c = encoder.encode(
        ["Who wrote Hamlet ?", "Which author wrote the play Hamlet ?", "How tall is Everest ?"]
    ).embeddings
    assert a @ b > a @ c


def test_truncation_flag(encoder: MiniLMEncoder) -> None:
    out = encoder.encode(["short", "very long text " * 200, "also short"])
    assert out.truncated == [False, True, False]
    assert np.all(np.isfinite(out.embeddings))


def test_rejects_non_strings(encoder: MiniLMEncoder) -> None:
    with pytest.raises(TypeError):
        encoder.encode(cast(list[str], ["ok", 3]))
