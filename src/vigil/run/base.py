"""The Executor protocol: run a function over many tasks, each under a time limit, results in input order.

The contract every executor keeps (the executor test kit in ``tests/test_executors.py`` checks it):

* **Tasks and parts.** ``stream(fn, tasks, spec=...)`` calls ``fn(context, task)`` for each task; ``fn``
  returns an iterable of *parts* (a generator: a task of a million rows yields them a chunk at a
  time). The executor gives back every part of every task as a :class:`Part`, tasks in input order
  and each task's parts in the order it made them, the last one flagged ``last``. ``map`` is the
  common case of one result per task.
* **Bounded memory.** An executor works ahead of the consumer by a bounded number of tasks, and a
  task that is not yet the consumer's holds at most a few undelivered parts: past them it waits
  (back-pressure), and its time limit does not run while it waits.
* **Time limits, crashes and exceptions are results.** ``timeout`` is seconds per task, or a function
  of the task that gives them. A task that runs past its limit ends with ``on_timeout(task, seconds)``;
  one whose worker dies (a decoder crash) ends with ``on_crash(task, reason)``, and so does one whose
  ``fn`` raises (reason ``"ExceptionType: message"``, the traceback written to stderr). That part is
  flagged ``failed`` and comes after whatever parts the task delivered before: a consumer that
  wants all or nothing of a task (the scan) drops those. One hostile input never ends a run.
* **Plain values.** A task and every part must survive a pickle round trip and mean the same in
  another process or on another machine: no open files, no paths to private files, no reliance on
  module globals. What a worker needs beyond its task (the lists, the case's known contents) is a
  :class:`WorkerSpec`: a picklable value from which each worker builds its *context* once, before
  its first task, and hands it to ``fn`` with every task. ``fn`` must be a picklable function (one
  defined at module level), and so must ``on_timeout`` and ``on_crash``'s results.
* **Local optimisations are not requirements.** :class:`vigil.run.local.LocalExecutor` forks, so its
  workers inherit ``fn`` and the spec without pickling and share what the parent mapped before the
  fork (the compiled list indexes); a spec may keep such local objects for a forked worker to use,
  provided that, pickled, it still builds a working context from its plain fields. ``local`` says
  whether the workers see this machine's files (a read-only case database, for instance): a spec
  may use them only then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Executor", "Fixed", "Part", "WorkerSpec"]

T = TypeVar("T")
_P = TypeVar("_P")
R = TypeVar("R")
_C = TypeVar("_C")
_Cco = TypeVar("_Cco", covariant=True)


class WorkerSpec(Protocol[_Cco]):
    """A picklable value each worker builds its context from, once, before its first task."""

    def build(self) -> _Cco: ...


@dataclass(frozen=True)
class Fixed(Generic[_C]):
    """A context that is the value itself (plain arguments every task gets)."""

    value: _C

    def build(self) -> _C:
        return self.value


@dataclass(frozen=True)
class Part(Generic[T, _P]):
    """One part of a task's result, in order; ``last`` ends the task."""

    task: T
    value: _P
    last: bool
    failed: bool = False  # ``value`` is on_timeout's or on_crash's: the task did not finish


@dataclass(frozen=True)
class _One(Generic[_C, T, R]):
    """``fn`` as a task of exactly one part (picklable when ``fn`` is)."""

    fn: Callable[[_C, T], R]

    def __call__(self, context: _C, task: T) -> Iterator[R]:
        yield self.fn(context, task)


class Executor(Protocol):
    """Runs tasks on workers under time limits (the module docstring gives the contract)."""

    local: bool  # whether the workers see this machine's files

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
        """Every part of every task, tasks in input order. The workers start in this call, so
        a caller may start threads of its own afterwards (forking while threads run is unsafe)."""
        ...

    def map(
        self,
        fn: Callable[[_C, T], R],
        tasks: Iterable[T],
        *,
        spec: WorkerSpec[_C],
        timeout: float | Callable[[T], float],
        on_timeout: Callable[[T, float], R],
        on_crash: Callable[[T, str], R],
    ) -> Iterator[R]:
        """``fn(context, task)`` for each task, in input order (a failed task's result replaced)."""
        parts = self.stream(_One(fn), tasks, spec=spec, timeout=timeout, on_timeout=on_timeout,
                            on_crash=on_crash)
        return _values(parts)


def _values(parts: Iterator[Part[Any, R]]) -> Iterator[R]:
    for part in parts:
        yield part.value
