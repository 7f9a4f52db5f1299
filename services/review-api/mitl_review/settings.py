from mitl_runtime.auth.settings import OidcSettings
from pydantic import Field


class Settings(OidcSettings):
    """Besides its users' tokens, the review API takes people's OIDC JWTs (the oidc_*
    settings): a person signing in is a review user from their first request on, with the
    role their JWT's roles claim grants (admin over expert over annotator)."""

    http_port: int = 8004
    # How long a claimed task stays with its claimer; after that it returns to its queue.
    lease_seconds: float = Field(default=300, gt=0, le=24 * 3600)
    # How often the queue-depth and outbox gauges are refreshed, and the longest an
    # unpublished outbox row waits for a retry (a submission wakes the relay at once).
    maintenance_interval_seconds: float = Field(default=5.0, gt=0)
    # Label events published per outbox round (one broker round trip each).
    outbox_batch: int = Field(default=100, ge=1, le=1000)
    # A submission's wake-up waits this long before the relay flushes, so that the labels of
    # concurrent submissions share one flush (a transaction of five database round trips and
    # a broker round trip). Labels feed training and audit, not a waiting person: 200 ms
    # flushes a quarter as often as 50 did, with 100 people working.
    outbox_linger_ms: float = Field(default=200.0, ge=0, le=1000)
    # Database connections of the HTTP handlers, per process (the consumer and the outbox
    # relay use the runtime's own small pool).
    request_pool_size: int = Field(default=10, ge=1, le=200)
    # A known token is remembered this long, saving a database round trip per request. A
    # rotated token, a disabled user or a changed assignment is dropped from it at once when
    # the database announces the change; only if that announcement is lost does a changed user
    # keep working this long at most. Never past the token's expiry.
    auth_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    # Share of claims answered with a gold item (known answer, shown blind) while the person
    # has gold items left in the dataset and the queue has review work. 0 turns gold off.
    gold_rate: float = Field(default=0.05, ge=0, le=1)
    # Annotator quality (GET /v1/annotators, mitl_review_annotator_* metrics) counts the
    # tasks completed in this many days.
    quality_window_days: int = Field(default=30, ge=1, le=3650)
    # How often the annotator quality metrics are recomputed from the database.
    quality_interval_seconds: float = Field(default=30.0, gt=0)
    # Over-reliance: a person who confirms at least this share of shown suggestions while
    # getting less than flag_gold_accuracy of gold items right is flagged.
    flag_confirmation_rate: float = Field(default=0.9, ge=0, le=1)
    # Over-reliance: a person who gets less than this share of gold items right while
    # confirming at least flag_confirmation_rate of shown suggestions is flagged.
    flag_gold_accuracy: float = Field(default=0.7, ge=0, le=1)
    # Nobody is flagged before answering this many tasks with the suggestion shown.
    flag_min_reviews: int = Field(default=20, ge=1)
    # Nobody is flagged before answering this many gold items.
    flag_min_gold: int = Field(default=5, ge=1)
