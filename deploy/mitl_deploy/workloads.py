"""What runs: a Deployment, Service and PodDisruptionBudget per service, the topics Job."""

from __future__ import annotations

from mitl_deploy import access, security
from mitl_deploy.catalog import Catalog, Doc, Service, config_files

UID = 10001  # the image's `mitl` user (Dockerfile)
# MITL_DATASETS_FILE is here; model and guideline paths are relative to it.
CONFIG_DIR = "/app/config"
POSTGRES_SECRET = {"name": "mitl-postgres", "key": "password"}
TOPICS_LABELS = {
    "app.kubernetes.io/name": "mitl",
    "app.kubernetes.io/component": "topics",
    "app.kubernetes.io/part-of": "mitl",
}


def pod_security() -> Doc:
    """The restricted Pod Security Standard, at pod level."""
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> Doc:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def topics_container(catalog: Catalog, resources: Doc) -> Doc:
    """`mitl topics apply`: idempotent, so every pod runs it before it consumes anything
    and no consumer ever meets a missing topic, whatever order things were applied in. A
    topic it must refuse (more partitions or another replication factor than declared) fails
    it, and the pod does not start until the topic or the declaration is fixed."""
    return {
        "name": "topics",
        "image": "mitl",
        "command": [
            "mitl",
            "topics",
            "apply",
            "--brokers",
            "$(MITL_TOPIC_BROKERS)",
            "--partitions",
            "$(MITL_TOPIC_PARTITIONS)",
        ],
        "envFrom": [{"configMapRef": {"name": "mitl-env"}}],
        "env": [
            {
                "name": "MITL_TOPIC_BROKERS",
                "valueFrom": {"configMapKeyRef": {"name": "mitl-topics", "key": "brokers"}},
            },
            {
                "name": "MITL_TOPIC_PARTITIONS",
                "valueFrom": {"configMapKeyRef": {"name": "mitl-topics", "key": "partitions"}},
            },
            # The same Kafka login as the services (a secured cluster).
            *security.secret_env(catalog),
        ],
        "resources": resources,
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, security.tls_mount(catalog)],
    }


def probe(path: str, period: int, timeout: int, failures: int) -> Doc:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def service_container(catalog: Catalog, service: Service) -> Doc:
    env: list[Doc] = [{"name": "MITL_HTTP_PORT", "value": str(service.port)}]
    env += [{"name": k, "value": str(v)} for k, v in sorted(service.env.items())]
    # asyncpg reads the password from PGPASSWORD when MITL_DATABASE_URL carries none.
    env.append({"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": dict(POSTGRES_SECRET)}})
    # Kafka's login, if its Secret has one (security.py); protocol and mechanism are in mitl-env.
    env += security.secret_env(catalog)
    # Static tokens and OIDC, if the Secret has them (access.py).
    if service.guarded:
        env += access.secret_env(catalog, oidc_only=service.guarded == "oidc")
    return {
        "name": service.name,
        "image": "mitl",
        "command": [service.command],
        "ports": [{"name": "http", "containerPort": service.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": "mitl-env"}}],
        "env": env,
        "resources": catalog.size("base", service.size),
        "securityContext": container_security(),
        # Migrations and model loading happen before the port opens: the startup probe
        # gives them five minutes. Then liveness restarts a process that is fatally broken,
        # and readiness takes a replica out while Kafka or Postgres does not answer it.
        "startupProbe": probe("/healthz", 5, 3, 60),
        "livenessProbe": probe("/healthz", 10, 3, 3),
        "readinessProbe": probe("/readyz", 5, 5, 3),
        # Endpoints are removed asynchronously: keep serving while they are.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "datasets", "mountPath": CONFIG_DIR, "readOnly": True},
            security.tls_mount(catalog),
            *(
                {"name": name, "mountPath": catalog.volumes[name]["path"]}
                for name in service.volumes
            ),
        ],
    }


def deployment(catalog: Catalog, service: Service) -> Doc:
    spec: Doc = {}
    if service.replicas is not None:
        # An autoscaled Deployment leaves replicas to its autoscaler: apply must not reset it.
        spec["replicas"] = service.replicas["base"]
    spec["revisionHistoryLimit"] = 5
    spec["selector"] = {"matchLabels": service.selector}
    spec["strategy"] = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    spec["template"] = {
        "metadata": {"labels": service.labels},
        "spec": {
            "serviceAccountName": "mitl",
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "terminationGracePeriodSeconds": 30,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": service.selector},
                }
            ],
            "initContainers": [topics_container(catalog, catalog.size("base", "small"))],
            "containers": [service_container(catalog, service)],
            "volumes": [
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                {
                    "name": "datasets",
                    # Each key at its path: guideline files land under guidelines/, beside
                    # the datasets file that names them.
                    "configMap": {
                        "name": "mitl-datasets",
                        "items": [
                            {"key": key, "path": path} for path, key in config_files().items()
                        ],
                    },
                },
                security.tls_volume(catalog),
                *(
                    {"name": name, "persistentVolumeClaim": {"claimName": f"mitl-{name}"}}
                    for name in service.volumes
                ),
            ],
        },
    }
    return service.document("apps/v1", "Deployment", spec)


def cluster_service(service: Service) -> Doc:
    spec = {
        "type": "ClusterIP",
        "selector": service.selector,
        "ports": [{"name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP"}],
    }
    return service.document("v1", "Service", spec)


def disruption_budget(service: Service) -> Doc:
    # maxUnavailable rather than minAvailable: a lone replica can still be drained.
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": service.selector}}
    return service.document("policy/v1", "PodDisruptionBudget", spec)


def topics_job(catalog: Catalog) -> Doc:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "mitl-topics", "labels": TOPICS_LABELS},
        "spec": {
            "backoffLimit": 10,
            # A Job's template is immutable: deleted an hour after it finished, the next apply
            # creates it anew (it is idempotent) instead of failing on a changed image tag.
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": TOPICS_LABELS},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "serviceAccountName": "mitl",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(),
                    "containers": [topics_container(catalog, catalog.size("base", "small"))],
                    "volumes": [
                        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
                        security.tls_volume(catalog),
                    ],
                },
            },
        },
    }


def service_account() -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "mitl",
            "labels": {"app.kubernetes.io/name": "mitl", "app.kubernetes.io/part-of": "mitl"},
        },
        # The services never call the Kubernetes API.
        "automountServiceAccountToken": False,
    }


def volume_claim(name: str, size: str) -> Doc:
    """Shared by every replica that mounts it, possibly on several nodes: ReadWriteMany."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": f"mitl-{name}",
            "labels": {"app.kubernetes.io/name": "mitl", "app.kubernetes.io/part-of": "mitl"},
        },
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": size}}},
    }
