"""The audit schema's SQL: the chained log (`log.py`), item content (`items.py`), report counts
(`reports.py`), the export query (`export.py`)."""
