"""What the router consumes: predictions (`predictions.py`), human labels (`labels.py`) and
drift alerts (`drift.py`)."""
