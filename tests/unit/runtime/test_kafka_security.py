"""The Kafka security settings: what start-up refuses (naming the setting), what the clients
get, and that the passwords never show in a repr, a JSON dump or an error."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLScram512
from mitl_runtime.kafka_clients import client_options, producer_options
from mitl_runtime.kafka_security import describe, faststream_security, security_options
from mitl_runtime.settings import ServiceSettings
from pydantic import ValidationError

PASSWORD = "s3cr3t-kafka-pw"
KEY_PASSWORD = "s3cr3t-key-pw"
SASL = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "alice",
    "kafka_sasl_password": PASSWORD,
}


def refused(**values: object) -> str:
    with pytest.raises(ValidationError) as error:
        ServiceSettings(**values)
    return str(error.value)


def test_plaintext_by_default_and_the_clients_get_no_tls() -> None:
    settings = ServiceSettings()
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert faststream_security(settings) is None


def test_an_unknown_protocol_or_mechanism_is_refused_naming_the_setting() -> None:
    assert "MITL_KAFKA_SECURITY_PROTOCOL='TLS' is not one of PLAINTEXT, SSL" in refused(
        kafka_security_protocol="TLS"
    )
    message = refused(**{**SASL, "kafka_sasl_mechanism": "GSSAPI"})
    assert "MITL_KAFKA_SASL_MECHANISM='GSSAPI' is not one of PLAIN, SCRAM-SHA-256" in message


def test_lower_case_values_are_taken() -> None:
    settings = ServiceSettings(**{**SASL, "kafka_security_protocol": "sasl_plaintext"})
    assert settings.kafka_security_protocol == "SASL_PLAINTEXT"


def test_sasl_needs_a_mechanism_and_a_login() -> None:
    assert "MITL_KAFKA_SASL_MECHANISM is required with MITL_KAFKA_SECURITY_PROTOCOL=SASL_SSL" in (
        refused(**{**SASL, "kafka_sasl_mechanism": ""})
    )
    assert "MITL_KAFKA_SASL_PASSWORD required with" in refused(
        **{**SASL, "kafka_sasl_password": None}
    )
    message = refused(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_mechanism="PLAIN")
    assert "MITL_KAFKA_SASL_USERNAME and MITL_KAFKA_SASL_PASSWORD required" in message


def test_settings_the_protocol_does_not_use_are_not_checked(tmp_path: Path) -> None:
    """The deploy files give every pod the optional Secret's keys; the protocol decides."""
    missing = tmp_path / "nope.crt"
    settings = ServiceSettings(
        kafka_sasl_username="alice", kafka_sasl_password=PASSWORD, kafka_ssl_cafile=missing
    )
    assert client_options(settings) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    sasl_plaintext = ServiceSettings(
        **{**SASL, "kafka_security_protocol": "SASL_PLAINTEXT"}, kafka_ssl_cafile=missing
    )
    assert "ssl_context" not in client_options(sasl_plaintext)


def test_missing_tls_files_are_refused_naming_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "nope.crt"
    message = refused(kafka_security_protocol="SSL", kafka_ssl_cafile=missing)
    assert f"MITL_KAFKA_SSL_CAFILE={missing}: no such file" in message
    message = refused(**SASL, kafka_ssl_keyfile=missing)
    assert f"MITL_KAFKA_SSL_KEYFILE={missing}: no such file" in message


def test_a_certfile_needs_a_keyfile(tmp_path: Path) -> None:
    cert = tmp_path / "client.crt"
    cert.write_text("x")
    message = refused(kafka_security_protocol="SSL", kafka_ssl_certfile=cert)
    assert "MITL_KAFKA_SSL_CERTFILE set without MITL_KAFKA_SSL_KEYFILE" in message


def test_an_unreadable_tls_file_is_refused_at_start(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate")
    message = refused(kafka_security_protocol="SSL", kafka_ssl_cafile=ca)
    assert f"cannot load the Kafka TLS files (MITL_KAFKA_SSL_CAFILE={ca})" in message


def test_an_empty_variable_is_unset() -> None:
    settings = ServiceSettings(kafka_ssl_cafile="", kafka_sasl_password=" ")
    assert settings.kafka_ssl_cafile is None
    assert settings.kafka_sasl_password is None


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SASL.items():
        monkeypatch.setenv(f"MITL_{name.upper()}", value)
    settings = ServiceSettings()
    assert settings.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == PASSWORD


def test_every_client_gets_sasl_over_tls() -> None:
    settings = ServiceSettings(**SASL)
    options = producer_options(settings, "ingest")
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "alice"
    assert options["sasl_plain_password"] == PASSWORD
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    security = faststream_security(settings)
    assert isinstance(security, SASLScram512)
    assert security.use_ssl and security.username == "alice" and security.password == PASSWORD


def test_ssl_without_sasl() -> None:
    settings = ServiceSettings(kafka_security_protocol="SSL")
    assert set(security_options(settings)) == {"security_protocol", "ssl_context"}
    security = faststream_security(settings)
    assert type(security) is BaseSecurity and security.use_ssl


def test_sasl_plaintext_has_no_tls_context() -> None:
    settings = ServiceSettings(**{**SASL, "kafka_security_protocol": "SASL_PLAINTEXT"})
    assert "ssl_context" not in security_options(settings)
    security = faststream_security(settings)
    assert security is not None and not security.use_ssl and security.ssl_context is None


def encrypted_key_pair(directory: Path) -> tuple[Path, Path]:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-days", "1", "-subj", "/CN=c",
            "-keyout", "client.key", "-out", "client.crt", "-passout", f"pass:{KEY_PASSWORD}",
        ],
        cwd=directory, check=True, capture_output=True,
    )  # fmt: skip
    return directory / "client.crt", directory / "client.key"


def test_passwords_never_show(tmp_path: Path) -> None:
    cert, key = encrypted_key_pair(tmp_path)
    settings = ServiceSettings(
        **SASL,
        kafka_ssl_certfile=cert,
        kafka_ssl_keyfile=key,
        kafka_ssl_keyfile_password=KEY_PASSWORD,
    )
    shown = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        repr(client_options(settings)),
        repr(producer_options(settings, "ingest")),
        str(client_options(settings)),
    ]
    for text in shown:
        assert PASSWORD not in text and KEY_PASSWORD not in text, text
    assert "**********" in repr(client_options(settings))


def test_errors_never_echo_a_password(tmp_path: Path) -> None:
    message = refused(**{**SASL, "kafka_sasl_mechanism": "NOPE"})
    assert PASSWORD not in message
    cert, key = encrypted_key_pair(tmp_path)
    message = refused(
        **SASL,
        kafka_ssl_certfile=cert,
        kafka_ssl_keyfile=key,
        kafka_ssl_keyfile_password="wrong-" + KEY_PASSWORD,
    )
    assert "cannot load the Kafka TLS files" in message
    assert "MITL_KAFKA_SSL_KEYFILE_PASSWORD" in message
    assert KEY_PASSWORD not in message and PASSWORD not in message


def test_describe_sorts_lasting_errors_from_passing_ones() -> None:
    from aiokafka import errors

    settings = ServiceSettings(**SASL)
    auth = describe(errors.SaslAuthenticationFailed("bad"), settings, "k:9093")
    assert auth is not None
    assert auth.startswith("Kafka authentication failed for user alice (SCRAM-SHA-512) on k:9093")
    assert describe(ConnectionRefusedError(111, "refused"), settings, "k:9093") is None
    assert describe(TimeoutError(), settings, "k:9093") is None


async def test_a_client_that_does_not_start_in_time_fails_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from mitl_runtime import kafka_security

    async def answers(settings: ServiceSettings, deadline: float) -> None:
        return None

    monkeypatch.setattr(kafka_security, "probe", answers)
    settings = ServiceSettings(kafka_start_timeout_s=0.2)
    with pytest.raises(kafka_security.KafkaStartupError) as error:
        await kafka_security.start_kafka_clients(
            settings, "ingest", ("broker", lambda: asyncio.sleep(30))
        )
    assert str(error.value) == (
        "ingest: the Kafka broker did not start within 0.2s on 127.0.0.1:9092 "
        "(MITL_KAFKA_START_TIMEOUT_S)"
    )
