"""The AsyncAPI document and the event JSON Schemas: generated from the contracts, checked in
under docs/ (a contract changed without `mitl contracts write` fails here), every reference
resolves, every example payload validates against its subject's schema, and the declared
topology is what the services' code publishes and consumes."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from fastapi.testclient import TestClient
from mitl_cli.commands import contracts
from mitl_contracts import asyncapi, topics, topology
from mitl_contracts.events import TOPIC_EVENTS
from mitl_contracts.examples import raw_examples
from mitl_runtime.http import Health, service_app

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
SERVICE_PACKAGES = {
    "ingest": "services/ingest/mitl_ingest",
    "inference": "services/inference/mitl_inference",
    "router": "services/router/mitl_router",
    "review-api": "services/review-api/mitl_review",
    "audit": "services/audit/mitl_audit",
    "drift-monitor": "services/drift-monitor/mitl_drift",
    "trainer": "services/trainer/mitl_trainer",
}
EVENT_NAMES = {model.__name__ for model in TOPIC_EVENTS.values()}


def test_checked_in_documents_match_the_code() -> None:
    assert contracts.stale(DOCS) == [], "run `mitl contracts write`"


def test_check_names_a_stale_file(tmp_path: Path) -> None:
    contracts.write(tmp_path)
    assert contracts.stale(tmp_path) == []
    schema = tmp_path / "schemas" / f"{topics.LABELS}-value.json"
    schema.write_text(schema.read_text().replace('"label"', '"labell"', 1))
    (tmp_path / "schemas" / "mitl.gone.v1-value.json").write_text("{}")
    assert contracts.stale(tmp_path) == [
        "schemas/mitl.gone.v1-value.json",
        f"schemas/{topics.LABELS}-value.json",
    ]


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("service", [None, *topology.SERVICES])
def test_every_reference_resolves(service: str | None) -> None:
    doc = asyncapi.document(service)
    assert doc["asyncapi"] == "3.0.0"
    refs = _refs(doc)
    assert refs
    for ref in refs:
        _resolve(doc, ref)
    for op in doc["operations"].values():
        channel = _resolve(doc, op["channel"]["$ref"])
        for message in op["messages"]:
            # an operation's message must be one of its channel's
            assert message["$ref"].startswith(op["channel"]["$ref"] + "/messages/")
            assert _resolve(doc, message["$ref"]) in channel["messages"].values()


def test_the_platform_document_covers_every_topic_and_its_dead_letters() -> None:
    doc = asyncapi.document()
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == set(topics.ALL) | {topics.dlq(t) for t in topics.ALL}
    for topic in topics.ALL:
        ops = [op for op in doc["operations"].values() if op["channel"]["$ref"].endswith(topic)]
        assert {op["action"] for op in ops} == {"send", "receive"}, topic


def test_a_service_document_holds_its_own_operations_only() -> None:
    doc = asyncapi.document("router")
    assert set(doc["operations"]) == {
        f"router.receive.{topics.PREDICTIONS}",
        f"router.receive.{topics.LABELS}",
        f"router.receive.{topics.DRIFT}",
        f"router.send.{topics.DECISIONS}",
        f"router.send.{topics.REVIEW_REQUESTED}",
        f"router.send.{topics.LABELS}",
        f"router.send.{topics.POLICIES}",
        f"router.send.{topics.dlq(topics.PREDICTIONS)}",
        f"router.send.{topics.dlq(topics.LABELS)}",
        f"router.send.{topics.dlq(topics.DRIFT)}",
    }
    assert topics.ITEMS_RAW not in doc["channels"]
    with pytest.raises(ValueError, match="unknown service 'nope'"):
        asyncapi.document("nope")


@pytest.mark.parametrize("topic", topics.ALL)
def test_examples_validate_against_their_subject_schema(topic: str) -> None:
    schema = json.loads((DOCS / "schemas" / f"{asyncapi.subject(topic)}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for payload in raw_examples(topic):
        validator.validate(payload)
    broken = dict(raw_examples(topic)[0])
    del broken["dataset"]
    with pytest.raises(jsonschema.ValidationError, match="'dataset' is a required property"):
        validator.validate(broken)


def test_every_service_serves_its_document() -> None:
    async def lifespan(app: object) -> Any:
        yield

    for service in topology.SERVICES:
        app = service_app(service, Health(), lifespan)
        with TestClient(app) as client:
            body = client.get("/asyncapi.json").json()
        assert body["info"]["title"] == f"mitl {service}"
        assert body == json.loads(json.dumps(asyncapi.document(service)))


def _topic(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "topics"
    ):
        return str(getattr(topics, node.attr))
    return None


def _module_texts(tree: ast.Module) -> dict[str, str]:
    """The strings each module-level name is built from (through the names it uses): an SQL
    statement kept in a constant, or formatted from a template, still says "outbox"."""
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def text(value: ast.AST, seen: frozenset[str]) -> str:
        parts = []
        for c in ast.walk(value):
            if isinstance(c, ast.Constant) and isinstance(c.value, str):
                parts.append(c.value)
            elif isinstance(c, ast.Name) and c.id in assigned and c.id not in seen:
                parts.append(text(assigned[c.id], seen | {c.id}))
        return " ".join(parts)

    return {name: text(value, frozenset({name})) for name, value in assigned.items()}


def _strings(args: list[ast.expr], texts: dict[str, str]) -> str:
    """The string constants in `args`, and the strings of the module-level names they use."""
    parts: list[str] = []
    for arg in args:
        for c in ast.walk(arg):
            if isinstance(c, ast.Constant) and isinstance(c.value, str):
                parts.append(c.value)
            elif isinstance(c, ast.Name) and c.id in texts:
                parts.append(texts[c.id])
    return " ".join(parts)


def _flow(package: Path) -> tuple[set[str], set[str]]:
    """What a service's code publishes and consumes: `topics.X` passed to a publish, an outbox
    add or an SQL statement writing the outbox; passed to subscribe, or paired with its event
    class in a subscription table."""
    produced: set[str] = set()
    consumed: set[str] = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        texts = _module_texts(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                found = {t for t in map(_topic, node.args) if t}
                sql = _strings(node.args, texts)
                if name in ("publish", "add") or "outbox" in sql:
                    produced |= found
                if name == "subscribe":
                    consumed |= found
            pairs: list[tuple[ast.AST, ast.AST]] = []
            if isinstance(node, ast.Tuple) and len(node.elts) >= 2:
                pairs = [(node.elts[0], node.elts[1])]
            if isinstance(node, ast.Dict):
                pairs = [
                    (k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None
                ]
            for key, value in pairs:
                topic = _topic(key)
                if topic and isinstance(value, ast.Name) and value.id in EVENT_NAMES:
                    consumed.add(topic)
    return produced, consumed


@pytest.mark.parametrize("service", topology.SERVICES)
def test_the_declared_topology_is_what_the_code_does(service: str) -> None:
    produced, consumed = _flow(ROOT / SERVICE_PACKAGES[service])
    assert produced == set(topology.published_by(service))
    assert consumed == set(topology.consumed_by(service))


def test_every_service_package_is_checked() -> None:
    assert set(SERVICE_PACKAGES) == set(topology.SERVICES)
    assert all((ROOT / p).is_dir() for p in SERVICE_PACKAGES.values())


def test_the_yaml_file_is_the_document() -> None:
    assert yaml.safe_load((DOCS / "asyncapi.yaml").read_text()) == json.loads(
        json.dumps(asyncapi.document())
    )
