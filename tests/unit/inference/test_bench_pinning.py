"""`mitl bench inference --pin`: the spec is checked before anything starts, and pinning moves
every thread of a process (the figures come from running the benchmark, not from tests)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mitl_cli import pinning
from mitl_cli.commands import bench
from mitl_cli.pinning import (
    Pinning,
    parent_of,
    parse_pinning,
    pin_process,
    pin_tree,
    postmaster_pid,
)

USABLE = sorted(os.sched_getaffinity(0))


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing sees a machine whose CPUs 0-3 this process may use."""
    monkeypatch.setattr(pinning.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})


def test_a_spec_names_the_model_cpus_and_the_others(four_cpus: None) -> None:
    pinned = parse_pinning("3:0")
    assert pinned == Pinning(frozenset({3}), frozenset({0}))
    assert pinned.as_dict() == {"model_cpus": [3], "other_cpus": [0]}
    ranged = parse_pinning("2-3:0,1")
    assert ranged.model == {2, 3} and ranged.others == {0, 1}


def test_auto_gives_the_model_the_highest_cpu_and_the_others_the_rest(
    four_cpus: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_pinning("auto") == Pinning(frozenset({3}), frozenset({0, 1, 2}))
    monkeypatch.setattr(pinning.os, "sched_getaffinity", lambda pid: {5})
    with pytest.raises(ValueError, match=r"--pin auto needs two CPUs; this process may use \[5\]"):
        parse_pinning("auto")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1", "MODEL_CPUS:OTHER_CPUS"),
        (":0", "MODEL_CPUS:OTHER_CPUS"),
        ("a:0", "'a' is not a CPU number or range"),
        ("3-1:0", "runs backwards"),
        ("0:0", "CPUs [0] are on both sides"),
        ("0-1:1", "CPUs [1] are on both sides"),
        ("4095:0", "CPUs [4095] are not available here"),
    ],
)
def test_a_bad_spec_is_refused_with_what_is_wrong(spec: str, message: str, four_cpus: None) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_pinning(spec)


def test_the_bench_refuses_a_bad_pin_before_it_starts(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["bench", "inference", "--pin", "0:0"])
    assert "CPUs [0] are on both sides" in capsys.readouterr().err


def test_pinning_moves_every_thread_of_a_process() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import threading, time\n"
         "for _ in range(3):\n"
         "    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
         "print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        cpu = USABLE[-1]
        pin_process(child.pid, {cpu})
        tasks = os.listdir(f"/proc/{child.pid}/task")
        assert len(tasks) >= 4
        assert all(os.sched_getaffinity(int(tid)) == {cpu} for tid in tasks)
        pin_process(child.pid, USABLE)
        assert all(os.sched_getaffinity(int(tid)) == set(USABLE) for tid in tasks)
    finally:
        child.kill()
        child.wait()


def test_pinning_a_tree_moves_the_process_and_its_children_only(tmp_path) -> None:
    """As Postgres's postmaster and the processes it forks for connections."""
    parent = subprocess.Popen(["/bin/sh", "-c", "sleep 30 & sleep 30 & wait"])
    kids: list[int] = []
    try:
        for _ in range(200):  # until both children are there
            kids = [
                int(p.name) for p in Path("/proc").iterdir()
                if p.name.isdigit() and parent_of(int(p.name)) == parent.pid
            ]  # fmt: skip
            if len(kids) == 2:
                break
            threading.Event().wait(0.01)
        assert len(kids) == 2
        assert pin_tree(parent.pid, {USABLE[-1]}) == sorted([parent.pid, *kids])
        assert all(os.sched_getaffinity(pid) == {USABLE[-1]} for pid in [parent.pid, *kids])
        assert os.sched_getaffinity(0) == set(USABLE)  # this process is not touched
        pin_tree(parent.pid, USABLE)
        assert all(os.sched_getaffinity(pid) == set(USABLE) for pid in [parent.pid, *kids])
    finally:
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
    (tmp_path / "postmaster.pid").write_text(f"{parent.pid}\n/some/data/dir\n")
    assert postmaster_pid(tmp_path) == parent.pid
    assert postmaster_pid(tmp_path / "missing") is None
