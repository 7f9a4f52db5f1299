from prometheus_client import Counter

ITEMS = Counter(
    "mitl_ingest_items_total", "Items received, by dataset and outcome", ["dataset", "outcome"]
)
