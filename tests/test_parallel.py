"""The worker pool: input order, crashes and hangs cost one item only."""

from __future__ import annotations

import os
import signal
import time

from vigil.run import run_parallel


def _work(item: int, scale: int) -> int:
    if item == 3:
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder crash
    if item == 5:
        time.sleep(60)  # a decoder that hangs
    time.sleep(0.01 * (item % 3))
    return item * scale


def test_order_crash_and_timeout() -> None:
    results = list(run_parallel(
        _work, range(10), extra=(10,), jobs=2, timeout=2.0,
        on_timeout=lambda item, s: -1000 - item,
        on_crash=lambda item, reason: f"crash {item} {reason}",  # type: ignore[arg-type,return-value]
    ))
    assert results == [0, 10, 20, "crash 3 signal 11", 40, -1005, 60, 70, 80, 90]


def test_more_items_than_the_ordering_window() -> None:
    got = list(run_parallel(lambda i, _: i, range(500), extra=(0,), jobs=2, timeout=30,
                            on_timeout=lambda i, s: None, on_crash=lambda i, r: None))
    assert got == list(range(500))
