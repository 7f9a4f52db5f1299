from mitl_runtime.auth.settings import AccessSettings
from pydantic import Field


class Settings(AccessSettings):
    """Reports and overrides need the role auditor or admin, so does the export."""

    http_port: int = 8005
    # GET /v1/overrides/{dataset}?limit= : a page is at most this many rows.
    max_overrides_per_request: int = Field(default=1000, ge=1, le=100_000)
    # The agreement gauges (mitl_audit_agreement_*) are computed from the human labels of
    # this many days.
    agreement_window_days: int = Field(default=30, ge=1, le=3650)
    # How often the agreement gauges are recomputed from the audit log.
    agreement_interval_seconds: float = Field(default=60.0, gt=0)
    # A pair of people gets a Cohen's kappa series only with this many items in common (fewer
    # say little, and every pair would be a series).
    agreement_min_pair_items: int = Field(default=10, ge=1)
    # At most this many Cohen's kappa series per dataset: the pairs with the most items in
    # common.
    agreement_max_pairs: int = Field(default=50, ge=0, le=10_000)
