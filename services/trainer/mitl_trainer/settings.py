from pathlib import Path
from typing import Literal

from mitl_runtime.auth.settings import AccessSettings
from pydantic import Field


class Settings(AccessSettings):
    """Trainer settings (`MITL_*`). Text datasets of the catalog are trained; MiniLM heads.
    POST /v1/retrain needs the role admin."""

    http_port: int = 8007
    # Content-addressed bundles, by sha256 of their manifest (mitl_ml.artifacts); inference
    # registers a promoted bundle from its file:// URI, so both must see this folder.
    artifact_dir: Path = Path(".local/artifacts")
    # Train after every `retrain_every` newly verified (human-labeled) items of a dataset, and
    # on every drift alert of at least `retrain_on_severity`.
    retrain_every: int = Field(default=500, ge=1)
    retrain_on_severity: Literal["warning", "critical"] = "warning"
    # No training below `min_labels` verified items with their text, or with a class holding
    # fewer than `min_per_class` training examples.
    min_labels: int = Field(default=200, ge=2)
    min_per_class: int = Field(default=2, ge=1)
    # Share of verified items held out (by a hash of the item id, so an item stays on its side
    # across runs) to compare candidate and champion on; promotion needs `min_holdout` of them
    # and a holdout accuracy at least `promotion_margin` above the champion's.
    holdout_fraction: float = Field(default=0.2, gt=0, lt=1)
    min_holdout: int = Field(default=50, ge=1)
    promotion_margin: float = Field(default=0.01, ge=-1, le=1)
    # Auto-accepted labels as extra training examples, weighted below human ones.
    use_pseudo_labels: bool = False
    pseudo_label_weight: float = Field(default=0.3, gt=0, le=1)
    seed: int = Field(default=0, ge=0)
    # What the trainer builds: a head on MiniLM embeddings stacked with TF-IDF word and char
    # n-grams, temperature-scaled (hybrid-logreg, the default: sharper at the same encoder
    # cost, docs/models.md), or on MiniLM embeddings alone (minilm-logreg).
    model_kind: Literal["minilm-logreg", "hybrid-logreg"] = "hybrid-logreg"
    # A hybrid head that also reads each text's opening wordpiece in context (the encoder's
    # state of it, from the same run): fewer labels on questions (TREC-6), mixed on SMS spam;
    # off by default (docs/models.md, "The opening word in context").
    hybrid_leading: bool = False
    intra_op_threads: int = Field(default=2, ge=1, le=64)
    # The worker looks for pending requests this often (and at once when one is made); a
    # request left running longer than the lease (a crashed replica) is taken up again, at
    # most `max_attempts` times.
    poll_interval_s: float = Field(default=5.0, gt=0)
    lease_s: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    # A request that finds human-labeled items without their content (the labels were consumed
    # before the items) waits up to this long for it, looked at again every tenth of it (at
    # least every poll_interval_s), instead of ending as skipped.
    content_wait_s: float = Field(default=300.0, ge=0)
