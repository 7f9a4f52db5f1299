"""Our murmur2 partitioning gives exactly the partitions aiokafka's (and Java's) does."""

from __future__ import annotations

import gc

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st
from mitl_runtime.partition import murmur2, partition_for
from mitl_runtime.serve import GC_THRESHOLD, tune_gc


@given(st.binary(max_size=80))
def test_murmur2_matches_aiokafka(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=64))
def test_partition_matches_the_default_partitioner(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partition_for(key, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_known_java_values() -> None:
    # From Kafka's own UtilsTest.testMurmur2 (as signed 32-bit ints there).
    cases = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        b"abc": 479470107,
    }
    for data, signed in cases.items():
        assert murmur2(data) == signed & 0xFFFFFFFF


def test_tune_gc_freezes_startup_objects_and_raises_the_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold()[0] == GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
