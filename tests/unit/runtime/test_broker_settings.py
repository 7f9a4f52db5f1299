"""The settings a local broker kind needs beside the defaults (Apache Kafka's): the embedded
stand-in takes no idempotent producers and answers a held fetch only at its next check."""

from __future__ import annotations

from mitl_runtime.localinfra import broker_settings, item_fetch_max_wait_ms
from mitl_runtime.settings import ServiceSettings


def test_apache_kafka_runs_on_the_defaults() -> None:
    assert broker_settings("kafka") == {}
    defaults = ServiceSettings()
    assert item_fetch_max_wait_ms("kafka") == defaults.kafka_fetch_max_wait_ms == 500
    assert defaults.kafka_background_fetch_max_wait_ms == 500


def test_the_embedded_broker_gets_short_fetch_waits_and_no_idempotence() -> None:
    env = broker_settings("embedded")
    assert item_fetch_max_wait_ms("embedded") == 50
    settings = ServiceSettings.model_validate(
        {key.removeprefix("MITL_").lower(): value for key, value in env.items()}
    )
    assert settings.kafka_enable_idempotence is False
    assert settings.kafka_fetch_max_wait_ms == 50
    assert settings.kafka_background_fetch_max_wait_ms == 250
