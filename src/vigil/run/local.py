"""Run a function over many items on worker processes, each task under a hard limit.

Results come back in input order. A task that runs past its time limit, or whose
worker dies (a decoder crash), is replaced by a result the caller builds, and a
fresh worker takes its place: one hostile file never ends a run.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

__all__ = ["run_parallel", "default_jobs"]

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# The parent's ends of the workers' pipes. A forked worker inherits every one of them; it must
# close them, or a worker would keep its own pipe open and never see the parent die.
_PARENT_ENDS: set[Connection] = set()


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that started it dies (kill -9
    included), so no worker outlives an interrupted run and competes with the resumed one."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # pragma: no cover - not Linux: EOF on the pipe still ends it
        pass


def _worker(conn: Connection, func: Callable[..., Any], extra: tuple[Any, ...]) -> None:
    # A crash is reported as that item's result; a traceback dump would only garble the terminal.
    faulthandler.disable()
    for end in list(_PARENT_ENDS):
        end.close()
    _PARENT_ENDS.clear()
    _die_with_parent()
    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        index, item = task
        conn.send((index, func(item, *extra)))


class _Slot:
    def __init__(self, ctx: Any, func: Callable[..., Any], extra: tuple[Any, ...]) -> None:
        self.conn, child = ctx.Pipe()
        _PARENT_ENDS.add(self.conn)
        self.proc = ctx.Process(target=_worker, args=(child, func, extra), daemon=True)
        self.proc.start()
        child.close()
        self.task: tuple[int, Any] | None = None
        self.deadline = 0.0
        self.seconds = 0.0

    def give(self, index: int, item: Any, seconds: float) -> None:
        self.task = (index, item)
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.conn.send(self.task)

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
    """``func(item, *extra)`` for each item, on ``jobs`` processes, in input order.

    ``timeout`` is seconds per item, or a function of the item that gives them.
    The workers start at once, in this call, so that a caller can start threads of
    its own (a progress bar) afterwards: forking while other threads run is unsafe.
    """
    jobs = jobs or default_jobs()
    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    slots = [_Slot(ctx, func, extra) for _ in range(jobs)]
    return _in_order(ctx, func, extra, slots, iter(enumerate(items)), timeout, on_timeout, on_crash)


def _in_order(
    ctx: Any,
    func: Callable[..., R],
    extra: tuple[Any, ...],
    slots: list[_Slot],
    source: Iterator[tuple[int, T]],
    timeout: float | Callable[[T], float],
    on_timeout: Callable[[T, float], R],
    on_crash: Callable[[T, str], R],
) -> Iterator[R]:
    done: dict[int, R] = {}
    next_out = 0
    exhausted = False
    window = 64 * len(slots)

    def feed(slot: _Slot) -> None:
        nonlocal exhausted
        # Bound the results held for ordering: never run far ahead of the output.
        if exhausted or len(done) > window:
            return
        try:
            index, item = next(source)
        except StopIteration:
            exhausted = True
            return
        slot.give(index, item, timeout(item) if callable(timeout) else timeout)

    try:
        for slot in slots:
            feed(slot)
        while any(s.task is not None for s in slots):
            busy = [s for s in slots if s.task is not None]
            now = time.monotonic()
            wait_for = max(0.0, min(s.deadline for s in busy) - now)
            ready = wait([s.conn for s in busy], timeout=min(wait_for, 1.0) + 0.01)
            for i, slot in enumerate(slots):
                if slot.task is None:
                    continue
                index, item = slot.task
                if slot.conn in ready:
                    try:
                        got_index, result = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.kill()
                        code = slot.proc.exitcode
                        reason = f"signal {-code}" if code is not None and code < 0 else f"exit {code}"
                        done[index] = on_crash(item, reason)
                        slots[i] = slot = _Slot(ctx, func, extra)
                    else:
                        done[got_index] = result
                        slot.task = None
                elif time.monotonic() > slot.deadline:
                    slot.kill()
                    done[index] = on_timeout(item, slot.seconds)
                    slots[i] = slot = _Slot(ctx, func, extra)
                if slot.task is None:
                    feed(slot)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            for slot in slots:
                if slot.task is None:
                    feed(slot)
        while next_out in done:
            yield done.pop(next_out)
            next_out += 1
    finally:
        for slot in slots:
            if slot.task is not None:
                slot.kill()
            else:
                slot.stop()
