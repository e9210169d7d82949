"""Read-ahead thread of the block readers: same blocks in the same order, errors where they happen,
an early stop ends the producer."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from weldfusion.sensors.prefetch import prefetched


def test_prefetched_yields_every_block_in_order():
    make = lambda: (np.full(3, i) for i in range(50))  # noqa: E731
    got = list(prefetched(make, depth=2)())
    assert [int(b[0]) for b in got] == list(range(50))
    assert len(list(prefetched(make)())) == 50  # a factory: every call iterates afresh


def test_producer_error_is_raised_after_the_blocks_before_it():
    def make():
        yield 1
        yield 2
        raise ValueError("truncated video: only 2 of 5 frames")

    seen = []
    with pytest.raises(ValueError, match="truncated"):
        for b in prefetched(make)():
            seen.append(b)
    assert seen == [1, 2]


def test_consumer_stopping_early_stops_the_producer():
    produced = []

    def make():
        for i in range(1000):
            produced.append(i)
            yield i

    it = prefetched(make, depth=2)()
    assert next(it) == 0
    it.close()  # joins the producer thread
    assert len(produced) <= 5  # the bound: depth + the block in hand + one blocked put
    assert not any(t.name == "weldfusion-prefetch" and t.is_alive() for t in threading.enumerate())
