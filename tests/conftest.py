"""Shared fixtures. Integration fixtures start the real broker (Apache Kafka) and use a real
Postgres (a fresh database per session); unit tests of pure cores use none of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import (
    ADMIN_TOKEN,
    AUDITOR_TOKEN,
    BROKERS_USED,
    own_broker,
    own_database,
    trec6_dataset,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".local" / "test"

# Services under test (in this process, or started by LocalStack, which passes the
# environment on) look for a first record every 20 ms rather than the default 100: a test
# waits on many quiet-to-busy hops in a row, and idle CPU does not matter here.
os.environ.setdefault("MITL_KAFKA_BATCH_TIMEOUT_MS", "20")
# The tests' brokers live a minute or a few and carry little: the C2 compiler's work on them
# (about 0.12 cores for a minute after start, measured on a stack's broker) costs more than it
# saves. C1 only. Benchmarks and chaos runs outside the tests keep the full JIT.
os.environ.setdefault("MITL_KAFKA_JVM_OPTS", "-XX:TieredStopAtLevel=1")
# On the embedded stand-in (MITL_TEST_BROKER=embedded) services in this process take the short
# fetch wait that broker needs; stacks get it from LocalStack.
if os.environ.get("MITL_TEST_BROKER") == "embedded":
    os.environ.setdefault("MITL_KAFKA_FETCH_MAX_WAIT_MS", "50")

# Property tests check what the code computes, never how fast: on a shared, loaded machine
# hypothesis's default 200 ms deadline per example fails tests at random.
settings.register_profile("mitl", deadline=None)
settings.load_profile("mitl")


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """Bootstrap address of a fresh Apache Kafka node with every topic created."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield from own_broker(ARTIFACTS)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of a database created for this test session and dropped after it."""
    yield from own_database("mitl_test", stop_server=True)


@pytest.fixture(scope="session")
def bootstrap_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bootstrap TREC-6 model bundle, built once per session."""
    from mitl_ml.bootstrap import build_bootstrap

    out = tmp_path_factory.mktemp("models") / "trec6-bootstrap"
    build_bootstrap(out, dataset="trec6", kind="minilm", seed_size=300, seed=0)
    return out


@pytest.fixture(scope="session")
def datasets_file(tmp_path_factory: pytest.TempPathFactory, bootstrap_model: Path) -> Path:
    """A datasets file with trec6 on the bootstrap model."""
    path = tmp_path_factory.mktemp("config") / "datasets.yaml"
    path.write_text("datasets:\n" + trec6_dataset(bootstrap_model))
    return path


@pytest.fixture(scope="session")
def service_env(kafka: str, database_url: str, datasets_file: Path) -> dict[str, object]:
    """Settings every service under test shares (short Kafka timeouts: quick group joins)."""
    return {
        "kafka_bootstrap_servers": kafka,
        "database_url": database_url,
        "datasets_file": datasets_file,
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 300,
        # The static tokens of the guarded routes (tests.support.ADMIN, AUDITOR).
        "admin_token": ADMIN_TOKEN,
        "auditor_token": AUDITOR_TOKEN,
    }


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the drift monitor's integration tests last: the alerts they raise are real, stay
    open in the session's broker and database, and a router started after them would
    (rightly) tighten or escalate trec6 in tests that expect the plain policy."""
    last = [i for i in items if i.nodeid.startswith("tests/integration/test_drift")]
    items[:] = [i for i in items if i not in last] + last


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name the brokers the tests ran on, so the log says what was tested."""
    for description in sorted(BROKERS_USED):
        terminalreporter.write_line(f"broker: {description}")
