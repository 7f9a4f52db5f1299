"""mitl_ml.gelu: a GELU spelled out in five nodes becomes one Gelu node, in either order of
its two Muls; anything that only looks like one is left alone."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from mitl_ml.gelu import fuse_gelu
from onnx import TensorProto, helper, numpy_helper


def graph(half_first: bool = True, divisor: float = 2**0.5, also_out: str = "") -> bytes:
    """y = relu(x) -> GELU spelled out -> z; `half_first`: 0.5 * (1 + erf) first, then x *
    that (the MiniLM export's order); else x * (1 + erf), then 0.5 * that. `also_out`: a
    name inside the chain that is also a graph output."""
    scalars = {"sqrt2": divisor, "one": 1.0, "half": 0.5}
    inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), k) for k, v in scalars.items()]
    nodes = [
        helper.make_node("Relu", ["x"], ["y"]),
        helper.make_node("Div", ["y", "sqrt2"], ["d"]),
        helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["a"]),
    ]
    if half_first:
        nodes += [
            helper.make_node("Mul", ["half", "a"], ["m"]),
            helper.make_node("Mul", ["y", "m"], ["z"]),
        ]
    else:
        nodes += [
            helper.make_node("Mul", ["y", "a"], ["m"]),
            helper.make_node("Mul", ["m", "half"], ["z"]),
        ]
    outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3])]
    if also_out:
        outputs.append(helper.make_tensor_value_info(also_out, TensorProto.FLOAT, [2, 3]))
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
            outputs,
            inits,
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    return model.SerializeToString()


def run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(["z"], {"x": x})[0])


@pytest.mark.parametrize("half_first", [True, False])
def test_a_spelled_out_gelu_becomes_one_node_with_the_same_values(half_first: bool) -> None:
    import onnx

    before = graph(half_first)
    after, fused = fuse_gelu(before)
    assert fused == 1
    model = onnx.load_from_string(after)
    assert [n.op_type for n in model.graph.node] == ["Relu", "Gelu"]
    assert model.graph.node[1].domain == "com.microsoft"
    assert {i.name for i in model.graph.initializer} == set()
    x = np.array([[-3.0, -0.5, 0.0], [0.25, 1.0, 4.0]], dtype=np.float32)
    np.testing.assert_allclose(run(after, x), run(before, x), atol=1e-6)
    # Fused once, nothing is left to fuse: the same bytes back.
    assert fuse_gelu(after) == (after, 0)


@pytest.mark.parametrize(
    "near_miss",
    [
        {"divisor": 2.0},  # x / 2, not x / sqrt 2: another function
        {"also_out": "a"},  # an inner value is read outside the chain
    ],
)
def test_what_only_looks_like_a_gelu_is_left_alone(near_miss: dict[str, object]) -> None:
    before = graph(**near_miss)  # type: ignore[arg-type]
    assert fuse_gelu(before) == (before, 0)
