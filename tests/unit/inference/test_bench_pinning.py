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
from mitl_cli.commands import bench
from mitl_cli.pinning import Pinning, parse_pinning, pin_process, pin_tree, postmaster_pid

USABLE = sorted(os.sched_getaffinity(0))


def test_a_spec_names_the_model_cpus_and_the_others() -> None:
    if len(USABLE) < 2:
        pytest.skip("needs two CPUs")
    first, last = USABLE[0], USABLE[-1]
    pinning = parse_pinning(f"{last}:{first}")
    assert pinning == Pinning(frozenset({last}), frozenset({first}))
    assert pinning.as_dict() == {"model_cpus": [last], "other_cpus": [first]}
    ranged = parse_pinning(f"{first + 1}-{last}:{first}")
    assert ranged.model == frozenset(range(first + 1, last + 1)) and ranged.others == {first}


def test_auto_gives_the_model_the_highest_cpu_and_the_others_the_rest() -> None:
    if len(USABLE) < 2:
        with pytest.raises(ValueError, match="--pin auto needs two CPUs"):
            parse_pinning("auto")
        return
    pinning = parse_pinning("auto")
    assert pinning.model == {USABLE[-1]} and pinning.others == set(USABLE[:-1])


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
def test_a_bad_spec_is_refused_with_what_is_wrong(spec: str, message: str) -> None:
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
                if p.name.isdigit() and _parent_of(p) == parent.pid
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


def _parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
