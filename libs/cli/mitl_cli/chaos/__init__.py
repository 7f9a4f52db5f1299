"""Chaos runs: the whole platform as real processes on its own PostgreSQL server, a stream of
items, simulated annotators, and faults (SIGKILL of a service, a crash of PostgreSQL) injected
mid-stream; then every item is accounted for from the audit log and the review tasks.

- `postgres.py`  a PostgreSQL server of the run's own (restarting the shared one is not ours)
- `lab.py`       broker, that server, every service, users and bots, started and stopped together
- `workload.py`  the items of a scenario; `feeder.py` streams them in over HTTP and the raw topic
- `bots.py`      annotators and experts claiming and submitting over the review API
- `faults.py`    what a scenario does to the platform; `scenarios.py` names them
- `lag.py`, `memory.py`  consumer lag from the broker, resident memory from /proc
- `evidence.py` reads what the platform recorded; `census.py` judges it (pure)
- `harness.py`   one crash scenario end to end; `load.py` the sustained-load run
- `report.py`    the table and the JSON lines
"""
