"""A fresh local Kafka node starts from the kept formatted storage (no storage-tool JVM) and
maps the class-data archive the first clean stop wrote, and answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mitl_runtime.kafka_server import LocalKafka, class_archive, java_available, wait_until_answers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not java_available(), reason="needs Java and `make kafka`"),
]


def cluster_id(log_dir: Path) -> str:
    found = re.search(r"^cluster\.id=(.*)$", (log_dir / "meta.properties").read_text(), re.M)
    assert found, log_dir
    return found.group(1)


def test_fresh_nodes_copy_the_formatted_storage_and_map_the_class_archive(
    tmp_path: Path, kafka: str
) -> None:
    # The session's node (`kafka`) formatted first: its kind's template exists.
    first = LocalKafka(tmp_path / "first", log_path=tmp_path / "first.log")
    template = first.formatted_template()
    assert template is not None and (template / "meta.properties").exists()
    first.start()
    try:
        wait_until_answers(first.bootstrap)
    finally:
        first.stop()
    assert cluster_id(first.data_dir / "log") == cluster_id(template)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id(template))
    # A clean stop leaves the archive (this one wrote it, or an earlier node did).
    archive = class_archive()
    assert archive is not None and archive.exists()
    second = LocalKafka(tmp_path / "second")
    second.start()
    try:
        assert second.process is not None
        assert f"-XX:SharedArchiveFile={archive}" in second.process.args
        wait_until_answers(second.bootstrap)
    finally:
        second.stop()
