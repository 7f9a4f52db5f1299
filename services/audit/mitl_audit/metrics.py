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
