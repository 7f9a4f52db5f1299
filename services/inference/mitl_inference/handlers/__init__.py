"""What inference consumes: ingested items to score (`items.py`), model promotions
(`models.py`)."""
