"""The import contracts of pyproject.toml ([tool.importlinter], see docs/architecture.md): the
real tree keeps them, and an upward or sideways import in a copy of the tree breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# module to plant -> (what it imports, the contract it breaks)
VIOLATIONS = {
    "mitl_ml._upward": ("import mitl_router", "layers"),
    "mitl_policy._upward": ("from mitl_ml import metrics", "layers"),
    "mitl_runtime._upward": ("import mitl_review", "layers"),
    "mitl_contracts._upward": ("from mitl_runtime import settings", "layers"),
    "mitl_cli._upward": ("from mitl_audit import store", "layers"),
    "mitl_review._sideways": ("from mitl_router import handlers", "services"),
    "mitl_policy._io": ("import asyncpg", "pure-policy"),
    "mitl_client._runtime": ("from mitl_runtime import settings", "client"),
}


def contract_names() -> dict[str, str]:
    config = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]
    return {contract["id"]: contract["name"] for contract in config["contracts"]}


def reported_under(output: str) -> dict[str, str]:
    """Broken import (planted module) -> id of the contract whose report lists it."""
    report = output.split("Broken contracts", 1)[1]
    headings = sorted((report.index(f"\n{name}\n"), cid) for cid, name in contract_names().items())
    found: dict[str, str] = {}
    for module in VIOLATIONS:
        at = report.find(f"{module} ->")
        if at >= 0:
            found[module] = [cid for start, cid in headings if start < at][-1]
    return found


def package_dirs() -> list[Path]:
    return sorted([*ROOT.glob("libs/*/mitl_*"), *ROOT.glob("services/*/mitl_*")])


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(CONFIG)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_package_is_a_root_package() -> None:
    text = CONFIG.read_text()
    for package in package_dirs():
        assert f'"{package.name}"' in text, f"{package.name} is missing from root_packages"


def test_the_tree_keeps_the_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_or_sideways_import_breaks_a_contract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for package in package_dirs():
        shutil.copytree(
            package,
            src / package.name,
            ignore=lambda d, names: (
                [n for n in names if not n.endswith(".py") and not (Path(d) / n).is_dir()]
                + ["__pycache__"]
            ),
        )
    for module, (statement, _) in VIOLATIONS.items():
        package, name = module.split(".")
        (src / package / f"{name}.py").write_text(f"{statement}\n")

    result = lint_imports(tmp_path, pythonpath=src)

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"0 kept, {len(contract_names())} broken" in output, output
    assert reported_under(output) == {
        module: contract for module, (_, contract) in VIOLATIONS.items()
    }, output
