from prometheus_client import Counter, Gauge, Histogram

ITEMS_SCORED = Counter(
    "mitl_inference_items_scored_total", "Items scored, by dataset and model version",
    ["dataset", "model_version"],
)
TRUNCATED = Counter(
    "mitl_inference_truncated_total", "Inputs cut to the model's length limit", ["dataset"]
)
BATCH_SIZE = Histogram(
    "mitl_inference_batch_size", "Items per scored micro-batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
INFERENCE_SECONDS = Histogram(
    "mitl_inference_seconds", "Model time per micro-batch", ["dataset"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
MODEL_INFO = Gauge(
    "mitl_inference_model_info", "1 for the model version serving each dataset",
    ["dataset", "model_version"],
)
