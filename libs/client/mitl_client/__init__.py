"""mitl-client: the platform's HTTP APIs from Python, sync (`MitlClient`) and async
(`AsyncMitlClient`), typed with the contracts (mitl_contracts).

It covers ingest (in batches, with bounded concurrency, honouring 429/503 Retry-After and
retrying safely: ingest is idempotent by (dataset, external_id)), the review API (claim,
submit, escalate, skip, with an annotator's or expert's token), the audit service's reports and
dataset export, and inference's model registry. It imports no service and no runtime.
"""

from mitl_client.client import AsyncMitlClient, MitlClient
from mitl_client.errors import ApiError, RetriesExhausted
from mitl_client.models import (
    DatasetInfo,
    Endpoints,
    IngestSummary,
    Item,
    Rejection,
    RetryPolicy,
    SubmitResult,
    Suggestion,
    Task,
)

__all__ = [
    "ApiError",
    "AsyncMitlClient",
    "DatasetInfo",
    "Endpoints",
    "IngestSummary",
    "Item",
    "MitlClient",
    "Rejection",
    "RetriesExhausted",
    "RetryPolicy",
    "SubmitResult",
    "Suggestion",
    "Task",
]
