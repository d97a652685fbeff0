"""The executor test kit: every executor keeps the contract of vigil.run.base (order, parts with
back-pressure, time limits, crashes and exceptions as results, one context per worker)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from executors import PickleRoundTripExecutor
from vigil.run import Executor, Fixed, LocalExecutor, Part


@pytest.fixture(params=["local", "pickle-round-trip"])
def executor(request: pytest.FixtureRequest) -> Executor:
    return LocalExecutor(2) if request.param == "local" else PickleRoundTripExecutor()


def _timed_out(task: int, seconds: float) -> str:
    return f"timeout {task} {seconds:g}"


def _crashed(task: int, reason: str) -> str:
    return f"crash {task} {reason}"


def _scaled(scale: int, task: int) -> int:
    time.sleep(0.01 * (task % 3))  # workers finish out of order
    return task * scale


def test_map_gives_results_in_input_order(executor: Executor) -> None:
    got = list(executor.map(_scaled, range(300), spec=Fixed(10), timeout=30, on_timeout=_timed_out,
                            on_crash=_crashed))
    assert got == [i * 10 for i in range(300)]


def _parts(count: int, task: int) -> Iterator[tuple[int, int]]:
    for n in range(task % count):  # task 0 (and each multiple of count) makes no part at all
        time.sleep(0.001 * ((task + n) % 3))
        yield task, n


def test_a_task_streams_its_parts_in_order_and_the_last_is_flagged(executor: Executor) -> None:
    got = list(executor.stream(_parts, range(40), spec=Fixed(5), timeout=30, on_timeout=_timed_out,
                               on_crash=_crashed))
    assert [p.value for p in got] == [(t, n) for t in range(40) for n in range(t % 5)]
    assert all(p.task == p.value[0] and not p.failed for p in got)  # type: ignore[index]
    assert [p.value for p in got if p.last] == [(t, t % 5 - 1) for t in range(40) if t % 5]


def _raises(_: None, task: int) -> Iterator[str]:
    yield f"{task} first"
    if task == 2:
        raise ValueError("boom")
    yield f"{task} second"


def test_an_exception_is_that_tasks_crash_after_the_parts_it_delivered(executor: Executor) -> None:
    got = list(executor.stream(_raises, range(4), spec=Fixed(None), timeout=30, on_timeout=_timed_out,
                               on_crash=_crashed))
    assert [(p.value, p.last, p.failed) for p in got] == [
        ("0 first", False, False), ("0 second", True, False), ("1 first", False, False), ("1 second", True, False),
        ("2 first", False, False), ("crash 2 ValueError: boom", True, True),
        ("3 first", False, False), ("3 second", True, False)]


def _slow(_: None, task: int) -> int:
    time.sleep(0.8 if task == 1 else 0.0)
    return task


def test_a_task_past_its_time_limit_ends_with_on_timeout(executor: Executor) -> None:
    got = list(executor.stream(_RunOnce(_slow), range(4), spec=Fixed(None), timeout=lambda t: 0.3 if t == 1 else 30,
                               on_timeout=_timed_out, on_crash=_crashed))
    assert [(p.value, p.failed) for p in got] == [(0, False), ("timeout 1 0.3", True), (2, False), (3, False)]


@dataclass(frozen=True)
class _RunOnce:
    fn: object

    def __call__(self, context: None, task: int) -> Iterator[object]:
        yield self.fn(context, task)  # type: ignore[operator]


def _stamped(_: None, task: int) -> Iterator[float]:
    if task == 0:
        time.sleep(1.5)
        yield time.monotonic()
        return
    for _ in range(20):
        yield time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of this machine


def test_a_task_ahead_of_the_consumer_waits_and_its_clock_stops(executor: Executor) -> None:
    """Task 1 makes 20 parts at once while task 0 takes 1.5 s: it may make only a few before task 0
    is given out, and waiting does not count against its 1 s limit."""
    got = list(executor.stream(_stamped, range(2), spec=Fixed(None), timeout=lambda t: 30 if t == 0 else 1.0,
                               on_timeout=_timed_out, on_crash=_crashed))
    assert not any(p.failed for p in got) and len(got) == 21
    first_done = got[0].value
    assert sum(1 for p in got[1:] if p.value < first_done) <= 3


@dataclass
class _Counted:
    """A context: which worker built it."""

    pid: int


@dataclass(frozen=True)
class _CountedSpec:
    def build(self) -> _Counted:
        return _Counted(os.getpid())


def _who(context: _Counted, task: int) -> tuple[int, int]:
    return context.pid, id(context)


def test_each_worker_builds_its_context_once(executor: Executor) -> None:
    got = list(executor.map(_who, range(50), spec=_CountedSpec(), timeout=30, on_timeout=_timed_out,
                            on_crash=_crashed))
    contexts: dict[int, set[int]] = {}
    for pid, ident in got:
        contexts.setdefault(pid, set()).add(ident)
    assert all(len(ids) == 1 for ids in contexts.values())
    if isinstance(executor, PickleRoundTripExecutor):
        assert executor.contexts_built == 1


def test_the_round_trip_executor_pickles_every_task_and_part() -> None:
    executor = PickleRoundTripExecutor()
    list(executor.stream(_parts, range(6), spec=Fixed(3), timeout=30, on_timeout=_timed_out, on_crash=_crashed))
    assert len(executor.pickled) == 6 + sum(t % 3 for t in range(6))


# --- what needs a process of its own: LocalExecutor only ---------------------------------------------


def _hostile(_: None, task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder crash
    if task == 5:
        time.sleep(60)  # a decoder that hangs
    return task


def test_local_a_crash_or_a_hang_costs_that_task_only() -> None:
    got = list(LocalExecutor(2).map(_hostile, range(8), spec=Fixed(None), timeout=2.0, on_timeout=_timed_out,
                                    on_crash=_crashed))
    assert got == [0, 1, 2, "crash 3 signal 11", 4, "timeout 5 2", 6, 7]


def _crash_midway(_: None, task: int) -> Iterator[str]:
    yield f"{task} first"
    yield f"{task} second"  # task 1: the part in hand when its worker dies is lost with it
    if task == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def test_local_a_crash_after_some_parts_ends_the_task_with_on_crash() -> None:
    got = list(LocalExecutor(2).stream(_crash_midway, range(3), spec=Fixed(None), timeout=30,
                                       on_timeout=_timed_out, on_crash=_crashed))
    assert [(p.value, p.last, p.failed) for p in got] == [
        ("0 first", False, False), ("0 second", True, False), ("1 first", False, False),
        ("crash 1 signal 9", True, True), ("2 first", False, False), ("2 second", True, False)]


def test_local_workers_end_when_the_consumer_stops_early() -> None:
    parts = LocalExecutor(2).stream(_parts, range(1000), spec=Fixed(7), timeout=30, on_timeout=_timed_out,
                                    on_crash=_crashed)
    first: Part[int, tuple[int, int]] = next(parts)
    assert first.value == (1, 0)
    parts.close()  # type: ignore[attr-defined]
    assert not mp.active_children()
