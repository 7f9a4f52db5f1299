"""How mitl's Kafka clients authenticate and encrypt: the settings' checks, the aiokafka
options and faststream security object they make, and a start-up that says what is wrong.

Every aiokafka client built from settings (kafka_clients.client_options) and the faststream
broker (broker.make_broker) get the same TLS context and SASL credentials from here. Start-up
(`start_kafka_clients`) first opens one connection to a bootstrap broker the way the clients
will, so that a wrong password, an untrusted certificate or an unreachable broker fails the
service within `kafka_connect_timeout_s`, with a log line that names the problem, instead of
aiokafka's "Unable to bootstrap" (or a retry loop). The clients' own start (a consumer waits
for its group to take it in) is bounded by `kafka_start_timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from aiokafka import errors
from aiokafka.conn import collect_hosts, create_conn
from aiokafka.helpers import create_ssl_context
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

if TYPE_CHECKING:
    from mitl_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PROTOCOLS: tuple[str, ...] = get_args(SecurityProtocol)
MECHANISMS: tuple[str, ...] = get_args(SaslMechanism)
TLS_FILES = ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
# How long one probe waits for a broker that accepted the connection but does not answer.
PROBE_REQUEST_TIMEOUT_S = 10.0
RETRY_INTERVAL_S = 0.5


def env_name(field: str) -> str:
    """The environment variable of a settings field: kafka_ssl_cafile -> MITL_KAFKA_SSL_CAFILE."""
    return f"MITL_{field.upper()}"


def uses_tls(protocol: str) -> bool:
    return protocol in ("SSL", "SASL_SSL")


def uses_sasl(protocol: str) -> bool:
    return protocol.startswith("SASL_")


class Redacted(str):
    """A secret that aiokafka can use as the str it is, but that repr() (a logged dict of
    client options, a traceback's locals) shows masked."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


def choice(value: object, field: str, allowed: tuple[str, ...]) -> object:
    """`value` upper-cased if it is one of `allowed`; else a ValueError naming the setting."""
    if value is None or not isinstance(value, str):
        return value
    normalized = value.strip().upper()
    if normalized not in allowed:
        raise ValueError(f"{env_name(field)}={value!r} is not one of {', '.join(allowed)}")
    return normalized


def check(settings: ServiceSettings) -> None:
    """Raise a ValueError naming the setting when the Kafka security settings cannot work.

    Settings the protocol does not use are not checked (a SASL login with PLAINTEXT, a CA file
    with SASL_PLAINTEXT): the deploy files pass the optional Secret's keys to every pod, and a
    protocol switch in one place (the `mitl-env` ConfigMap, compose's env file) turns them on."""
    protocol = settings.kafka_security_protocol
    where = f"{env_name('kafka_security_protocol')}={protocol}"
    if uses_sasl(protocol):
        if settings.kafka_sasl_mechanism is None:
            raise ValueError(
                f"{env_name('kafka_sasl_mechanism')} is required with {where} "
                f"(one of {', '.join(MECHANISMS)})"
            )
        missing = [
            env_name(field)
            for field in ("kafka_sasl_username", "kafka_sasl_password")
            if not getattr(settings, field)
        ]
        if missing:
            raise ValueError(f"{' and '.join(missing)} required with {where}")
    if not uses_tls(protocol):
        return
    for field in TLS_FILES:
        path: Path | None = getattr(settings, field)
        if path is not None and not path.is_file():
            raise ValueError(f"{env_name(field)}={path}: no such file")
    if (settings.kafka_ssl_certfile is None) != (settings.kafka_ssl_keyfile is None):
        given, needed = (
            ("kafka_ssl_certfile", "kafka_ssl_keyfile")
            if settings.kafka_ssl_keyfile is None
            else ("kafka_ssl_keyfile", "kafka_ssl_certfile")
        )
        raise ValueError(
            f"{env_name(given)} set without {env_name(needed)}: a client certificate needs "
            "both (mutual TLS)"
        )
    ssl_context(settings)


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of every client: the CA to trust (the system's when no
    MITL_KAFKA_SSL_CAFILE), and the client certificate for mutual TLS. None without TLS."""
    if not uses_tls(settings.kafka_security_protocol):
        return None
    password = settings.kafka_ssl_keyfile_password
    try:
        return create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
            password=password.get_secret_value() if password else None,
        )
    except (ssl.SSLError, OSError) as error:
        files = ", ".join(
            f"{env_name(field)}={getattr(settings, field)}"
            for field in (*TLS_FILES, "kafka_ssl_keyfile_password")
            if getattr(settings, field) is not None
        )
        raise ValueError(f"cannot load the Kafka TLS files ({files}): {error}") from None


def security_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka's keyword arguments for the settings' protocol, TLS context and SASL login."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if uses_tls(protocol):
        options["ssl_context"] = ssl_context(settings)
    if uses_sasl(protocol):
        password = settings.kafka_sasl_password
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = Redacted(password.get_secret_value() if password else "")
    return options


SASL_SECURITY: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


def faststream_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same as `security_options`, as faststream's KafkaBroker takes it (`security=`)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = ssl_context(settings)
    if not uses_sasl(protocol):
        return BaseSecurity(ssl_context=context, use_ssl=True)
    options = security_options(settings)
    return SASL_SECURITY[str(settings.kafka_sasl_mechanism)](
        options["sasl_plain_username"],
        options["sasl_plain_password"],
        ssl_context=context,
        use_ssl=uses_tls(protocol),
    )


class KafkaStartupError(RuntimeError):
    """The service's Kafka clients could not start; the message says why, naming settings."""


# Errors that another attempt will not cure: the settings (or the broker's) must change.
AUTH_ERRORS = (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError)
SASL_SETUP_ERRORS = (
    errors.UnsupportedSaslMechanismError,
    errors.IllegalSaslStateError,
    errors.AuthenticationMethodNotSupported,
)


def describe(error: BaseException, settings: ServiceSettings, address: str) -> str | None:
    """What a failed connection to `address` means, naming the settings involved; None for
    errors another attempt may cure (the broker is not up yet, the network)."""
    protocol = settings.kafka_security_protocol
    if isinstance(error, AUTH_ERRORS):
        return (
            f"Kafka authentication failed for user {settings.kafka_sasl_username} "
            f"({settings.kafka_sasl_mechanism}) on {address}: {error} (check "
            f"{env_name('kafka_sasl_username')} and {env_name('kafka_sasl_password')})"
        )
    if isinstance(error, SASL_SETUP_ERRORS):
        return (
            f"Kafka broker {address} refused SASL {settings.kafka_sasl_mechanism} "
            f"({env_name('kafka_sasl_mechanism')}, {env_name('kafka_security_protocol')}="
            f"{protocol}): {error}"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        cafile = settings.kafka_ssl_cafile
        trusted = (
            f"{env_name('kafka_ssl_cafile')}={cafile}"
            if cafile
            else f"the system's CAs; no {env_name('kafka_ssl_cafile')}"
        )
        return (
            f"TLS handshake with {address} failed: certificate verify failed: "
            f"{error.verify_message} ({trusted})"
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"TLS handshake with {address} failed: {error.reason or error} (is "
            f"{env_name('kafka_security_protocol')}={protocol} the protocol of this listener? "
            f"a client certificate: {env_name('kafka_ssl_certfile')})"
        )
    if isinstance(error, errors.KafkaConnectionError) and "closed" in str(error):
        # The broker accepted the connection and hung up on the first request: a PLAINTEXT
        # client at a TLS or SASL listener, or a TLS client the listener rejected.
        return (
            f"Kafka broker {address} closed the connection during the handshake: is "
            f"{env_name('kafka_security_protocol')}={protocol} the protocol of this listener?"
        )
    return None


async def probe(settings: ServiceSettings, deadline: float) -> None:
    """Open one connection to a bootstrap broker as the clients will (TLS, SASL), until one
    answers or `deadline` (time.monotonic()) passes. A failure no retry cures raises at once."""
    options = security_options(settings)
    hosts = [(host, port) for host, port, _ in collect_hosts(settings.kafka_bootstrap_servers)]
    last: dict[str, BaseException] = {}
    while True:
        for host, port in hosts:
            address = f"{host}:{port}"
            remaining = deadline - time.monotonic()
            timeout = max(0.1, min(PROBE_REQUEST_TIMEOUT_S, remaining))
            try:
                async with asyncio.timeout(timeout + 1):
                    conn = await create_conn(
                        host,
                        port,
                        client_id="mitl-probe",
                        request_timeout_ms=int(timeout * 1000),
                        **options,
                    )
            except (OSError, errors.KafkaError, TimeoutError) as error:
                message = describe(error, settings, address)
                if message is not None:
                    raise KafkaStartupError(message) from error
                last[address] = error
                continue
            conn.close()
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            why = "; ".join(f"{a}: {type(e).__name__}: {e}" for a, e in last.items())
            raise KafkaStartupError(
                f"Kafka broker {settings.kafka_bootstrap_servers} unreachable after "
                f"{settings.kafka_connect_timeout_s:g}s ({why}; "
                f"{env_name('kafka_bootstrap_servers')}, {env_name('kafka_connect_timeout_s')})"
            )
        await asyncio.sleep(min(RETRY_INTERVAL_S, remaining))


async def start_kafka_clients(
    settings: ServiceSettings, service: str, *starts: tuple[str, Callable[[], Awaitable[Any]]]
) -> None:
    """Probe the brokers (within `kafka_connect_timeout_s`), then run each (name, start) in
    turn (within `kafka_start_timeout_s`: a consumer's start waits for its group to take it
    in). Any failure is a KafkaStartupError whose message (also logged) names the problem."""
    started = time.monotonic()
    try:
        await probe(settings, started + settings.kafka_connect_timeout_s)
        deadline = time.monotonic() + settings.kafka_start_timeout_s
        for name, start in starts:
            try:
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    await start()
            except TimeoutError:
                raise KafkaStartupError(
                    f"{service}: the Kafka {name} did not start within "
                    f"{settings.kafka_start_timeout_s:g}s on "
                    f"{settings.kafka_bootstrap_servers} ({env_name('kafka_start_timeout_s')})"
                ) from None
            except (OSError, errors.KafkaError) as error:
                message = describe(error, settings, settings.kafka_bootstrap_servers)
                raise KafkaStartupError(
                    message or f"{service}: the Kafka {name} did not start: {error}"
                ) from error
    except KafkaStartupError as error:
        log.error("%s cannot start: %s", service, error)
        raise
    log.info(
        "%s connected to Kafka %s (%s) in %.1fs",
        service,
        settings.kafka_bootstrap_servers,
        settings.kafka_security_protocol,
        time.monotonic() - started,
    )
