import socket
from pathlib import Path
from typing import Self

from mitl_runtime.auth.settings import AccessSettings
from pydantic import Field, model_validator


class Settings(AccessSettings):
    """Inference's settings (MITL_* environment variables).

    Micro-batching: the items subscriber hands over a batch as soon as `kafka_max_batch`
    items are buffered, or after `kafka_batch_timeout_ms` when fewer are available, whichever
    comes first. Under load a batch is whatever arrived while the previous one was scored
    (so batches grow with the load and latency stays bounded); idle, a lone item waits at most
    the timeout. Text batches are sorted by token length before padding (mitl_ml's encoder).
    """

    http_port: int = 8002
    # Names this replica's own consumer group for model promotions (app.py: every replica
    # sees every promotion). Stable per replica: in Kubernetes the hostname is the pod name;
    # replicas sharing a host differ by port. `mitl run` sets it to the replica's name.
    replica_id: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")

    @model_validator(mode="after")
    def _default_replica_id(self) -> Self:
        if not self.replica_id:
            self.replica_id = f"{socket.gethostname()}-{self.http_port}"
        return self

    # Threads a model may use: the MiniLM encoder scores that many length-similar chunks of
    # a batch at once, one thread each; other sessions use them inside each operator. 2 on
    # a 2-core machine.
    intra_op_threads: int = Field(default=2, ge=1, le=64)
    # Idle onnxruntime threads busy-wait for the next run when true. Off by default: the
    # machine is shared with the broker, the database and the other services, which need
    # that CPU more than a run needs the microseconds of wake-up it saves.
    ort_allow_spinning: bool = False
    # A batch closes at this size or after kafka_batch_timeout_ms, whichever first. The
    # encoder pads each length-sorted chunk only to its own longest row, so it scores batches
    # of 32 to 512 TREC-6 questions equally fast (1,840-1,960 items/s bare); a smaller batch
    # is scored sooner, and at 80 % of the pipeline's throughput an item waits about two
    # batch times at every hop. `mitl bench inference` (2026-12-07, four runs each, warm):
    # 128 gave p99 238-271 ms at 80 % against 429-907 ms for 512, for a pipeline 3-7 %
    # slower (1,058-1,082 items/s against 1,080-1,153). kafka_backlog_batch grows a full
    # batch when a backlog is waiting (docs/models.md, "Smaller batches").
    kafka_max_batch: int = Field(default=128, ge=1, le=4096)
    # Largest bundle archive POST /v1/registry takes (the MiniLM bundles are about 25 MB).
    max_bundle_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    # Where registered bundles are kept, by sha256 of their manifest (mitl_ml.artifacts).
    artifact_dir: Path = Path(".local/artifacts")
    # Model versions kept loaded besides the champions (a redelivered batch may need the
    # version that claimed it; a rollback is then instant).
    model_cache_size: int = Field(default=3, ge=0, le=50)
    # On promotion, unlabeled items among the newest `rescore_window` predicted items of the
    # dataset are re-scored by the new champion; 0 turns re-scoring (and keeping content) off.
    rescore_window: int = Field(default=10_000, ge=0, le=1_000_000)
    # Wait before re-scoring, so that items routed just before the promotion get their
    # auto-accepted labels first and are not re-scored needlessly.
    rescore_settle_ms: int = Field(default=2_000, ge=0)
    # Longest wait for batches claimed by the old champion to be published before re-scoring.
    rescore_drain_timeout_s: float = Field(default=10.0, ge=0)
    rescore_batch: int = Field(default=256, ge=1, le=4096)
    # How often the rescore window is pruned to `rescore_window` items per dataset.
    prune_interval_s: float = Field(default=30.0, gt=0)
