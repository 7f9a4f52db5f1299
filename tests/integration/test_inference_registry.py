"""The model registry against real Postgres and the real broker: the first champion comes
from the catalog, later ones from the registry; `mitl models` registers (refusing bad bundles),
lists, promotes (announcing it on mitl.models.v1) and retires; items flow through the
registered MiniLM model, then through a promoted TF-IDF model."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport
from mitl_cli.main import main as cli_main
from mitl_client import ApiError, AsyncMitlClient, Endpoints
from mitl_client.bundles import bundle_archive
from mitl_contracts import topics
from mitl_contracts.events import ItemContent, ItemIngested, ModelPromoted, Prediction
from mitl_inference.app import create_app
from mitl_inference.settings import Settings
from mitl_ml.artifacts import manifest_digest
from mitl_ml.bootstrap import build_bootstrap
from mitl_ml.manifest import ModelManifest, read_manifest, read_verified_files, write_bundle
from mitl_runtime.auth.errors import NOT_VALID
from mitl_runtime.broker import EventPublisher
from mitl_runtime.settings import ServiceSettings

from tests.support import (
    TopicReader,
    eventually,
    own_broker,
    own_database,
    publish_events,
    running_app,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]


@pytest.fixture(scope="module")
def registry_db() -> Iterator[str]:
    """A database of this module's own: the registry's state is the subject here."""
    yield from own_database("mitl_registry")


# A broker of this module's own: its promotions are no other module's history.
kafka = pytest.fixture(scope="module", name="kafka")(own_broker)


@pytest.fixture(scope="module")
def tfidf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models") / "trec6-tfidf"
    build_bootstrap(out, dataset="trec6", kind="tfidf", seed_size=300, seed=0)
    return out


def catalog_file(directory: Path, trec6_model: Path) -> Path:
    path = directory / "datasets.yaml"
    path.write_text(
        f"""
datasets:
  trec6:
    labels: {json.dumps(LABELS)}
    model: {trec6_model}
  digits:
    input_kind: vector
    vector_dim: 64
    labels: {json.dumps([str(d) for d in range(10)])}
"""
    )
    return path


@pytest.fixture(scope="module")
def env(
    kafka: str, registry_db: str, bootstrap_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """Settings shared by the service under test and the CLI (as MITL_* variables)."""
    directory = tmp_path_factory.mktemp("registry")
    return {
        "kafka_bootstrap_servers": kafka,
        "database_url": registry_db,
        "datasets_file": catalog_file(directory, bootstrap_model),
        "artifact_dir": directory / "artifacts",
        "kafka_session_timeout_ms": 2000,
        "kafka_heartbeat_interval_ms": 300,
    }


async def mitl(env: dict[str, object], *args: str) -> tuple[int, str, str]:
    """Run the `mitl` CLI with `env` as MITL_* variables: in this process, on a thread of its
    own (a process per call spent most of this module's time importing), its stdout and
    stderr captured."""
    variables = {f"MITL_{k.upper()}": str(v) for k, v in env.items()}

    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        saved = {k: os.environ.get(k) for k in variables}
        os.environ.update(variables)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli_main(list(args))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return code, out.getvalue(), err.getvalue()

    return await asyncio.to_thread(run)


async def statuses(env: dict[str, object]) -> dict[str, str]:
    code, out, err = await mitl(env, "models", "list", "--json")
    assert code == 0, err
    return {r["version"]: r["status"] for r in json.loads(out) if r["dataset"] == "trec6"}


def items(run: str, n: int) -> list[ItemIngested]:
    texts = ["What is the capital of Peru ?", "Who painted the Mona Lisa ?", "How far is Mars ?"]
    return [
        ItemIngested(
            event_id=f"ing-{run}-{i}",
            dataset="trec6",
            item_id=f"{run}-{i}",
            external_id=f"x{i}",
            batch_id=run,
            content=ItemContent(text=texts[i % len(texts)]),
        )
        for i in range(n)
    ]


async def publish(kafka: str, events: list[ItemIngested]) -> None:
    await publish_events(kafka, topics.ITEMS_INGESTED, events)


async def predictions_for(kafka: str, run: str, n: int) -> list[Prediction]:
    async with TopicReader(kafka, topics.PREDICTIONS) as reader:
        await reader.wait_for(
            lambda _: len({p.item_id for p in reader.events(Prediction) if p.batch_id == run}) >= n,
            timeout=60,
        )
    return [p for p in reader.events(Prediction) if p.batch_id == run]


async def test_first_champion_comes_from_the_catalog_then_from_the_registry(
    env: dict[str, object], bootstrap_model: Path, tfidf_model: Path, tmp_path: Path
) -> None:
    kafka = str(env["kafka_bootstrap_servers"])
    version = read_manifest(bootstrap_model).version
    async with running_app(create_app(Settings(**env))) as client:
        served = (await client.get("/v1/models")).json()
        assert served["trec6"]["version"] == version and "digits" not in served
        listed = (await client.get("/v1/registry", params={"dataset": "trec6"})).json()
        assert [(r["version"], r["status"]) for r in listed] == [(version, "champion")]
        assert listed[0]["holdout_accuracy"] > 0.5 and listed[0]["kind"] == "minilm-logreg"
        run = uuid.uuid4().hex[:8]
        await publish(kafka, items(run, 6))
        scored = await predictions_for(kafka, run, 6)
    assert {p.model_version for p in scored} == {version}
    assert all(len(p.probabilities) == 6 and p.embedding_sketch for p in scored)
    async with TopicReader(kafka, topics.MODELS) as models:
        await models.wait_for(lambda _: bool(models.events(ModelPromoted, model_version=version)))
    announced = models.events(ModelPromoted, model_version=version)[0]
    assert announced.status == "champion" and announced.bundle_uri.startswith("file://")
    assert announced.artifact_sha256 == listed[0]["artifact_sha256"]

    # A restart with another catalog model keeps the registry's champion.
    moved = env | {"datasets_file": catalog_file(tmp_path, tfidf_model)}
    async with running_app(create_app(Settings(**moved))) as client:
        assert (await client.get("/v1/models")).json()["trec6"]["version"] == version
    assert await statuses(env) == {version: "champion"}


async def test_cli_registers_promotes_and_retires(
    env: dict[str, object], bootstrap_model: Path, tfidf_model: Path
) -> None:
    kafka = str(env["kafka_bootstrap_servers"])
    minilm, tfidf = read_manifest(bootstrap_model).version, read_manifest(tfidf_model).version
    code, out, err = await mitl(env, "models", "register", str(tfidf_model))
    assert code == 0, err
    assert json.loads(out)["status"] == "candidate"
    code, again, _ = await mitl(env, "models", "register", str(tfidf_model))
    assert code == 0 and json.loads(again)["artifact_sha256"] == json.loads(out)["artifact_sha256"]

    async with running_app(create_app(Settings(**env))):
        code, out, err = await mitl(env, "models", "promote", "trec6", tfidf)
        assert code == 0, err
        assert f"trec6 {tfidf} champion" in out
        assert await statuses(env) == {minilm: "retired", tfidf: "champion"}
        run = uuid.uuid4().hex[:8]
        await publish(kafka, items(run, 4))
        scored = await predictions_for(kafka, run, 4)
    assert {p.model_version for p in scored} == {tfidf}
    async with TopicReader(kafka, topics.MODELS) as models:
        await models.wait_for(lambda _: bool(models.events(ModelPromoted, model_version=tfidf)))

    code, _, err = await mitl(env, "models", "retire", "trec6", tfidf)
    assert code == 1 and "is the champion of dataset 'trec6'" in err
    code, out, err = await mitl(env, "models", "promote", "trec6", tfidf)
    assert code == 0 and "already the champion" in out
    code, _, err = await mitl(env, "models", "promote", "trec6", "no-such-version")
    assert code == 1 and "'no-such-version' of dataset 'trec6' is not registered" in err
    code, out, err = await mitl(env, "models", "list")
    assert code == 0 and tfidf in out and "champion" in out


def rewrite(bundle: Path, dest: Path, replace: dict[str, bytes], **update: object) -> Path:
    manifest = read_manifest(bundle)
    files = read_verified_files(bundle, manifest) | replace
    changed = ModelManifest.model_validate(manifest.model_copy(update=update).model_dump())
    write_bundle(dest, changed, files)
    return dest


async def test_cli_refuses_bundles_that_cannot_be_served(
    env: dict[str, object], tfidf_model: Path, tmp_path: Path
) -> None:
    before = await statuses(env)
    corrupt = rewrite(tfidf_model, tmp_path / "corrupt", {"pipeline.onnx": b"\x08garbage"})
    code, _, err = await mitl(env, "models", "register", str(corrupt))
    assert code == 1 and "pipeline.onnx: onnxruntime cannot load it" in err

    digits = tmp_path / "digits"
    build_bootstrap(digits, dataset="digits", kind="vector", seed_size=200, seed=0)
    narrow = rewrite(digits, tmp_path / "narrow", {}, vector_dim=32)
    code, _, err = await mitl(env, "models", "register", str(narrow))
    assert code == 1 and "input shape" in err and "expected [batch, 32]" in err

    other_labels = rewrite(tfidf_model, tmp_path / "labels", {}, version="odd", dataset="digits")
    code, _, err = await mitl(env, "models", "register", str(other_labels))
    assert code == 1 and "takes text input; dataset 'digits' has vector items" in err

    tampered = rewrite(tfidf_model, tmp_path / "tampered", {}, version="tampered")
    (tampered / "pipeline.onnx").write_bytes(b"changed after packaging")
    code, _, err = await mitl(env, "models", "register", str(tampered))
    assert code == 1 and "sha256 mismatch" in err
    assert await statuses(env) == before

    code, out, _ = await mitl(env, "models", "register", str(digits))
    assert code == 0 and json.loads(out)["dataset"] == "digits"

    # A candidate is not served: digits has no champion until one is promoted.
    async with running_app(create_app(Settings(**env))) as client:
        assert "digits" not in (await client.get("/v1/models")).json()
        code, _, err = await mitl(env, "models", "promote", "digits", "digits-vector-bootstrap-s0")
        assert code == 0, err

        async def digits_served() -> bool:
            return "digits" in (await client.get("/v1/models")).json()

        await eventually(digits_served)


async def test_versions_announced_by_others_are_registered_from_their_bundle(
    env: dict[str, object], tmp_path: Path
) -> None:
    """A trainer announces versions on mitl.models.v1 with a bundle_uri; a bundle that cannot
    be served is dead-lettered with the reason and the service keeps its champion."""
    kafka = str(env["kafka_bootstrap_servers"])
    fresh = tmp_path / "tfidf-s1"
    manifest = build_bootstrap(fresh, dataset="trec6", kind="tfidf", seed_size=300, seed=1)
    digits = tmp_path / "digits"
    build_bootstrap(digits, dataset="digits", kind="vector", seed_size=200, seed=0)
    narrow = rewrite(digits, tmp_path / "narrow", {}, version="digits-narrow", vector_dim=32)

    def announce(bundle: Path, status: str) -> ModelPromoted:
        version = read_manifest(bundle).version
        return ModelPromoted(
            event_id=f"trainer-{version}-{status}-{uuid.uuid4().hex[:6]}",
            dataset=read_manifest(bundle).dataset,
            model_version=version,
            status=status,  # type: ignore[arg-type]
            artifact_sha256=manifest_digest(bundle),
            bundle_uri=bundle.resolve().as_uri(),
        )

    settings = Settings(**(env | {"rescore_settle_ms": 0}))
    async with running_app(create_app(settings)) as client:
        before = (await client.get("/v1/models")).json()["trec6"]["version"]
        publisher = EventPublisher(ServiceSettings(kafka_bootstrap_servers=kafka), "trainer")
        await publisher.start()
        try:
            await publisher.publish(topics.MODELS, [announce(narrow, "candidate")])
            await publisher.publish(topics.MODELS, [announce(fresh, "candidate")])
            async with TopicReader(kafka, topics.dlq(topics.MODELS)) as dlq:
                await dlq.wait_for(lambda rs: any(b"digits-narrow" in r.value for r in rs))
            assert (await statuses(env))[manifest.version] == "candidate"
            assert (await client.get("/v1/models")).json()["trec6"]["version"] == before
            await publisher.publish(topics.MODELS, [announce(fresh, "champion")])
        finally:
            await publisher.stop()

        async def swapped() -> bool:
            return (await client.get("/v1/models")).json()["trec6"]["version"] == manifest.version

        await eventually(swapped)
    reason = next(
        dict(r.headers)["mitl-dlq-reason"].decode()
        for r in dlq.records
        if b"digits-narrow" in r.value
    )
    assert "input shape" in reason and "expected [batch, 32]" in reason
    assert (await statuses(env))[manifest.version] == "champion"


def archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_the_registry_over_http_takes_the_admin_token_and_refuses_bad_uploads(
    env: dict[str, object], tmp_path: Path
) -> None:
    """POST /v1/registry (a bundle's .tar.gz), promote and retire, from the Python client:
    401 without the token (off without MITL_ADMIN_TOKEN: tests/unit/runtime/auth),
    and every bad upload a 4xx naming what is wrong; what registers is served once
    promoted."""
    fresh = tmp_path / "tfidf-s2"
    manifest = build_bootstrap(fresh, dataset="trec6", kind="tfidf", seed_size=300, seed=2)
    gzip = {"Content-Type": "application/gzip"}

    token = "admin-" + uuid.uuid4().hex
    settings = Settings(**(env | {"admin_token": token, "max_bundle_bytes": 4 * 1024 * 1024}))
    app = create_app(settings)
    async with running_app(app) as client:
        anonymous = await client.post("/v1/registry", content=b"x", headers=gzip)
        assert anonymous.status_code == 401 and "missing credentials" in anonymous.text
        wrong = await client.post(
            "/v1/registry", content=b"x", headers=gzip | {"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.json()["detail"] == NOT_VALID
        admin = gzip | {"Authorization": f"Bearer {token}"}

        async def refused(body: bytes, headers: dict[str, str] = admin) -> tuple[int, str]:
            answer = await client.post("/v1/registry", content=body, headers=headers)
            return answer.status_code, str(answer.json()["detail"])

        status, why = await refused(b"{}", admin | {"Content-Type": "application/json"})
        assert status == 415 and "application/gzip" in why
        status, why = await refused(b"not an archive at all")
        assert status == 422 and "not a tar archive" in why
        status, why = await refused(archive({"../escape/manifest.json": b"{}"}))
        assert status == 422 and "refused" in why
        status, why = await refused(archive({"model/readme.txt": b"hello"}))
        assert status == 422 and "no manifest.json" in why
        status, why = await refused(os.urandom(5 * 1024 * 1024))
        assert status == 413 and "over the limit" in why
        corrupt = rewrite(fresh, tmp_path / "corrupt", {"pipeline.onnx": b"\x08garbage"})
        status, why = await refused(bundle_archive(corrupt))
        assert status == 422 and "pipeline.onnx: onnxruntime cannot load it" in why
        assert "mitl-upload-" not in why  # the server's temporary path is not the caller's

        endpoints = Endpoints(inference="http://inference")
        transport = ASGITransport(app=app)
        async with AsyncMitlClient(endpoints, token=token, transport=transport) as mitl_client:
            record = await mitl_client.register_model(fresh)
            assert (record["version"], record["status"]) == (manifest.version, "candidate")
            again = await mitl_client.register_model(fresh)
            assert again["artifact_sha256"] == record["artifact_sha256"]
            promoted = await mitl_client.promote_model("trec6", manifest.version)
            assert promoted == {
                "dataset": "trec6",
                "version": manifest.version,
                "status": "champion",
                "changed": True,
            }

            async def swapped() -> bool:
                served = (await client.get("/v1/models")).json()
                return bool(served["trec6"]["version"] == manifest.version)

            await eventually(swapped)
            with pytest.raises(ApiError) as unknown:
                await mitl_client.retire_model("trec6", "no-such-version")
            assert unknown.value.status == 404
            with pytest.raises(ApiError) as champion:
                await mitl_client.retire_model("trec6", manifest.version)
            assert champion.value.status == 409 and "is the champion" in str(champion.value)
    assert (await statuses(env))[manifest.version] == "champion"
