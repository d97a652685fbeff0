"""The local executor: tasks on forked worker processes, each under a hard time limit.

Results come back in input order. A task that runs past its time limit, or whose worker dies
(a decoder crash), ends with a result the caller builds, and a fresh worker takes its place: one
hostile file never ends a run. Workers die with the process that started them.

Forking is this executor's optimisation, not part of the contract (:mod:`vigil.run.base`): the
workers inherit ``fn`` and the worker spec instead of unpickling them, and share what the parent
mapped before the fork (compiled list indexes). Tasks and parts travel through pipes, pickled.

A task's parts flow with back-pressure: a worker sends a part and, unless it was its task's last,
waits for the parent's word to go on. The parent gives it at once while fewer than ``_AHEAD``
parts of that task wait for the consumer, and otherwise when the consumer has taken them; the
time limit stops while a worker waits.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import multiprocessing as mp
import os
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from .base import Executor, Fixed, Part, WorkerSpec

__all__ = ["LocalExecutor", "run_parallel", "default_jobs", "die_with_parent"]

T = TypeVar("T")
_P = TypeVar("_P")
R = TypeVar("R")
_C = TypeVar("_C")

_AHEAD = 2  # parts a task may have waiting for the consumer before its worker waits too
_GO = b"go"


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# The parent's ends of the workers' pipes (of every pool in this process). A forked worker inherits
# every one of them; it must close them, or a worker would keep its own pipe open and never see the
# parent die.
_PARENT_ENDS: set[Connection] = set()


def die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that started it dies (kill -9
    included), so no worker outlives an interrupted run and competes with the resumed one."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # pragma: no cover - not Linux: EOF on the pipe still ends it
        pass


class _Raised:
    """What a worker sends when ``fn`` (or building its context) raised: the task's crash reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Nothing:
    """In place of a part: the task made none (a class, so that it is still itself once unpickled)."""


_NOTHING = _Nothing()
_UNBUILT = object()  # a worker's context before its first task


def _worker(conn: Connection, fn: Callable[[Any, Any], Iterable[Any]], spec: WorkerSpec[Any]) -> None:
    # A crash is reported as that task's result; a traceback dump would only garble the terminal.
    faulthandler.disable()
    for end in list(_PARENT_ENDS):
        end.close()
    _PARENT_ENDS.clear()
    die_with_parent()
    context: Any = _UNBUILT
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        index, item = task
        try:
            if context is _UNBUILT:
                context = spec.build()
            parts = iter(fn(context, item))
            part = next(parts, _NOTHING)
            if part is _NOTHING:
                conn.send((index, _NOTHING, True))
            while part is not _NOTHING:
                raised: Exception | None = None
                try:
                    following = next(parts, _NOTHING)
                except Exception as exc:
                    following, raised = _NOTHING, exc  # the part made before stands; the exception follows it
                last = following is _NOTHING and raised is None
                conn.send((index, part, last))
                if not last and conn.recv() != _GO:
                    return
                if raised is not None:
                    raise raised
                part = following
        except Exception as exc:  # fn is the caller's code: whatever it raises is this task's crash
            traceback.print_exc()
            conn.send((index, _Raised(f"{type(exc).__name__}: {exc}"), True))


class _Slot:
    def __init__(self, ctx: Any, fn: Callable[..., Any], spec: WorkerSpec[Any]) -> None:
        self.conn, child = ctx.Pipe()
        _PARENT_ENDS.add(self.conn)
        self.proc = ctx.Process(target=_worker, args=(child, fn, spec), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple[int, Any] | None = None
        self.deadline = 0.0
        self.seconds = 0.0
        self.left = 0.0  # while held: the seconds its task had left

    def give(self, index: int, item: Any, seconds: float) -> None:
        self.task = (index, item)
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.conn.send(self.task)

    @property
    def held(self) -> bool:
        return self.deadline == math.inf

    def hold(self) -> None:
        self.left = self.deadline - time.monotonic()
        self.deadline = math.inf

    def go(self) -> None:
        if self.held:
            self.deadline = time.monotonic() + self.left
        self.conn.send(_GO)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self._close()

    def _close(self) -> None:
        _PARENT_ENDS.discard(self.conn)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.kill()
        else:
            self._close()


class LocalExecutor(Executor):
    """Tasks on ``jobs`` forked processes (default: every core this process may use)."""

    local = True

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or default_jobs()

    def stream(
        self,
        fn: Callable[[_C, T], Iterable[_P]],
        tasks: Iterable[T],
        *,
        spec: WorkerSpec[_C],
        timeout: float | Callable[[T], float],
        on_timeout: Callable[[T, float], _P],
        on_crash: Callable[[T, str], _P],
    ) -> Iterator[Part[T, _P]]:
        ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
        slots = [_Slot(ctx, fn, spec) for _ in range(self.jobs)]
        return _in_order(lambda: _Slot(ctx, fn, spec), slots, iter(enumerate(tasks)), timeout, on_timeout, on_crash)


def _in_order(
    new_slot: Callable[[], _Slot],
    slots: list[_Slot],
    source: Iterator[tuple[int, T]],
    timeout: float | Callable[[T], float],
    on_timeout: Callable[[T, float], _P],
    on_crash: Callable[[T, str], _P],
) -> Iterator[Part[T, _P]]:
    waiting: dict[int, deque[Part[T, _P]]] = {}  # parts not yet given to the consumer, by task
    finished: set[int] = set()  # tasks whose last part has come
    next_out = 0
    exhausted = False
    window = 64 * len(slots)

    def feed(slot: _Slot) -> None:
        nonlocal exhausted
        # Bound the results held for ordering: never run far ahead of the output.
        if exhausted or len(finished) > window:
            return
        try:
            index, item = next(source)
        except StopIteration:
            exhausted = True
            return
        waiting[index] = deque()
        slot.give(index, item, timeout(item) if callable(timeout) else timeout)

    def failed(index: int, item: T, value: _P) -> None:
        waiting[index].append(Part(item, value, True, True))
        finished.add(index)

    try:
        for slot in slots:
            feed(slot)
        while any(s.task is not None for s in slots):
            busy = [s for s in slots if s.task is not None]
            wait_for = max(0.0, min(s.deadline for s in busy) - time.monotonic())
            ready = wait([s.conn for s in busy], timeout=min(wait_for, 1.0) + 0.01)
            for i, slot in enumerate(slots):
                if slot.task is None:
                    continue
                index, item = slot.task
                if slot.conn in ready:
                    try:
                        got_index, value, last = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.kill()
                        code = slot.proc.exitcode
                        reason = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
                        failed(index, item, on_crash(item, reason))
                        slots[i] = slot = new_slot()
                    else:
                        if isinstance(value, _Raised):
                            failed(got_index, item, on_crash(item, value.reason))
                        elif not isinstance(value, _Nothing):
                            waiting[got_index].append(Part(item, value, last))
                        if last:
                            finished.add(got_index)
                            slot.task = None
                        elif got_index == next_out or len(waiting[got_index]) < _AHEAD:
                            slot.go()
                        else:
                            slot.hold()
                elif time.monotonic() > slot.deadline:
                    slot.kill()
                    failed(index, item, on_timeout(item, slot.seconds))
                    slots[i] = slot = new_slot()
                if slot.task is None:
                    feed(slot)
            while next_out in waiting:
                parts = waiting[next_out]
                while parts:
                    yield parts.popleft()
                if next_out not in finished:
                    for slot in slots:
                        if slot.task is not None and slot.task[0] == next_out and slot.held:
                            slot.go()  # its waiting parts are taken: it may go on
                    break
                del waiting[next_out]
                finished.discard(next_out)
                next_out += 1
            for slot in slots:
                if slot.task is None:
                    feed(slot)
        while next_out in waiting:
            yield from waiting.pop(next_out)
            next_out += 1
    finally:
        for slot in slots:
            if slot.task is not None:
                slot.kill()
            else:
                slot.stop()


def run_parallel(
    func: Callable[..., R],
    items: Iterable[T],
    *,
    extra: tuple[Any, ...] = (),
    jobs: int | None = None,
    timeout: float | Callable[[T], float],
    on_timeout: Callable[[T, float], R],
    on_crash: Callable[[T, str], R],
) -> Iterator[R]:
    """``func(item, *extra)`` for each item, on ``jobs`` processes, in input order (a
    :class:`LocalExecutor`'s ``map`` with fixed arguments). The workers start in this call."""
    return LocalExecutor(jobs).map(_WithExtra(func), items, spec=Fixed(extra), timeout=timeout,
                                   on_timeout=on_timeout, on_crash=on_crash)


class _WithExtra:
    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def __call__(self, extra: tuple[Any, ...], item: Any) -> Any:
        return self.func(item, *extra)
