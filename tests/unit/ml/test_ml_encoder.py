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


def test_length_chunks_group_similar_lengths_and_keep_every_index_once() -> None:
    from mitl_ml.encoder import BATCH_SIZE, LENGTH_SLACK, length_chunks

    lengths = [5, 40, 6, 6, 12, 13, 39, 7] + [10] * 150
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    chunks = length_chunks(order, lengths)
    assert [i for chunk in chunks for i in chunk] == order
    for chunk in chunks:
        assert len(chunk) <= BATCH_SIZE
        assert lengths[chunk[-1]] <= lengths[chunk[0]] * LENGTH_SLACK + 1
    assert length_chunks([], []) == []


def test_spread_splits_until_every_thread_has_a_chunk() -> None:
    from mitl_ml.encoder import spread

    assert spread([[0, 1, 2, 3, 4]], 2) == [[0, 1], [2, 3, 4]]
    assert spread([[0]], 2) == [[0]]
    assert spread([[0, 1], [2]], 2) == [[0, 1], [2]]
    parts = spread([[0, 1, 2], [3]], 4)
    assert sorted(i for c in parts for i in c) == [0, 1, 2, 3] and len(parts) == 4


def test_threads_give_the_same_embeddings_as_one() -> None:
    import numpy as np
    from mitl_ml.encoder import MiniLMEncoder

    texts = [f"question {'word ' * (i % 37)} number {i}?" for i in range(150)]
    one = MiniLMEncoder(intra_op_threads=1).encode(texts).embeddings
    two = MiniLMEncoder(intra_op_threads=2).encode(texts).embeddings
    np.testing.assert_allclose(one, two, atol=1e-5)
