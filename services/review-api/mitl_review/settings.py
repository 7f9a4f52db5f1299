from mitl_runtime.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    http_port: int = 8004
    # How long a claimed task stays with its claimer; after that it returns to its queue.
    lease_seconds: float = Field(default=300, gt=0, le=24 * 3600)
    # How often unpublished outbox rows are retried and the queue-depth gauge refreshed.
    maintenance_interval_seconds: float = Field(default=5.0, gt=0)
    outbox_batch: int = Field(default=100, ge=1, le=1000)
