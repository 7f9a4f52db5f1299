"""Inference runs onnxruntime with idle threads sleeping unless told otherwise."""

from __future__ import annotations

import pytest
from mitl_inference.settings import Settings
from mitl_ml.encoder import session_options


def test_spinning_is_off_unless_asked_for() -> None:
    assert Settings().ort_allow_spinning is False
    quiet = session_options(2, allow_spinning=False)
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert quiet.intra_op_num_threads == 2 and quiet.inter_op_num_threads == 1
    busy = session_options(3)
    assert busy.intra_op_num_threads == 3
    with pytest.raises(Exception, match="does not have configuration"):
        busy.get_session_config_entry("session.intra_op.allow_spinning")  # the default: spin
