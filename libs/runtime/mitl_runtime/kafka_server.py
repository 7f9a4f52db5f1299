"""Apache Kafka on loopback, for `make run`, the tests, the benchmarks and chaos runs.

One KRaft node with combined broker and controller roles, its data on disk, run with
`java -cp` from the jars `make kafka` copies out of Maven Central (kafka/pom.xml). Nothing is
downloaded at run time. The node can be killed, paused and restarted on the same data
directory, which is what the broker-fault scenarios do.

Settings that make one small node quick (and that production would not want) are marked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import secrets
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

# Extra JVM options for every local node, space-separated.
JVM_OPTIONS_VARIABLE = "MITL_KAFKA_JVM_OPTS"

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


def cache_key(inputs: list[object]) -> str:
    """A short digest of `inputs` (JSON values): the name of what is kept for them."""
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:16]


def cache_folder(name: str) -> Path | None:
    """The folder `name` beside the jars' folder, where what a node builds is kept for the
    next ones (None when it cannot be written)."""
    folder = kafka_libs().parent / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


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
    # The class-data archive this run writes when it exits (see class_data_flags).
    archive_in_progress: Path | None = None

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

    def java(self, main: str, *args: str, flags: tuple[str, ...] = ()) -> list[str]:
        return [
            java_binary(),
            *HEAP,
            *JVM_FLAGS,
            # More JVM options, e.g. the tests' -XX:TieredStopAtLevel=1 (tests/conftest.py).
            *os.environ.get(JVM_OPTIONS_VARIABLE, "").split(),
            *flags,
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
        """Format KRaft storage once; a restart on the same `data_dir` keeps every topic.

        The storage tool is a JVM of its own (seconds of CPU), and what it writes for a node
        depends only on Kafka's version, the node's properties and `format_args`, not on its
        ports or paths: the first format of each such combination is kept beside the jars
        and copied for every later node (every test and chaos stack starts a fresh one)."""
        log_dir = self.data_dir / "log"
        template = self.formatted_template()
        if template is not None and (template / "meta.properties").exists():
            shutil.copytree(template, log_dir, dirs_exist_ok=True)
            return
        result = subprocess.run(
            self.java(
                "kafka.tools.StorageTool",
                "format",
                "-t",
                new_cluster_id(),
                "-c",
                str(self.config_path),
                *self.format_args,
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage failed: {result.stdout}{result.stderr}")
        if template is not None:
            keep_template(log_dir, template)

    def formatted_template(self) -> Path | None:
        """Where a fresh format of this node's kind is kept (None: nowhere writable)."""
        key = cache_key([self.version, sorted(self.properties.items()), self.format_args])
        parent = cache_folder("formatted")
        return parent / key if parent is not None else None

    def start(self, timeout: float = 60.0) -> LocalKafka:
        self.write_config()
        if not self.formatted:
            self.format()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.java("kafka.Kafka", str(self.config_path), flags=self.class_data_flags()),
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

    def class_data_flags(self) -> tuple[str, ...]:
        """The JVM spends a third of a node's start-up CPU loading and verifying Kafka's
        classes. The first node that stops cleanly writes them to a class-data archive
        (AppCDS) beside the jars; every later node maps it (-XX:SharedArchiveFile): about
        8 -> 5 s of CPU per start here. A JVM that cannot use the archive (another JDK)
        ignores it and loads the classes as before."""
        self.forget_partial_archive()
        archive = class_archive()
        if archive is None:
            return ()
        if archive.exists():
            return (f"-XX:SharedArchiveFile={archive}",)
        self.archive_in_progress = archive.with_name(
            f"{archive.name}.{os.getpid()}.{secrets.token_hex(4)}"
        )
        return (f"-XX:ArchiveClassesAtExit={self.archive_in_progress}",)

    def keep_archive(self) -> None:
        """After a clean exit, publish the archive the run wrote (atomically)."""
        partial, self.archive_in_progress = self.archive_in_progress, None
        archive = class_archive()
        if partial is None or archive is None:
            return
        # The JVM exits 143 (128 + SIGTERM) once Kafka's shutdown hook has run.
        if self.process is not None and self.process.returncode in (0, 143) and partial.exists():
            os.replace(partial, archive)
        else:
            partial.unlink(missing_ok=True)

    def forget_partial_archive(self) -> None:
        if self.archive_in_progress is not None:
            self.archive_in_progress.unlink(missing_ok=True)
            self.archive_in_progress = None

    def signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs; what the node had not flushed, the log recovers."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.forget_partial_archive()  # a killed JVM writes no archive

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
        self.keep_archive()

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


def class_archive() -> Path | None:
    """Where the broker's class-data archive is kept: one per JDK build and Kafka version
    (None when the jars' folder is not writable)."""
    java = Path(java_binary()).resolve()
    key = cache_key([str(java), java.stat().st_mtime_ns, kafka_version()])
    folder = cache_folder("class-data")
    return folder / f"kafka-{key}.jsa" if folder is not None else None


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka makes them: 16 random bytes, base64url without padding,
    never starting with "-" (the storage tool would read it as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def keep_template(log_dir: Path, template: Path) -> None:
    """Copy a freshly formatted `log_dir` to `template`, atomically: a concurrent node that
    formatted the same kind first wins, and nothing ever sees half a copy."""
    partial = template.with_name(f"{template.name}.{os.getpid()}.{secrets.token_hex(4)}")
    shutil.copytree(log_dir, partial)
    try:
        partial.rename(template)
    except OSError:  # another node kept its copy first
        shutil.rmtree(partial, ignore_errors=True)
