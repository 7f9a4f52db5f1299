"""How the services and KEDA reach a secured Kafka: the credentials Secret, the mounted PEM
files, KEDA's TriggerAuthentication, and compose's optional env file (docs/deploy.md,
"Securing the Kafka connection")."""

from __future__ import annotations

from mitl_deploy.catalog import Catalog, Doc

# KEDA's kafka scaler parameter -> the Secret's key. The Secret carries the services' login
# (username, password), the PEM files (ca.crt, tls.crt, tls.key, mounted into every pod) and,
# in KEDA's spelling, whether to use SASL (`sasl`: none, plaintext, scram_sha256,
# scram_sha512) and TLS (`tls`: enable, disable).
KEDA_PARAMETERS = {
    "sasl": "sasl",
    "username": "username",
    "password": "password",
    "tls": "tls",
    "ca": "ca.crt",
    "cert": "tls.crt",
    "key": "tls.key",
    "keyPassword": "key_password",
}
# Setting -> the Secret's key, for every service container (each optional).
SECRET_ENV = {
    "MITL_KAFKA_SASL_USERNAME": "username",
    "MITL_KAFKA_SASL_PASSWORD": "password",
    "MITL_KAFKA_SSL_KEYFILE_PASSWORD": "key_password",
}
PEM_FILES = ("ca.crt", "tls.crt", "tls.key")
VOLUME = "kafka-tls"
TRIGGER_AUTHENTICATION = "mitl-kafka"


def settings(catalog: Catalog) -> Doc:
    return dict(catalog.raw["kafka"]["security"])


def secret_env(catalog: Catalog) -> list[Doc]:
    """The login from the Secret; optional, so a cluster whose Kafka takes PLAINTEXT needs
    no Secret (the settings the protocol does not use are ignored)."""
    secret = settings(catalog)["secret"]
    return [
        {
            "name": name,
            "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}},
        }
        for name, key in SECRET_ENV.items()
    ]


def tls_volume(catalog: Catalog) -> Doc:
    """The Secret's PEM files, readable by the pod's group (fsGroup) only; an empty folder
    when there is no Secret or it holds none of them."""
    return {
        "name": VOLUME,
        "secret": {
            "secretName": settings(catalog)["secret"],
            "optional": True,
            "defaultMode": 0o440,
            "items": [{"key": key, "path": key} for key in PEM_FILES],
        },
    }


def tls_mount(catalog: Catalog) -> Doc:
    return {"name": VOLUME, "mountPath": settings(catalog)["tls_dir"], "readOnly": True}


def trigger_authentication(catalog: Catalog) -> Doc:
    """What KEDA's kafka scalers log in with to read consumer lag: the services' Secret."""
    secret = settings(catalog)["secret"]
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {
            "name": TRIGGER_AUTHENTICATION,
            "labels": {"app.kubernetes.io/name": "mitl", "app.kubernetes.io/part-of": "mitl"},
        },
        "spec": {
            "secretTargetRef": [
                {"parameter": parameter, "name": secret, "key": key}
                for parameter, key in KEDA_PARAMETERS.items()
            ]
        },
    }


def compose_env_file(catalog: Catalog) -> list[Doc]:
    """Compose reads the MITL_KAFKA_* security settings from this file when it exists."""
    return [{"path": settings(catalog)["env_file"], "required": False}]


def compose_tls_volume(catalog: Catalog) -> str:
    security = settings(catalog)
    return f"{security['compose_tls_dir']}:{security['tls_dir']}:ro"
