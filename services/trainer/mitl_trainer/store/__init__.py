"""The trainer's Postgres (schema `trainer`): what it learned from events (`learned.py`), and
the retraining requests and the models they produced (`retraining.py`)."""
