from pathlib import Path
from typing import cast

import numpy as np
import pytest
from mitl_ml.encoder import DISABLED_OPTIMIZERS, MiniLMEncoder


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


def test_the_session_keeps_residual_adds_and_layer_norms_apart(tmp_path: Path) -> None:
    """onnxruntime's SkipLayerNormalization kernel is slower than the Add and
    LayerNormalization it would replace (mitl_ml.encoder.DISABLED_OPTIMIZERS): the graph the
    encoder's session runs has none, and its embeddings are the fused session's up to rounding."""
    import onnx
    import onnxruntime as ort
    from mitl_ml.encoder import default_model_path, session_graph, session_options

    texts = [f"what is question {'word ' * (i % 23)} number {i}?" for i in range(80)]
    encoder = MiniLMEncoder(intra_op_threads=1)
    served = encoder.encode(texts).embeddings

    def run_with(disabled: list[str], name: str) -> tuple[set[str], np.ndarray]:
        """The op types of the graph a session with `disabled` rewrites left out runs, and
        the encoder's embeddings on that session."""
        options = session_options(1)
        options.optimized_model_filepath = str(tmp_path / name)
        encoder._session = ort.InferenceSession(
            session_graph(default_model_path().read_bytes()),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=disabled,
        )
        ops = {n.op_type for n in onnx.load(str(tmp_path / name)).graph.node}
        return ops, encoder.encode(texts).embeddings

    ops, unfused = run_with(list(DISABLED_OPTIMIZERS), "unfused.onnx")
    assert "SkipLayerNormalization" not in ops and "LayerNormalization" in ops
    fused_ops, fused = run_with([], "fused.onnx")
    assert "SkipLayerNormalization" in fused_ops
    np.testing.assert_array_equal(served, unfused)
    assert not np.array_equal(served, fused)
    np.testing.assert_allclose(served, fused, atol=2e-3)


def test_the_leading_state_is_the_first_wordpieces_own_at_unit_length(
    encoder: MiniLMEncoder,
) -> None:
    texts = ["How many people live in Paris ?", "Who wrote Hamlet ?", ""]
    out = encoder.encode(texts)
    assert out.leading is not None and out.leading.shape == (3, 384)
    states = encoder.encode_tokens(texts[:2]).states
    for i in range(2):
        first = states[i][0] / np.linalg.norm(states[i][0])
        np.testing.assert_allclose(out.leading[i], first, atol=1e-4)
    # A text of no wordpiece has no leading state: zeros, not [SEP]'s.
    assert not out.leading[2].any()
    embeddings, leading = out.dense()
    assert embeddings is out.embeddings and leading is out.leading
    # "How" of "How many" is not "How" of "How did": the state is the word in its context.
    many, did = encoder.encode(
        ["How many moons has Mars ?", "How did Mars get its moons ?"]
    ).leading
    assert float(many @ did) < 0.99


def test_the_session_runs_one_gelu_node_per_layer_with_the_same_embeddings(
    tmp_path: Path,
) -> None:
    """The export spells each GELU out in five nodes that onnxruntime does not fuse; the
    session runs one Gelu node per layer instead (mitl_ml.gelu), with the embeddings of the
    graph as exported (fp32: the same up to float rounding), and the file is left as it is."""
    import onnx
    import onnxruntime as ort
    from mitl_ml.encoder import (
        default_model_path,
        default_model_sha256,
        session_graph,
        session_options,
    )

    texts = [f"how many {'words ' * (i % 19)} are in question {i}?" for i in range(70)]
    encoder = MiniLMEncoder(intra_op_threads=1)
    served = encoder.encode(texts).embeddings
    assert encoder.sha256 == default_model_sha256()
    options = session_options(1)
    options.optimized_model_filepath = str(tmp_path / "served.onnx")
    ort.InferenceSession(
        session_graph(default_model_path().read_bytes()),
        options,
        providers=["CPUExecutionProvider"],
        disabled_optimizers=list(DISABLED_OPTIMIZERS),
    )
    ops = [n.op_type for n in onnx.load(str(tmp_path / "served.onnx")).graph.node]
    # onnxruntime goes on to fold each bias Add into it (BiasGelu) where the MatMul is fp32.
    assert ops.count("Gelu") + ops.count("BiasGelu") == 6 and "Erf" not in ops
    encoder._session = ort.InferenceSession(
        str(default_model_path()),
        session_options(1),
        providers=["CPUExecutionProvider"],
        disabled_optimizers=list(DISABLED_OPTIMIZERS),
    )
    exported = encoder.encode(texts).embeddings
    assert not np.array_equal(served, exported)
    np.testing.assert_allclose(served, exported, atol=1e-5)
