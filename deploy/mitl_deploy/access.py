"""The access-control settings of the services with guarded routes: from the Secret
mitl-access in Kubernetes (each key optional), from an optional env file in compose (README,
"Access control")."""

from __future__ import annotations

from mitl_deploy.catalog import Catalog, Doc

# Setting -> the Secret's key.
SECRET_ENV = {
    "MITL_ADMIN_TOKEN": "admin-token",
    "MITL_AUDITOR_TOKEN": "auditor-token",
    "MITL_OIDC_ISSUER": "oidc-issuer",
    "MITL_OIDC_AUDIENCE": "oidc-audience",
    "MITL_OIDC_JWKS_URL": "oidc-jwks-url",
}


def settings(catalog: Catalog) -> Doc:
    return dict(catalog.raw["access"])


def secret_env(catalog: Catalog, oidc_only: bool = False) -> list[Doc]:
    """Optional: without the Secret (or a key of it) the setting is unset and the routes it
    would open answer 403. `oidc_only`: the OIDC settings alone."""
    secret = settings(catalog)["secret"]
    return [
        {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}},
        }
        for name, key in SECRET_ENV.items()
        if not oidc_only or name.startswith("MITL_OIDC_")
    ]


def compose_env_file(catalog: Catalog) -> list[Doc]:
    return [{"path": settings(catalog)["env_file"], "required": False}]
