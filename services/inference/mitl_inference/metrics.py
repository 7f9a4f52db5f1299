from prometheus_client import Counter, Gauge, Histogram

ITEMS_SCORED = Counter(
    "mitl_inference_items_scored_total",
    "Items scored, by dataset and model version",
    ["dataset", "model_version"],
)
ITEMS_SKIPPED = Counter(
    "mitl_inference_items_skipped_total",
    "Redelivered items skipped because their prediction was already published",
    ["dataset"],
)
TRUNCATED = Counter(
    "mitl_inference_truncated_total", "Inputs cut to the model's length limit", ["dataset"]
)
BATCH_SIZE = Histogram(
    "mitl_inference_batch_items",
    "Items per scored micro-batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
INFERENCE_SECONDS = Histogram(
    "mitl_inference_seconds",
    "Model time per micro-batch",
    ["dataset"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MODEL_INFO = Gauge(
    "mitl_inference_model_info",
    "1 for the model version serving each dataset",
    ["dataset", "model_version"],
)
MODEL_SWAPS = Counter(
    "mitl_inference_model_swaps_total", "Champion changes applied by this replica", ["dataset"]
)
MODEL_LOAD_SECONDS = Histogram(
    "mitl_inference_model_load_seconds",
    "Time to load and verify a model version",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RESCORED = Counter(
    "mitl_inference_rescored_total",
    "Unlabeled items re-scored after a promotion, by dataset and new model version",
    ["dataset", "model_version"],
)
