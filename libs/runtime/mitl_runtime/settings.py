"""The settings every service shares. Each service subclasses this once (its own `Settings`)."""

from __future__ import annotations

from pathlib import Path

# Optional[...] rather than `X | None` for settings: docs/configuration.md's table shows the
# type's name, and a `|` there would split the row.
from typing import Any, Literal, Optional, Self, get_args

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mitl_runtime import kafka_security
from mitl_runtime.kafka_security import MECHANISMS, PROTOCOLS, SaslMechanism, SecurityProtocol


def blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def optional_field(cls: type[BaseSettings], name: str) -> bool:
    """Whether the setting `name` of `cls` may be left unset (its type admits None)."""
    field = cls.model_fields.get(name)
    return field is not None and type(None) in get_args(field.annotation)


class ServiceSettings(BaseSettings):
    """Read from `MITL_*` environment variables; passed as a parameter, never read at import."""

    # Errors name the setting and say what is wrong, without echoing the input: it may hold
    # the Kafka password.
    model_config = SettingsConfigDict(env_prefix="MITL_", extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    datasets_file: Path = Path("config/datasets.yaml")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    # Production Kafka wants its defaults; local runs and tests use short timeouts so that
    # consumers join their group in about a second.
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
    # How long the broker may hold a fetch that finds no data. Apache Kafka answers a held
    # fetch as soon as records arrive, so the wait costs no latency; it sets how often an
    # idle consumer asks again. At 50 ms (the earlier default) an idle local stack sent the
    # broker ~130 empty fetches a second and the broker spent 0.19 cores answering them; at
    # 500 ms (aiokafka's default) 0.10. Tansu, the embedded stand-in, answers a held fetch
    # only at its next check: `mitl run --broker embedded` and the benchmarks on it set 50 ms
    # (each hop waited 100-200 ms at 500). The item path (topics.LATENCY_SENSITIVE) takes
    # this wait, the other topics the background one.
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1, le=30_000)
    kafka_background_fetch_max_wait_ms: int = Field(default=500, ge=1, le=30_000)
    # On the item path, a batch taken from the consumer's fetch-ahead buffer whose records are
    # all older than this is topped up with what reached the broker meanwhile, waiting at most
    # this long for the fetch (fresh_batch.py): otherwise what arrives while a batch is handled
    # waits a second batch. 0: off.
    kafka_fresh_batch_wait_ms: int = Field(default=20, ge=0, le=1_000)
    # On the item path, a full batch (kafka_max_batch records) means a backlog: it is grown
    # with records the consumer has already fetched, without waiting, up to this many
    # (fresh_batch.py). Small batches keep a hop's latency short at moderate load, and a
    # backlog is still cleared in large ones. 0: off.
    kafka_backlog_batch: int = Field(default=0, ge=0, le=10_000)
    # A bad deploy must not dead-letter the whole stream: above this share of a window of
    # messages, the consumer stops instead of committing (arroyo's DLQ limit).
    dlq_max_ratio: float = Field(default=0.5, gt=0, le=1)
    dlq_window: int = Field(default=1000, ge=10)
    log_level: str = "INFO"
    # Per-logger levels over log_level, "name=LEVEL,name=LEVEL", e.g. "aiokafka=INFO" to see
    # a service's DEBUG lines without the Kafka client's, which logs every fetch at DEBUG.
    log_levels: str = ""
    # How every Kafka client authenticates and encrypts (docs/deploy.md, "Securing the Kafka
    # connection"): PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS).
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    # SASL login, required with SASL_SSL and SASL_PLAINTEXT: kafka_sasl_mechanism (PLAIN,
    # SCRAM-SHA-256 or SCRAM-SHA-512), kafka_sasl_username, kafka_sasl_password (never logged
    # or shown: **********). Kubernetes: from the Secret mitl-kafka-credentials.
    kafka_sasl_mechanism: Optional[SaslMechanism] = None  # noqa: UP045
    kafka_sasl_username: Optional[str] = None  # noqa: UP045
    kafka_sasl_password: Optional[SecretStr] = None  # noqa: UP045
    # PEM files for TLS (SSL, SASL_SSL): kafka_ssl_cafile, the CA that signed the brokers'
    # certificates (the system's CAs without it); kafka_ssl_certfile and kafka_ssl_keyfile, a
    # client certificate and its key for mutual TLS (both or neither); kafka_ssl_keyfile_password
    # if the key is encrypted. Kubernetes mounts the Secret's files at /etc/mitl/kafka.
    kafka_ssl_cafile: Optional[Path] = None  # noqa: UP045
    kafka_ssl_certfile: Optional[Path] = None  # noqa: UP045
    kafka_ssl_keyfile: Optional[Path] = None  # noqa: UP045
    kafka_ssl_keyfile_password: Optional[SecretStr] = None  # noqa: UP045
    # How long start-up waits for a broker to answer (and the clients to start) before the
    # service fails, saying why: unreachable, authentication failed, TLS handshake failed.
    kafka_connect_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # How long the Kafka clients may then take to start: consumers join their groups, and a
    # rebalance waits for the group's other members (up to their poll interval, 300 s).
    kafka_start_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    # OpenTelemetry traces (mitl_runtime.tracing), off by default. "otlp": spans to an OTLP/HTTP
    # collector at tracing_otlp_endpoint (e.g. http://otel-collector:4318/v1/traces); "file":
    # one JSON object per span appended to tracing_file (for a look without a collector).
    # The trace context travels in each Kafka record's `traceparent` header (W3C).
    tracing_exporter: Literal["none", "otlp", "file"] = "none"
    tracing_otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    tracing_file: Optional[Path] = None  # noqa: UP045
    tracing_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def blank_is_unset(cls, values: Any) -> Any:
        """An empty or blank value of an optional setting (a blank line of an env file, an
        absent optional Secret key) is the same as none."""
        if not isinstance(values, dict):
            return values
        return {
            name: None if blank(value) and optional_field(cls, name) else value
            for name, value in values.items()
        }

    @field_validator("log_levels")
    @classmethod
    def known_log_levels(cls, value: str) -> str:
        logger_levels(value)
        return value

    @field_validator("kafka_security_protocol", mode="before")
    @classmethod
    def known_protocol(cls, value: Any) -> Any:
        return kafka_security.choice(value, "kafka_security_protocol", PROTOCOLS)

    @field_validator("kafka_sasl_mechanism", mode="before")
    @classmethod
    def known_mechanism(cls, value: Any) -> Any:
        return kafka_security.choice(value, "kafka_sasl_mechanism", MECHANISMS)

    @model_validator(mode="after")
    def kafka_security_works(self) -> Self:
        kafka_security.check(self)
        return self

    @model_validator(mode="after")
    def tracing_has_a_file(self) -> Self:
        if self.tracing_exporter == "file" and self.tracing_file is None:
            raise ValueError("tracing_exporter 'file' needs tracing_file (MITL_TRACING_FILE)")
        return self


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


def logger_levels(spec: str) -> dict[str, str]:
    """{logger: level} from "name=LEVEL,name=LEVEL" (log_levels); ValueError naming the fault."""
    levels: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, level = (s.strip() for s in part.partition("="))
        if not sep or not name:
            raise ValueError(f"log_levels: {part!r} is not name=LEVEL (e.g. aiokafka=INFO)")
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"log_levels: {level!r} for {name!r} is not one of {LOG_LEVELS}")
        levels[name] = level.upper()
    return levels
