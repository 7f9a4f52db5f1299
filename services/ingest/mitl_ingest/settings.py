from mitl_runtime.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    http_port: int = 8001
    max_items_per_request: int = Field(default=1000, ge=1, le=100_000)
    # An image_url item (datasets with `image_urls: true`): how long one fetch may take.
    image_fetch_timeout_s: float = Field(default=10.0, gt=0, le=120)
