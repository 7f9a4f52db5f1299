from mitl_runtime.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    http_port: int = 8005
    # GET /v1/overrides/{dataset}?limit= : a page is at most this many rows.
    max_overrides_per_request: int = Field(default=1000, ge=1, le=100_000)
