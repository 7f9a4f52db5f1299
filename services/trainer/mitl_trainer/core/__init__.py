"""The trainer's pure rules, no I/O: when to train (`schedule.py`), which items are held out
(`split.py`), what a model trains on (`training_set.py`) and whether a candidate replaces the
champion (`candidate_vs_champion.py`)."""
