"""Every Kafka client of a service over SASL_SSL (SCRAM-SHA-256, a CA of the test's own), on
an Apache Kafka node of this module's own; and start-up failing fast, saying why, for a wrong
password, an untrusted CA and an unreachable broker."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from mitl_contracts import topics
from mitl_contracts.events import ItemIngested
from mitl_ingest.app import create_app
from mitl_ingest.settings import Settings
from mitl_runtime.broker import EventPublisher
from mitl_runtime.kafka_clients import client_options
from mitl_runtime.kafka_security import KafkaStartupError
from mitl_runtime.kafka_server import Listener, LocalKafka, java_available, wait_until_answers
from mitl_runtime.localinfra import create_topics
from mitl_runtime.ports import free_port
from mitl_runtime.service import ServiceRuntime
from mitl_runtime.settings import ServiceSettings

from tests.support import ROOT, ingest_headers, running_app

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_available(), reason="needs Java and `make kafka`"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI"),
]

USER, PASSWORD = "alice", "alice-secret"
MECHANISM = "SCRAM-SHA-256"
# Failing cases must fail well within this (and within the broker's own timeouts).
CONNECT_TIMEOUT_S = 8.0


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN=mitl test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    return directory / f"{name}.crt"


def make_server_cert(directory: Path, ca: str) -> Path:
    """A certificate for 127.0.0.1 and localhost signed by `ca`; returns a PEM keystore (the
    unencrypted PKCS#8 key, then the chain) as Kafka's `ssl.keystore.type=PEM` takes it."""
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    keystore = directory / "server-keystore.pem"
    keystore.write_text(
        "".join((directory / f).read_text() for f in ("server.key", "server.crt", f"{ca}.crt"))
    )
    return keystore


@dataclass(frozen=True)
class SecuredKafka:
    plaintext: str  # for the test's own set-up only (topics)
    sasl_ssl: str
    ca: Path
    other_ca: Path

    def values(self, **overrides: object) -> dict[str, object]:
        return {
            "kafka_bootstrap_servers": self.sasl_ssl,
            "kafka_security_protocol": "SASL_SSL",
            "kafka_sasl_mechanism": MECHANISM,
            "kafka_sasl_username": USER,
            "kafka_sasl_password": PASSWORD,
            "kafka_ssl_cafile": self.ca,
            "kafka_connect_timeout_s": CONNECT_TIMEOUT_S,
            "kafka_session_timeout_ms": 2000,
            "kafka_heartbeat_interval_ms": 300,
            **overrides,
        }

    def settings(self, **overrides: object) -> ServiceSettings:
        return ServiceSettings(**self.values(**overrides))


@pytest.fixture(scope="module")
def secured_kafka() -> Iterator[SecuredKafka]:
    workdir = ROOT / ".local" / "test" / f"secured-kafka-{uuid.uuid4().hex[:6]}"
    tls = workdir / "tls"
    tls.mkdir(parents=True)
    ca = make_ca(tls, "ca")
    other_ca = make_ca(tls, "other-ca")
    keystore = make_server_cert(tls, "ca")
    port = free_port()
    prefix = "listener.name.sasl_ssl"
    kafka = LocalKafka(
        data_dir=workdir / "data",
        log_path=workdir / "kafka.log",
        listeners=(Listener("SASL_SSL", port, "SASL_SSL"),),
        properties={
            "sasl.enabled.mechanisms": MECHANISM,
            f"{prefix}.sasl.enabled.mechanisms": MECHANISM,
            f"{prefix}.scram-sha-256.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            f"{prefix}.ssl.keystore.type": "PEM",
            f"{prefix}.ssl.keystore.location": str(keystore),
        },
        format_args=("--add-scram", f"{MECHANISM}=[name={USER},password={PASSWORD}]"),
    )
    kafka.start()
    try:
        wait_until_answers(kafka.bootstrap)
        yield SecuredKafka(kafka.bootstrap, f"127.0.0.1:{port}", ca, other_ca)
    finally:
        kafka.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def datasets_without_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secured-config") / "datasets.yaml"
    path.write_text(
        "datasets:\n  trec6:\n    input_kind: text\n"
        "    labels: [ABBR, DESC, ENTY, HUM, LOC, NUM]\n    max_text_chars: 500\n"
    )
    return path


async def test_a_service_runs_over_sasl_ssl(
    secured_kafka: SecuredKafka, database_url: str, datasets_without_model: Path
) -> None:
    """Ingest (its faststream consumer of the raw topic, its publisher) on the SASL_SSL
    listener only; what it publishes is read back by a consumer built from secured settings."""
    await create_topics(secured_kafka.plaintext, [topics.ITEMS_INGESTED, topics.ITEMS_RAW])
    values = secured_kafka.values(database_url=database_url, datasets_file=datasets_without_model)
    settings = Settings(**values)
    run = uuid.uuid4().hex[:8]
    app = create_app(settings)
    async with running_app(app, await ingest_headers(database_url)) as client:
        assert (await client.get("/readyz")).status_code == 200
        response = await client.post(
            "/v1/items",
            json={"dataset": "trec6", "items": [{"external_id": run, "text": "Who is it ?"}]},
        )
        assert response.status_code == 200, response.text
        assert response.json()["items"][0]["status"] == "accepted"
    consumer = secured_consumer(secured_kafka.settings(), topics.ITEMS_INGESTED)
    await consumer.start()
    try:
        ingested: list[ItemIngested] = []
        deadline = time.monotonic() + 30
        while not any(e.external_id == run for e in ingested):
            assert time.monotonic() < deadline, "the ingested item never arrived"
            for records in (await consumer.getmany(timeout_ms=500)).values():
                ingested += [ItemIngested.model_validate_json(r.value) for r in records]
    finally:
        await consumer.stop()


def secured_consumer(settings: ServiceSettings, topic: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        **client_options(settings),
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )


async def test_publisher_and_consumer_built_from_settings(secured_kafka: SecuredKafka) -> None:
    settings = secured_kafka.settings()
    topic = f"test.secured.{uuid.uuid4().hex[:8]}"
    await create_topics(secured_kafka.plaintext, [topic], 1)
    event = ItemIngested.model_validate(
        {
            "event_id": "e1",
            "dataset": "trec6",
            "item_id": "i1",
            "external_id": "x1",
            "batch_id": "b",
            "content": {"text": "hello"},
        }
    )
    async with EventPublisher(settings, "test") as publisher:
        await publisher.publish(topic, [event])
    consumer = secured_consumer(settings, topic)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    values = [r.value for records in batches.values() for r in records]
    assert [ItemIngested.model_validate_json(v).event_id for v in values] == ["e1"]


async def failed_start(settings: ServiceSettings, caplog: pytest.LogCaptureFixture) -> str:
    runtime = ServiceRuntime("probe-test", settings)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="mitl_runtime.kafka_security"):
        with pytest.raises(KafkaStartupError) as failure:
            await asyncio.wait_for(runtime.start(), CONNECT_TIMEOUT_S + 10)
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 5
    assert not runtime.health.started
    message = str(failure.value)
    assert any(message in record.getMessage() for record in caplog.records), caplog.text
    return message


async def test_wrong_password_fails_start_up_naming_authentication(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = secured_kafka.settings(kafka_sasl_password="not-the-password")
    started = time.monotonic()
    message = await failed_start(settings, caplog)
    assert message.startswith(
        f"Kafka authentication failed for user {USER} ({MECHANISM}) on {secured_kafka.sasl_ssl}"
    ), message
    # Not retried until the timeout: a wrong password does not get right.
    assert time.monotonic() - started < CONNECT_TIMEOUT_S
    assert "not-the-password" not in caplog.text


async def test_untrusted_ca_fails_start_up_naming_tls(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = secured_kafka.settings(kafka_ssl_cafile=secured_kafka.other_ca)
    message = await failed_start(settings, caplog)
    assert message.startswith(
        f"TLS handshake with {secured_kafka.sasl_ssl} failed: certificate verify failed"
    ), message
    assert f"MITL_KAFKA_SSL_CAFILE={secured_kafka.other_ca}" in message


async def test_plaintext_client_at_the_sasl_ssl_listener_says_so(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = ServiceSettings(
        kafka_bootstrap_servers=secured_kafka.sasl_ssl, kafka_connect_timeout_s=CONNECT_TIMEOUT_S
    )
    message = await failed_start(settings, caplog)
    assert "MITL_KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in message, message


async def test_unreachable_broker_fails_start_up_after_the_timeout(
    secured_kafka: SecuredKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = secured_kafka.settings(
        kafka_bootstrap_servers="127.0.0.1:1", kafka_connect_timeout_s=2
    )
    started = time.monotonic()
    message = await failed_start(settings, caplog)
    assert message.startswith("Kafka broker 127.0.0.1:1 unreachable after 2s"), message
    assert 1.5 < time.monotonic() - started < 6
