"""The settings every service shares. Each service subclasses this once (its own `Settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from `MITL_*` environment variables; passed as a parameter, never read at import."""

    model_config = SettingsConfigDict(env_prefix="MITL_", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    datasets_file: Path = Path("config/datasets.yaml")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    # Production Kafka wants its defaults; local runs and tests use short timeouts so that
    # consumers join their group in about a second (INFRA.md).
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Idempotent producers (with acks=all) never write a retried record twice. Off only for
    # the embedded stand-in broker, which does not take them.
    kafka_enable_idempotence: bool = True
    kafka_auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    kafka_max_batch: int = Field(default=256, ge=1, le=10_000)
    # How long a consumer waits for a first record before it looks again (faststream then also
    # sleeps this long). Records that arrive meanwhile are handed over at once, so this adds
    # latency only to the first record after a quiet spell; it sets how often an idle
    # subscriber wakes. 20 ms: the three item-path services burnt 0.11 cores doing nothing;
    # 100 ms: 0.07.
    kafka_batch_timeout_ms: int = Field(default=100, ge=1)
    # How long the broker may hold a fetch that finds no data. Tansu answers a held fetch
    # only at its next check, not when data arrives: with aiokafka's 500 ms, each hop of the
    # pipeline waited 100-200 ms (p50/p90, `mitl bench inference`); 50 ms answers in ~3 ms,
    # for 20 idle polls a second per consumer. Kafka answers on arrival either way. The short
    # wait is for the topics on an item's way to a decision (topics.LATENCY_SENSITIVE); the
    # others (labels, models, drift, audit's reads) take the background wait.
    kafka_fetch_max_wait_ms: int = Field(default=50, ge=1, le=30_000)
    kafka_background_fetch_max_wait_ms: int = Field(default=250, ge=1, le=30_000)
    # A bad deploy must not dead-letter the whole stream: above this share of a window of
    # messages, the consumer stops instead of committing (arroyo's DLQ limit).
    dlq_max_ratio: float = Field(default=0.5, gt=0, le=1)
    dlq_window: int = Field(default=1000, ge=10)
    log_level: str = "INFO"
