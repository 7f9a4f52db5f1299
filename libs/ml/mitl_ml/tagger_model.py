"""A served minilm-tagger bundle (mitl_ml.tagger): texts -> the shipped MiniLM encoder's token
states -> word features -> head.onnx tag probabilities -> spans with confidences and the
confidence that none is missing (mitl_ml.bio.decode).

Loaded by mitl_ml.runtime.load_model. The head must be the graph the manifest describes
(input [n, 768] float, one probability per tag of `training.tags`, which must be the BIO tags
of the manifest's labels), and the encoder the one it was trained on (`training.encoder_sha256`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mitl_contracts.events import distribution_of

from mitl_ml.bio import tag_set
from mitl_ml.encoder import MiniLMEncoder
from mitl_ml.errors import ModelLoadError
from mitl_ml.inputs import check_texts
from mitl_ml.manifest import ModelManifest
from mitl_ml.onnx_head import OnnxClassifier
from mitl_ml.runtime import LoadedModel, ModelOutput
from mitl_ml.tagger import FEATURE_DIM, encode, tag_items


class TaggerModel(LoadedModel):
    """A span model: `predict` returns ModelOutput with `spans` and `spans_complete`;
    `probabilities` are each label's highest span confidence per text, scaled to sum to 1."""

    def __init__(self, manifest: ModelManifest, head: OnnxClassifier, encoder: MiniLMEncoder):
        super().__init__(manifest, head, encoder, None)
        self.tags = tag_set(manifest.labels)
        self._head = head
        self._tag_encoder = encoder

    def predict(self, inputs: Sequence[str | bytes] | np.ndarray) -> ModelOutput:
        """Tag `inputs` (a list of str). Raises InvalidInput for anything else. A text over
        the encoder's 128 wordpieces is tagged on its first 128, flagged `truncated`, and its
        `spans_complete` is 0 (its rest was never looked at)."""
        texts = check_texts(inputs)
        tokens = encode(self._tag_encoder, texts)
        decoded = tag_items(tokens, self._head.run, self.tags)
        labels = self.manifest.labels
        probs = np.zeros((len(texts), len(labels)))
        for i, found in enumerate(decoded):
            best = [
                max((s.confidence or 0.0 for s in found.spans if s.label == label), default=0.0)
                for label in labels
            ]
            probs[i] = distribution_of(best)
        return ModelOutput(
            probabilities=probs,
            outlier_scores=np.zeros(len(texts)),
            truncated=list(tokens.truncated),
            embeddings=None,
            spans=[d.spans for d in decoded],
            spans_complete=[d.complete for d in decoded],
        )


def load_tagger(
    manifest: ModelManifest,
    contents: dict[str, bytes],
    encoder: MiniLMEncoder | None,
    intra_op_threads: int,
    allow_spinning: bool,
) -> TaggerModel:
    """The tagger of a verified bundle's files; ModelLoadError naming what does not fit."""
    name = manifest.files.get("head")
    if name is None:
        raise ModelLoadError("manifest.files has no 'head' entry for kind minilm-tagger")
    tags = tag_set(manifest.labels)
    if manifest.training.get("tags") != tags:
        raise ModelLoadError(
            f"training.tags {manifest.training.get('tags')} are not the BIO tags of the labels"
        )
    head = OnnxClassifier(
        name,
        contents[name],
        n_classes=len(tags),
        input_type="float",
        input_dim=FEATURE_DIM,
        intra_op_threads=intra_op_threads,
        allow_spinning=allow_spinning,
    )
    if encoder is None or encoder.quantization:
        encoder = MiniLMEncoder(intra_op_threads, allow_spinning=allow_spinning)
    trained_on = manifest.training.get("encoder_sha256")
    if trained_on != encoder.sha256:
        raise ModelLoadError(
            f"encoder mismatch: the tagger was trained on encoder {str(trained_on)[:12]}…, "
            f"the shipped encoder here is {encoder.sha256[:12]}…"
        )
    return TaggerModel(manifest, head, encoder)
