"""The registry schema's SQL: model versions (`registry.py`) and their status changes
(`status_changes.py`), what was scored (`ledger.py`), and the rescore window (`window.py`)."""
