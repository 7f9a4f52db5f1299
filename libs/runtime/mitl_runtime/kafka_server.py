"""Apache Kafka on loopback, for `make run`, the tests, the benchmarks and chaos runs.

One KRaft node with combined broker and controller roles, its data on disk, run with
`java -cp` from the jars `make kafka` copies out of Maven Central (kafka/pom.xml). Nothing is
downloaded at run time. The node can be killed, paused and restarted on the same data
directory, which is what the broker-fault scenarios do.

Settings that make one small node quick (and that production would not want) are marked.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from mitl_runtime.ports import free_port, wait_for_port

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
KAFKA_DIR = REPO_ROOT / "kafka"
# Where `make kafka` puts the broker's jars; MITL_KAFKA_LIBS points elsewhere.
DEFAULT_LIBS = REPO_ROOT / ".local" / "kafka" / "libs"
HEAP = ("-Xms256m", "-Xmx768m")
# The JVM flags Kafka's own start script uses.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)

# One node, quick to start and quick to rebalance. Production keeps Kafka's defaults here.
SINGLE_NODE_PROPERTIES: dict[str, str] = {
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "8",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # A group's first member does not wait 3 s for others to join.
    "group.initial.rebalance.delay.ms": "0",
    # Tests and local runs use 2 s sessions (MITL_KAFKA_SESSION_TIMEOUT_MS); Kafka's
    # default floor is 6 s.
    "group.min.session.timeout.ms": "1000",
    "num.partitions": "4",
    "default.replication.factor": "1",
    "min.insync.replicas": "1",
}


def kafka_libs() -> Path:
    libs = Path(os.environ.get("MITL_KAFKA_LIBS", DEFAULT_LIBS))
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise FileNotFoundError(
            f"Apache Kafka's jars are not in {libs}: run `make kafka` (Maven copies them from "
            "kafka/pom.xml), or set MITL_KAFKA_LIBS"
        )
    return libs


def kafka_version(libs: Path | None = None) -> str:
    """The broker's version, read off its jar (kafka_2.13-4.4.0.jar -> 4.4.0)."""
    for jar in (libs or kafka_libs()).glob("kafka_2.13-*.jar"):
        if match := re.fullmatch(r"kafka_2\.13-(.+)\.jar", jar.name):
            return match.group(1)
    raise FileNotFoundError("no kafka_2.13 jar")


def java_binary() -> str:
    if home := os.environ.get("JAVA_HOME"):
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("java")
    if not found:
        raise FileNotFoundError("no `java` on PATH (Apache Kafka needs Java 17 or newer)")
    return found


def java_available() -> bool:
    try:
        java_binary()
        kafka_libs()
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Listener:
    """An extra client listener, e.g. SASL_SSL for the secured-broker test."""

    name: str
    port: int
    protocol: str


@dataclass
class LocalKafka:
    """An Apache Kafka node whose data lives in `data_dir` across restarts.

    `properties` are added to (and override) the node's configuration; `listeners` add client
    listeners beside the PLAINTEXT one; `format_args` go to the storage tool the first time
    (e.g. `--add-scram` to create SCRAM users before the node starts)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    log_path: Path | None = None
    listeners: tuple[Listener, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)
    format_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    name = "apache-kafka"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def version(self) -> str:
        return kafka_version()

    @property
    def description(self) -> str:
        """What the chaos rows and benchmarks print, e.g. `apache-kafka 4.4.0`."""
        return f"{self.name} {self.version}"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def configuration(self) -> dict[str, str]:
        protocols = {"PLAINTEXT": "PLAINTEXT", "CONTROLLER": "PLAINTEXT"}
        protocols.update({listener.name: listener.protocol for listener in self.listeners})
        addresses = [f"PLAINTEXT://127.0.0.1:{self.port}"] + [
            f"{listener.name}://127.0.0.1:{listener.port}" for listener in self.listeners
        ]
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "listeners": ",".join([*addresses, f"CONTROLLER://127.0.0.1:{self.controller_port}"]),
            "advertised.listeners": ",".join(addresses),
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
            "log.dirs": str(self.data_dir / "log"),
            **SINGLE_NODE_PROPERTIES,
            **self.properties,
        }

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={v}" for k, v in self.configuration().items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    def java(self, main: str, *args: str) -> list[str]:
        return [
            java_binary(),
            *HEAP,
            *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
            "-cp",
            f"{kafka_libs()}/*",
            main,
            *args,
        ]

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "log" / "meta.properties").exists()

    def format(self) -> None:
        """Format KRaft storage once; a restart on the same `data_dir` keeps every topic."""
        # KRaft wants a base64url-encoded 16-byte id; the storage tool makes one.
        cluster_id = subprocess.run(
            self.java("kafka.tools.StorageTool", "random-uuid"),
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        result = subprocess.run(
            self.java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config_path),
                *self.format_args,
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")

    def start(self, timeout: float = 60.0) -> LocalKafka:
        self.write_config()
        if not self.formatted:
            self.format()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.java("kafka.Kafka", str(self.config_path)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port, timeout, process=self.process)
        except Exception:
            self.stop()
            raise
        log.info("Apache Kafka %s on %s (data in %s)", self.version, self.bootstrap, self.data_dir)
        return self

    def signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; what the node had not flushed, the log recovers."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def restart(self) -> LocalKafka:
        """Start again on the same data directory and ports (after kill or stop)."""
        self.kill()
        return self.start()

    def stop(self, timeout: float = 30.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.resume()  # a paused node would never see SIGTERM through
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wipe(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)


def wait_until_answers(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until the node answers a metadata request (its port opens a little earlier)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> None:
        deadline = time.monotonic() + timeout
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception as error:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Kafka on {bootstrap} does not answer: {error}") from error
                await asyncio.sleep(0.2)
            finally:
                await admin.close()

    asyncio.run(probe())
