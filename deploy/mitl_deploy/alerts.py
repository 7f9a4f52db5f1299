"""Alerting rules: the same groups as a PrometheusRule (Kubernetes, Prometheus Operator) and as
a rule file for compose's Prometheus. Each alert says what is wrong and where to look; the
thresholds are starting points to tune per installation."""

from __future__ import annotations

from mitl_deploy.catalog import Doc

RULES_FILE = "/etc/prometheus/rules.yml"


def _alert(name: str, expr: str, for_: str, severity: str, summary: str, description: str) -> Doc:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def groups() -> list[Doc]:
    stream = [
        _alert(
            "MitlConsumerLagHigh",
            "sum by (service, group, topic) (mitl_consumer_lag_records) > 10000",
            "10m",
            "warning",
            "{{ $labels.service }} is {{ $value }} records behind on {{ $labels.topic }}",
            "Consumer group {{ $labels.group }} has had more than 10,000 unprocessed records on"
            " {{ $labels.topic }} for 10 minutes. Add replicas (up to the topic's partitions) or"
            " look for slow batches (mitl_batch_seconds).",
        ),
        _alert(
            "MitlConsumerStalled",
            "sum by (service, group, topic) (mitl_consumer_lag_records) > 0"
            " and on (service, topic)"
            " sum by (service, topic) (rate(mitl_events_consumed_total[5m])) == 0",
            "5m",
            "critical",
            "{{ $labels.service }} has stopped consuming {{ $labels.topic }}",
            "Records wait on {{ $labels.topic }} but group {{ $labels.group }} consumed none in"
            " 5 minutes: check the service's /readyz and logs (a dead-letter limit reached stops"
            " consumption on purpose).",
        ),
        _alert(
            "MitlDeadLetterRateHigh",
            "sum by (service, topic) (rate(mitl_dead_letters_total[10m]))"
            " / sum by (service, topic) (rate(mitl_events_consumed_total[10m])) > 0.01",
            "10m",
            "warning",
            "More than 1% of {{ $labels.topic }} goes to its dead-letter topic",
            "{{ $labels.service }} dead-letters {{ $value | humanizePercentage }} of what it"
            " consumes from {{ $labels.topic }}. `mitl dlq show {{ $labels.topic }}` gives each"
            " record's reason (usually a producer sending the wrong shape); once the cause is"
            " fixed, `mitl dlq replay {{ $labels.topic }}` sends them back to the group that"
            " refused them.",
        ),
    ]
    labels = [
        _alert(
            "MitlDriftAlertActive",
            "max by (dataset, statistic) (mitl_drift_alert_active) > 0",
            "0m",
            "warning",
            "Drift on {{ $labels.dataset }} ({{ $labels.statistic }})",
            "The drift monitor has an open alert on {{ $labels.dataset }}: the router tightens"
            " its policy and the trainer retrains. Check mitl_drift_statistic and the drift"
            " report.",
        ),
        _alert(
            "MitlAcceptedPrecisionUnderTarget",
            "max by (dataset, model_version) (mitl_router_spot_check_precision_upper_bound_ratio)"
            " < on (dataset) group_left max by (dataset) (mitl_router_target_precision_ratio)",
            "15m",
            "critical",
            "Accepted labels of {{ $labels.dataset }} are below the promised precision",
            "Even the upper confidence bound from the spot checks of {{ $labels.dataset }}"
            " (model {{ $labels.model_version }}) is {{ $value }}, under the policy's target:"
            " the accepted labels are worse than promised. Raise the target or the spot-check"
            " rate, or roll back the model; the audit report lists the overridden spot checks.",
        ),
        _alert(
            "MitlAnnotatorOverReliance",
            "max by (dataset, annotator) (mitl_review_annotator_flagged) > 0",
            "30m",
            "warning",
            "{{ $labels.annotator }} may be confirming suggestions without reading",
            "{{ $labels.annotator }} confirms most model suggestions on {{ $labels.dataset }} but"
            " answers gold items badly. Review their recent labels (mitl audit report) before"
            " they train the next model.",
        ),
    ]
    return [
        {"name": "mitl.stream", "rules": stream},
        {"name": "mitl.labels", "rules": labels},
    ]


def prometheus_rule(labels: dict[str, str]) -> Doc:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "mitl-alerts", "labels": labels},
        "spec": {"groups": groups()},
    }


def rules_file() -> Doc:
    return {"groups": groups()}
