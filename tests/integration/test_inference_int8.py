"""The int8 MiniLM model kind against real Postgres and the real broker: a minilm-int8 bundle
(its quantized encoder inside) is the first champion and scores items; bundles whose quantized
graph does not load, or whose encoder is not the one the head was trained on, are refused at
registration (`mitl models register`, and announced on mitl.models.v1) with the mismatch
named, and nothing of them is registered or served. The same for the trainer's hybrid kind on
the int8 encoder, which carries it the same way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitl_client.bundles import bundle_archive
from mitl_contracts import topics
from mitl_contracts.events import ModelPromoted
from mitl_inference.app import create_app
from mitl_inference.settings import Settings
from mitl_ml.artifacts import manifest_digest
from mitl_ml.bootstrap import bootstrap_splits, build_bootstrap
from mitl_ml.encoder import default_model_path
from mitl_ml.manifest import (
    ModelManifest,
    read_manifest,
    read_verified_files,
    sha256_hex,
    write_bundle,
)
from mitl_ml.quantize import DEFAULT_RECIPE, INT8_ENCODER_ID
from mitl_ml.train import train_hybrid_logreg
from mitl_runtime.broker import EventPublisher
from mitl_runtime.settings import ServiceSettings

from tests.integration.test_inference_registry import (
    catalog_file,
    items,
    mitl,
    predictions_for,
    publish,
    statuses,
)
from tests.support import TopicReader, own_broker, own_database, running_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def int8_db() -> Iterator[str]:
    yield from own_database("mitl_int8")


kafka = pytest.fixture(scope="module", name="kafka")(own_broker)


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "trec6-minilm-int8"
    build_bootstrap(out, dataset="trec6", kind="minilm-int8", seed_size=300, seed=0)
    return out


@pytest.fixture(scope="module")
def env(
    kafka: str, int8_db: str, int8_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    directory = tmp_path_factory.mktemp("int8")
    return {
        "kafka_bootstrap_servers": kafka,
        "database_url": int8_db,
        "datasets_file": catalog_file(directory, int8_model),
        "artifact_dir": directory / "artifacts",
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 300,
    }


def rewrite(
    bundle: Path, dest: Path, encoder_bytes: bytes, *, retrained_on: bool, version: str
) -> Path:
    """`bundle` with encoder.onnx replaced by `encoder_bytes` (file digests redone). With
    `retrained_on`, the manifest also claims the head was trained on that encoder (so only
    the graph itself is wrong); without, it still names the encoder the head was trained on."""
    manifest = read_manifest(bundle)
    files = read_verified_files(bundle, manifest) | {"encoder.onnx": encoder_bytes}
    update: dict[str, object] = {"version": version}
    if retrained_on:
        digest = sha256_hex(encoder_bytes)
        assert manifest.encoder is not None
        update["encoder"] = manifest.encoder.model_copy(update={"sha256": digest}).model_dump()
        update["training"] = manifest.training | {"encoder_sha256": digest}
    changed = ModelManifest.model_validate(manifest.model_dump() | update)
    write_bundle(dest, changed, files)
    return dest


async def test_int8_champion_scores_items(env: dict[str, object], int8_model: Path) -> None:
    kafka = str(env["kafka_bootstrap_servers"])
    manifest = read_manifest(int8_model)
    async with running_app(create_app(Settings(**env))) as client:
        served = (await client.get("/v1/models")).json()
        assert served["trec6"]["version"] == manifest.version
        listed = (await client.get("/v1/registry", params={"dataset": "trec6"})).json()
        assert listed[0]["kind"] == "minilm-int8-logreg"
        assert listed[0]["preprocessing"]["quantization"]["name"] == DEFAULT_RECIPE
        run = uuid.uuid4().hex[:8]
        await publish(kafka, items(run, 6))
        scored = await predictions_for(kafka, run, 6)
    assert {p.model_version for p in scored} == {manifest.version}
    assert all(len(p.probabilities) == 6 and p.embedding_sketch for p in scored)


async def test_registration_refuses_broken_or_mismatched_encoders(
    env: dict[str, object], int8_model: Path, tmp_path: Path
) -> None:
    before = await statuses(env)
    trained_on = read_manifest(int8_model).training["encoder_sha256"]

    garbage = b"\x08\x07not an onnx graph at all"
    broken = rewrite(int8_model, tmp_path / "broken", garbage, retrained_on=True, version="b")
    code, _, err = await mitl(env, "models", "register", str(broken))
    assert code == 1, err
    assert "encoder.onnx (encoder): onnxruntime cannot load or run the quantized graph" in err

    shipped = default_model_path().read_bytes()
    swapped = rewrite(int8_model, tmp_path / "swapped", shipped, retrained_on=False, version="s")
    code, _, err = await mitl(env, "models", "register", str(swapped))
    assert code == 1, err
    assert "encoder mismatch" in err and f"trained on encoder {trained_on[:12]}" in err
    assert f"encoder.onnx is {sha256_hex(shipped)[:12]}" in err

    fp32 = rewrite(int8_model, tmp_path / "fp32", shipped, retrained_on=True, version="f")
    code, _, err = await mitl(env, "models", "register", str(fp32))
    assert code == 1 and "no integer kernels" in err, err
    assert await statuses(env) == before


async def test_announced_bundle_with_another_encoder_is_dead_lettered(
    env: dict[str, object], int8_model: Path, tmp_path: Path
) -> None:
    """A trainer's announcement of such a bundle as champion: dead-lettered with the reason,
    and the replica keeps serving its champion with its own encoder."""
    kafka = str(env["kafka_bootstrap_servers"])
    shipped = default_model_path().read_bytes()
    swapped = rewrite(
        int8_model, tmp_path / "swapped", shipped, retrained_on=False, version="trec6-swapped"
    )
    event = ModelPromoted(
        event_id=f"trainer-swapped-{uuid.uuid4().hex[:6]}",
        dataset="trec6",
        model_version="trec6-swapped",
        status="champion",
        artifact_sha256=manifest_digest(swapped),
        bundle_uri=swapped.resolve().as_uri(),
    )
    async with running_app(create_app(Settings(**env))) as client:
        champion = (await client.get("/v1/models")).json()["trec6"]["version"]
        publisher = EventPublisher(ServiceSettings(kafka_bootstrap_servers=kafka), "trainer")
        await publisher.start()
        try:
            await publisher.publish(topics.MODELS, [event])
        finally:
            await publisher.stop()
        async with TopicReader(kafka, topics.dlq(topics.MODELS)) as dlq:
            await dlq.wait_for(lambda rs: any(b"trec6-swapped" in r.value for r in rs))
        assert (await client.get("/v1/models")).json()["trec6"]["version"] == champion
        run = uuid.uuid4().hex[:8]
        await publish(kafka, items(run, 3))
        scored = await predictions_for(kafka, run, 3)
    assert {p.model_version for p in scored} == {champion}
    reason = next(
        dict(r.headers)["mitl-dlq-reason"].decode()
        for r in dlq.records
        if b"trec6-swapped" in r.value
    )
    assert "encoder mismatch" in reason
    assert "trec6-swapped" not in await statuses(env)
    code, out, _ = await mitl(env, "models", "list", "--json")
    assert code == 0 and all(r["version"] != "trec6-swapped" for r in json.loads(out))


@pytest.fixture(scope="module")
def int8_hybrid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hybrid-logreg bundle on the default (int8) encoder, as the trainer builds them."""
    seed_set = bootstrap_splits("trec6", seed_size=300, seed=0).seed_set
    manifest, files = train_hybrid_logreg(
        seed_set.texts(), seed_set.label_list(), list(seed_set.labels),
        seed=0, name="trec6-hybrid", version="trec6-hybrid-int8", dataset="trec6",
    )  # fmt: skip
    out = tmp_path_factory.mktemp("models") / "trec6-hybrid-int8"
    write_bundle(out, manifest, files)
    return out


async def test_int8_hybrid_registers_and_a_tampered_one_is_refused(
    env: dict[str, object], int8_hybrid: Path, tmp_path: Path
) -> None:
    manifest = read_manifest(int8_hybrid)
    assert manifest.kind == "hybrid-logreg" and manifest.files["encoder"] == "encoder.onnx"
    trained_on = manifest.training["encoder_sha256"]
    shipped = default_model_path().read_bytes()
    swapped = rewrite(
        int8_hybrid, tmp_path / "swapped", shipped, retrained_on=False, version="hyb-s"
    )
    before = await statuses(env)
    code, _, err = await mitl(env, "models", "register", str(swapped))
    assert code == 1, err
    assert "encoder mismatch" in err and f"trained on encoder {trained_on[:12]}" in err
    garbage = b"\x08\x07not an onnx graph at all"
    broken = rewrite(int8_hybrid, tmp_path / "broken", garbage, retrained_on=True, version="hyb-b")
    token = "admin-" + uuid.uuid4().hex
    gzip = {"Content-Type": "application/gzip", "Authorization": f"Bearer {token}"}
    async with running_app(create_app(Settings(**(env | {"admin_token": token})))) as client:
        answer = await client.post("/v1/registry", content=bundle_archive(swapped), headers=gzip)
        assert answer.status_code == 422 and "encoder mismatch" in answer.json()["detail"]
        answer = await client.post("/v1/registry", content=bundle_archive(broken), headers=gzip)
        assert answer.status_code == 422
        assert "cannot load or run the quantized graph" in answer.json()["detail"]
        assert await statuses(env) == before
        answer = await client.post(
            "/v1/registry", content=bundle_archive(int8_hybrid), headers=gzip
        )
        assert answer.status_code == 201, answer.text
        listed = (await client.get("/v1/registry", params={"dataset": "trec6"})).json()
    record = next(r for r in listed if r["version"] == manifest.version)
    assert record["kind"] == "hybrid-logreg"
    assert record["preprocessing"]["encoder"] == INT8_ENCODER_ID
    assert record["preprocessing"]["quantization"]["name"] == DEFAULT_RECIPE
