from prometheus_client import Counter

ITEMS = Counter(
    "mitl_ingest_items_total", "Items received, by dataset and outcome", ["dataset", "outcome"]
)
REFUSED = Counter(
    "mitl_ingest_refused_total",
    "Requests refused by client authentication or limits, by HTTP status (401, 403, 413, 429)",
    ["status"],
)
