"""How many replicas: HorizontalPodAutoscalers (CPU), KEDA ScaledObjects (consumer lag), and
the prod overlay's patch of counts, bounds, resources and partitions."""

from __future__ import annotations

from mitl_deploy import security
from mitl_deploy.catalog import Catalog, Doc, Service


def target(service: Service) -> Doc:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.resource}


def scaler(
    service: Service, api_version: str, kind: str, replicas: tuple[str, str], spec: Doc
) -> Doc:
    """A document that scales the service's Deployment: its target, then its base replica
    counts under the keys `replicas` names (lowest, highest), then `spec`."""
    assert service.scale is not None
    bounds = dict(zip(replicas, service.scale["base"], strict=True))
    return service.document(
        api_version, kind, {"scaleTargetRef": target(service), **bounds, **spec}
    )


def autoscaler(service: Service) -> Doc:
    assert service.scale is not None
    spec = {
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": service.scale["utilization"],
                    },
                },
            }
        ],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }
    return scaler(
        service, "autoscaling/v2", "HorizontalPodAutoscaler", ("minReplicas", "maxReplicas"), spec
    )


def scaled_object(service: Service) -> Doc:
    assert service.scale is not None
    spec = {
        "pollingInterval": 15,
        "cooldownPeriod": 300,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                # Every change of membership rebalances the group, which pauses it: scale
                # down by one replica a minute at most, after five calm minutes.
                "behavior": {
                    "scaleDown": {
                        "stabilizationWindowSeconds": 300,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                    }
                }
            }
        },
        "triggers": [
            {
                "type": "kafka",
                "metadata": {
                    # Resolved from the Deployment's container (the mitl-env ConfigMap).
                    "bootstrapServersFromEnv": "MITL_KAFKA_BOOTSTRAP_SERVERS",
                    "consumerGroup": service.consumer_group,
                    "topic": service.scale["topic"],
                    "lagThreshold": str(service.scale["lag_per_replica"]),
                    "offsetResetPolicy": "earliest",
                    "allowIdleConsumers": "false",
                },
                # SASL and TLS as the services use them (security.py).
                "authenticationRef": {"name": security.TRIGGER_AUTHENTICATION},
            }
        ],
    }
    replicas = ("minReplicaCount", "maxReplicaCount")
    return scaler(service, "keda.sh/v1alpha1", "ScaledObject", replicas, spec)


def prod_sizing(catalog: Catalog) -> list[Doc]:
    """Strategic-merge patches of the base for prod."""
    patches: list[Doc] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "mitl-topics"},
            "data": {
                "partitions": str(catalog.partitions["prod"]),
                "brokers": str(catalog.raw["brokers"]["prod"]),
            },
        }
    ]
    for service in catalog.services:
        spec: Doc = {}
        if service.replicas is not None:
            spec["replicas"] = service.replicas["prod"]
        resources = catalog.size("prod", service.size)
        spec["template"] = {
            "spec": {"containers": [{"name": service.name, "resources": resources}]}
        }
        patches.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": service.resource},
                "spec": spec,
            }
        )
        if service.scale is None:
            continue
        low, high = service.scale["prod"]
        if service.scaled_by == "cpu":
            api, kind = "autoscaling/v2", "HorizontalPodAutoscaler"
            bounds = {"minReplicas": low, "maxReplicas": high}
        else:
            api, kind = "keda.sh/v1alpha1", "ScaledObject"
            bounds = {"minReplicaCount": low, "maxReplicaCount": high}
        patches.append(
            {
                "apiVersion": api,
                "kind": kind,
                "metadata": {"name": service.resource},
                "spec": bounds,
            }
        )
    return patches
