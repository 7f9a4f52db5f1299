"""CPU pinning for `mitl bench inference --pin MODEL:OTHERS`: the model on CPUs of its own.

On a small machine every part of the pipeline (broker, Postgres, ingest, router, the bench's
client) shares the model's cores, so the pipeline-to-bare ratio mixes two things: what the
platform costs the model's own process (batching, Kafka, Postgres, events), and what the other
parts take from the model's cores. A deployment gives inference cores of its own (Kubernetes:
a Guaranteed pod with whole CPUs under the static CPU manager policy). Pinned, the inference
process and the bare run get the model CPUs and everything else the other CPUs, so the ratio
measures the first alone.

Linux only (sched_setaffinity). Each thread of a process is pinned (/proc/<pid>/task); threads
started later inherit their creator's CPUs. Postgres serves each connection from a process
forked by the postmaster, which passes its CPUs on; the postmaster and its children are found
from the data directory's postmaster.pid (the embedded server runs as a user of its own). A
Postgres the stack did not start (MITL_DATABASE_URL, a server already listening) is left
alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pinning:
    """CPUs for the model (the inference process and the bare run) and for everything else."""

    model: frozenset[int]
    others: frozenset[int]

    def as_dict(self) -> dict[str, list[int]]:
        return {"model_cpus": sorted(self.model), "other_cpus": sorted(self.others)}


def parse_pinning(spec: str) -> Pinning:
    """`MODEL:OTHERS`, each a comma-separated list of CPU numbers or ranges ("1:0",
    "2-3:0-1"); the two must not overlap and every CPU must be one this process may use.
    "auto": the model on the highest CPU this process may use, the rest on the others.
    Raises ValueError naming what is wrong."""
    if spec == "auto":
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise ValueError(f"--pin auto needs two CPUs; this process may use {cpus}")
        return Pinning(frozenset(cpus[-1:]), frozenset(cpus[:-1]))
    model_part, sep, others_part = spec.partition(":")
    if not sep or not model_part or not others_part:
        raise ValueError(f"--pin takes MODEL_CPUS:OTHER_CPUS (e.g. 1:0), got {spec!r}")
    model, others = _cpus(model_part, spec), _cpus(others_part, spec)
    if model & others:
        raise ValueError(f"--pin {spec}: CPUs {sorted(model & others)} are on both sides")
    usable = os.sched_getaffinity(0)
    if missing := (model | others) - usable:
        raise ValueError(
            f"--pin {spec}: CPUs {sorted(missing)} are not available here (usable: "
            f"{sorted(usable)})"
        )
    return Pinning(frozenset(model), frozenset(others))


def _cpus(part: str, spec: str) -> set[int]:
    cpus: set[int] = set()
    for piece in part.split(","):
        low, dash, high = piece.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"--pin {spec}: {piece!r} is not a CPU number or range")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"--pin {spec}: the range {piece!r} runs backwards")
        cpus.update(range(first, last + 1))
    return cpus


def pin_process(pid: int, cpus: Iterable[int]) -> None:
    """Every thread of process `pid` to `cpus` (a thread that ends meanwhile is skipped)."""
    chosen = set(cpus)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), chosen)
        except (ProcessLookupError, FileNotFoundError):
            continue


def pin_tree(pid: int, cpus: Iterable[int]) -> list[int]:
    """Process `pid` and every process descended from it (Postgres: the postmaster and each
    connection's process) to `cpus`, whoever runs them; returns their pids."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and (parent := parent_of(int(proc.name))) is not None:
            children.setdefault(parent, []).append(int(proc.name))
    pinned, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            pin_process(current, cpus)
        except OSError:
            continue  # ended meanwhile
        pinned.append(current)
        todo.extend(children.get(current, []))
    return sorted(pinned)


def parent_of(pid: int) -> int | None:
    """The parent pid of process `pid` (/proc/<pid>/stat), None if it has ended."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid a Postgres data directory's server runs as (the first line of its
    postmaster.pid), or None when no server holds it."""
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None
