"""NetworkPolicies: all traffic denied, then each pod may reach DNS, Kafka and Postgres, and
be reached on its HTTP port by Prometheus and, for the APIs, by their clients."""

from __future__ import annotations

from mitl_deploy.catalog import Catalog, Doc, Service
from mitl_deploy.workloads import TOPICS_LABELS

LABELS = {"app.kubernetes.io/name": "mitl", "app.kubernetes.io/part-of": "mitl"}


def dns_egress() -> Doc:
    return {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def port_egress(port: int) -> Doc:
    # Kafka and Postgres are often managed services outside the cluster, at addresses these
    # manifests cannot know: the port is the restriction here; an overlay can add `to`.
    return {"ports": [{"protocol": "TCP", "port": port}]}


def dependencies_egress(catalog: Catalog) -> list[Doc]:
    return [
        dns_egress(),
        port_egress(catalog.raw["kafka"]["port"]),
        port_egress(catalog.raw["postgres"]["port"]),
    ]


def service_policy(catalog: Catalog, service: Service) -> Doc:
    net = catalog.raw["network"]
    sources = [dict(net["prometheus"])]
    if service.http_clients:
        sources += [
            {"namespaceSelector": net["http_client_namespaces"]},
            {"podSelector": net["http_client_pods"]},
        ]
    spec = {
        "podSelector": {"matchLabels": service.selector},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": "http"}]}],
        "egress": dependencies_egress(catalog),
    }
    return service.document("networking.k8s.io/v1", "NetworkPolicy", spec)


def shared_policies(catalog: Catalog) -> list[Doc]:
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "mitl-default-deny", "labels": LABELS},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    topics = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "mitl-topics", "labels": LABELS},
        "spec": {
            "podSelector": {
                "matchLabels": {k: v for k, v in TOPICS_LABELS.items() if "part-of" not in k}
            },
            "policyTypes": ["Ingress", "Egress"],
            "egress": [dns_egress(), port_egress(catalog.raw["kafka"]["port"])],
        },
    }
    return [deny, topics]
