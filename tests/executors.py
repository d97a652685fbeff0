"""A test-only executor: each task run in this process exactly as a remote worker would get it."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from vigil.run import Executor, Part, WorkerSpec

T = TypeVar("T")
P = TypeVar("P")
C = TypeVar("C")

_END = object()


class PickleRoundTripExecutor(Executor):
    """Runs each task in this process after a pickle round trip of the function, the worker spec
    and the task, and round-trips each part back: what a distributed executor would do, with
    nothing shared by fork or memory. ``pickled`` keeps every task and part as it travelled.

    A time limit is checked when a task hands over a part (a process of its own is what stops a
    hang: :class:`vigil.run.LocalExecutor`); an exception is the task's crash, as the contract says.
    """

    def __init__(self, *, local: bool = True) -> None:
        self.local = local
        self.pickled: list[bytes] = []
        self.contexts_built = 0

    def _travel(self, value: Any) -> Any:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self.pickled.append(data)
        return pickle.loads(data)

    def stream(
        self,
        fn: Callable[[C, T], Iterable[P]],
        tasks: Iterable[T],
        *,
        spec: WorkerSpec[C],
        timeout: float | Callable[[T], float],
        on_timeout: Callable[[T, float], P],
        on_crash: Callable[[T, str], P],
    ) -> Iterator[Part[T, P]]:
        remote_fn, remote_spec = pickle.loads(pickle.dumps((fn, spec)))
        return self._run(remote_fn, remote_spec, tasks, timeout, on_timeout, on_crash)

    def _run(self, fn: Callable[[Any, Any], Iterable[P]], spec: WorkerSpec[Any], tasks: Iterable[T],
             timeout: float | Callable[[T], float], on_timeout: Callable[[T, float], P],
             on_crash: Callable[[T, str], P]) -> Iterator[Part[T, P]]:
        context: Any = _END
        try:
            for task in tasks:
                limit = timeout(task) if callable(timeout) else timeout
                spent = 0.0
                try:
                    if context is _END:
                        context = spec.build()
                        self.contexts_built += 1
                    started = time.monotonic()
                    parts = iter(fn(context, self._travel(task)))
                    part = next(parts, _END)
                    spent += time.monotonic() - started
                    while part is not _END:
                        started = time.monotonic()
                        try:
                            following = next(parts, _END)
                        except Exception:
                            yield Part(task, self._travel(part), False)  # made before the exception: it stands
                            raise
                        spent += time.monotonic() - started
                        if spent > limit:
                            yield Part(task, on_timeout(task, limit), True, True)
                            break
                        yield Part(task, self._travel(part), following is _END)
                        part = following
                except Exception as exc:  # the contract: whatever the task raises is its crash
                    yield Part(task, on_crash(task, f"{type(exc).__name__}: {exc}"), True, True)
        finally:
            close = getattr(context, "close", None)
            if close is not None:
                close()
