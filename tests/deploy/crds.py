"""Validating custom resources against the CRDs in deploy/schemas, as strictly as
kubernetes-validate's --strict treats built-in kinds: undeclared fields are errors."""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
import yaml

from tests.deploy.tools import ROOT

SCHEMAS = ROOT / "deploy" / "schemas"


def strict(schema: Any) -> Any:
    """`schema` with `additionalProperties: false` on every object that declares properties
    and neither allows extra ones nor preserves unknown fields (the API server prunes or, with
    strict field validation, rejects such fields)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        out.get("type") == "object"
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def validators() -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    """(apiVersion, kind) -> a validator of that custom resource."""
    out = {}
    for path in sorted(SCHEMAS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            out[(f"{group}/{version['name']}", kind)] = jsonschema.Draft202012Validator(schema)
    return out


def crd_kinds() -> set[str]:
    return {kind for _, kind in validators()}


def errors(resource: dict[str, Any]) -> list[str]:
    """What is wrong with `resource` by its CRD; [] if valid. KeyError if no CRD is known."""
    validator = validators()[(resource["apiVersion"], resource["kind"])]
    name = f"{resource['kind']}/{resource.get('metadata', {}).get('name')}"
    return [
        f"{name}: {'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(resource)
    ]
