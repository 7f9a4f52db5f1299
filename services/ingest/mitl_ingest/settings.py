from mitl_runtime.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    http_port: int = 8001
    max_items_per_request: int = Field(default=1000, ge=1, le=100_000)
