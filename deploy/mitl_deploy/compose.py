"""docker-compose.yml: deploy/compose/template.yml with the generated mitl services put in."""

from __future__ import annotations

from mitl_deploy import access, security
from mitl_deploy.catalog import ROOT, Catalog, Doc
from mitl_deploy.workloads import CONFIG_DIR

TEMPLATE = ROOT / "deploy" / "compose" / "template.yml"
SERVICES_MARKER = "  # @services"
VOLUMES_MARKER = "  # @volumes"
IMAGE = "${MITL_IMAGE:-mitl:local}"
POSTGRES_PASSWORD = "${MITL_POSTGRES_PASSWORD:-mitl-local-only}"


def cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity))


def memory(quantity: str) -> str:
    return quantity.replace("Gi", "G").replace("Mi", "M")


def hardening() -> Doc:
    """What Kubernetes' restricted securityContext does, as far as compose can say it."""
    return {
        "read_only": True,
        "tmpfs": ["/tmp"],
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
    }


def topics_job(catalog: Catalog) -> Doc:
    """`mitl topics apply` for compose's one Kafka node; exits 1 (and the services do not
    start) when a topic cannot be brought in line with its declaration."""
    partitions = f"${{MITL_TOPIC_PARTITIONS:-{catalog.partitions['base']}}}"
    brokers = str(catalog.raw["brokers"]["compose"])
    return {
        "image": IMAGE,
        # Built here only: every mitl service runs this image.
        "build": {"context": ".", "target": "runtime"},
        "command": [
            "mitl",
            "topics",
            "apply",
            "--brokers",
            brokers,
            "--partitions",
            partitions,
        ],
        "environment": {
            "MITL_KAFKA_BOOTSTRAP_SERVERS": catalog.raw["kafka"]["bootstrap"]["compose"]
        },
        # The same Kafka login and TLS files as the services.
        "env_file": security.compose_env_file(catalog),
        "volumes": [security.compose_tls_volume(catalog)],
        "depends_on": {"kafka": {"condition": "service_healthy"}},
        **hardening(),
        "restart": "no",
    }


def services(catalog: Catalog) -> Doc:
    """The `topics` job, then one service per catalog entry, in catalog order."""
    out: Doc = {"topics": topics_job(catalog)}
    for service in catalog.services:
        limits = catalog.size("base", service.size)["limits"]
        entry: Doc = {
            "image": IMAGE,
            "command": [service.command],
            "environment": {
                "MITL_KAFKA_BOOTSTRAP_SERVERS": catalog.raw["kafka"]["bootstrap"]["compose"],
                "MITL_DATABASE_URL": catalog.raw["postgres"]["url"]["compose"],
                "PGPASSWORD": POSTGRES_PASSWORD,
                **catalog.raw["environment"],
                "MITL_HTTP_PORT": str(service.port),
                **{k: str(v) for k, v in sorted(service.env.items())},
            },
            # MITL_KAFKA_SECURITY_PROTOCOL, the SASL login, ... if the file exists (docs/deploy.md);
            # for a guarded service also MITL_ADMIN_TOKEN, ... (README, "Access control").
            "env_file": security.compose_env_file(catalog)
            + (access.compose_env_file(catalog) if service.guarded else []),
            # Edit config/datasets.yaml and restart; its models are the image's, under /app.
            "volumes": [
                f"./config:{CONFIG_DIR}:ro",
                security.compose_tls_volume(catalog),
                *(f"{name}:{catalog.volumes[name]['path']}" for name in service.volumes),
            ],
            "depends_on": {
                "postgres": {"condition": "service_healthy"},
                "topics": {"condition": "service_completed_successfully"},
            },
        }
        if service.http_clients:
            entry["ports"] = [f"127.0.0.1:{service.port}:{service.port}"]
        entry |= hardening()
        limit = {"cpus": cpus(limits["cpu"]), "memory": memory(limits["memory"])}
        entry["deploy"] = {"resources": {"limits": limit}}
        entry["stop_grace_period"] = "30s"
        entry["restart"] = "unless-stopped"
        out[service.name] = entry
    return out


def volumes(catalog: Catalog) -> list[str]:
    return list(catalog.volumes)


def put(text: str, marker: str, lines: str) -> str:
    """`text` with the line starting with `marker` replaced by `lines`."""
    head, found, tail = text.partition(marker)
    if not found:
        raise ValueError(f"{TEMPLATE} has no line starting {marker.strip()!r}")
    return head + lines + tail.split("\n", 1)[1]


def indent(text: str) -> str:
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


def compose_file(catalog: Catalog, dump_services: str) -> str:
    """The template's text with `dump_services` (YAML of `services(catalog)`) and the
    services' volumes at their markers."""
    text = put(TEMPLATE.read_text(), SERVICES_MARKER, indent(dump_services))
    text = put(text, VOLUMES_MARKER, "".join(f"  {name}:\n" for name in volumes(catalog)))
    # The template's first lines say what it is; the rendered file keeps what follows `# ---`.
    return text.split("# ---\n", 1)[-1]
