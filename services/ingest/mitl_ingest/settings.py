from typing import Literal

from mitl_runtime.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    http_port: int = 8001
    max_items_per_request: int = Field(default=1000, ge=1, le=100_000)
    # POST /v1/items takes a client key (`mitl clients create`): 401 without one, 403 for a
    # dataset outside its scope, 429 over its rate limit, 413 over its body limit. "off" takes
    # anyone who can reach the port (local development only; logged as a warning at start).
    ingest_auth: Literal["required", "off"] = "required"
    # An image_url item (datasets with `image_urls: true`): how long one fetch may take.
    image_fetch_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # How often the outbox (client-key changes for audit, made by `mitl clients`) is
    # published when nothing wakes it.
    outbox_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
