from pydantic import Field

from mitl_runtime.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8002
    # onnxruntime threads per session; the event loop keeps its own core free at 2 cores.
    intra_op_threads: int = Field(default=2, ge=1, le=64)
    # Micro-batching: a batch closes at this many items or after kafka_batch_timeout_ms.
    kafka_max_batch: int = Field(default=64, ge=1, le=4096)
