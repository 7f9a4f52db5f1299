"""The audit service's metrics (names prefixed `mitl_audit_`)."""

from prometheus_client import Counter, Gauge

ROWS_APPENDED = Counter(
    "mitl_audit_rows_appended_total", "Rows appended to the audit log, by kind", ["kind"]
)
OVERRIDES = Counter(
    "mitl_audit_overrides_total",
    "Human labels that override the model's suggestion, by dataset",
    ["dataset"],
)
CHAIN_HEAD = Gauge(
    "mitl_audit_chain_head_seq", "Sequence number of the last row this replica saw in the log"
)
ITEMS_RECORDED = Counter(
    "mitl_audit_items_recorded_total",
    "Ingested items whose content audit stored, by dataset",
    ["dataset"],
)
EXPORTS = Counter(
    "mitl_audit_exports_total", "Dataset exports served over HTTP, by format", ["format"]
)
EXPORTED_ITEMS = Counter(
    "mitl_audit_exported_items_total",
    "Labeled items written by HTTP exports, by dataset",
    ["dataset"],
)
# Inter-annotator agreement over the last settings.agreement_window_days of human labels,
# refreshed every settings.agreement_interval_seconds (agreement_gauges.py). Every replica
# computes the same numbers: dashboards take the max.
AGREEMENT_ITEMS = Gauge(
    "mitl_audit_agreement_items",
    "Items labeled by two people or more in the window, by dataset",
    ["dataset"],
)
AGREEMENT_ALPHA = Gauge(
    "mitl_audit_agreement_krippendorff_alpha",
    "Krippendorff's alpha (nominal) of the items several people labeled, by dataset",
    ["dataset"],
)
AGREEMENT_FLEISS = Gauge(
    "mitl_audit_agreement_fleiss_kappa",
    "Fleiss' kappa of the items with the most common number of labels, by dataset",
    ["dataset"],
)
AGREEMENT_ENTITY_F1 = Gauge(
    "mitl_audit_agreement_entity_f1",
    "Span datasets: entity-level F1 between people over the items several labeled, by dataset",
    ["dataset"],
)
AGREEMENT_LABEL_KAPPA = Gauge(
    "mitl_audit_agreement_label_kappa",
    "Fleiss' category kappa, by dataset and label",
    ["dataset", "label"],
)
# One series per pair of people: only pairs with settings.agreement_min_pair_items items in
# common, at most settings.agreement_max_pairs per dataset (those with the most).
AGREEMENT_COHEN = Gauge(
    "mitl_audit_agreement_cohen_kappa",
    "Cohen's kappa of two people over the items both labeled, by dataset and pair",
    ["dataset", "annotator_a", "annotator_b"],
)
