"""The local Kafka node's start-up shortcuts, without a JVM: cluster ids made as Kafka makes
them, formatted storage kept per kind of node and published atomically."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from mitl_runtime import kafka_server
from mitl_runtime.kafka_server import LocalKafka, keep_template, new_cluster_id


def test_a_cluster_id_is_16_bytes_in_base64url_and_never_starts_with_a_dash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster_id = new_cluster_id()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id), cluster_id
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    # 0xf8 encodes as "-" first: the storage tool would read that id as an option.
    draws = iter([b"\xf8" + bytes(15), b"\x01" * 16])
    monkeypatch.setattr("mitl_runtime.kafka_server.secrets.token_bytes", lambda n: next(draws))
    assert new_cluster_id() == base64.urlsafe_b64encode(b"\x01" * 16).decode().rstrip("=")


def test_the_formatted_storage_is_kept_per_version_properties_and_format_args(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_server, "kafka_libs", lambda: tmp_path / "libs")
    monkeypatch.setattr(kafka_server, "kafka_version", lambda libs=None: "4.4.0")
    plain = LocalKafka(tmp_path / "a").formatted_template()
    assert plain is not None and plain.parent == tmp_path / "formatted"
    # Ports and data folders are not part of what the storage tool writes.
    assert LocalKafka(tmp_path / "b", port=1, controller_port=2).formatted_template() == plain
    scram = LocalKafka(tmp_path / "c", format_args=("--add-scram", "x")).formatted_template()
    tuned = LocalKafka(tmp_path / "d", properties={"num.partitions": "1"}).formatted_template()
    assert len({plain, scram, tuned}) == 3


def test_the_first_kept_template_wins_and_no_partial_copy_is_left(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, cluster_id in ((first, "one"), (second, "two")):
        (folder / "__cluster_metadata-0").mkdir(parents=True)
        (folder / "meta.properties").write_text(f"cluster.id={cluster_id}\n")
    template = tmp_path / "formatted" / "key"
    template.parent.mkdir()
    keep_template(first, template)
    keep_template(second, template)
    assert (template / "meta.properties").read_text() == "cluster.id=one\n"
    assert (template / "__cluster_metadata-0").is_dir()
    assert [p.name for p in template.parent.iterdir()] == ["key"]


def test_more_jvm_options_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_server, "java_binary", lambda: "java")
    monkeypatch.setattr(kafka_server, "kafka_libs", lambda: tmp_path)
    monkeypatch.setenv("MITL_KAFKA_JVM_OPTS", " -XX:TieredStopAtLevel=1  -Xss1m ")
    command = LocalKafka(tmp_path / "a").java("kafka.Kafka", "server.properties")
    at = command.index("-XX:TieredStopAtLevel=1")
    assert command[at + 1] == "-Xss1m" and at < command.index("kafka.Kafka")
    assert command[-2:] == ["kafka.Kafka", "server.properties"]
    monkeypatch.delenv("MITL_KAFKA_JVM_OPTS")
    assert "-Xss1m" not in LocalKafka(tmp_path / "a").java("kafka.Kafka")
