"""Running tasks: each under a time limit, a crash or hang becoming that task's result.

:class:`Executor` is the contract (:mod:`vigil.run.base`); :class:`LocalExecutor` runs tasks on this
machine's cores; :func:`run_parallel` is its ``map`` for a function with fixed extra arguments.
"""

from __future__ import annotations

from .base import Executor, Fixed, Part, WorkerSpec
from .local import LocalExecutor, default_jobs, die_with_parent, run_parallel

__all__ = ["Executor", "Fixed", "LocalExecutor", "Part", "WorkerSpec", "default_jobs", "die_with_parent",
           "run_parallel"]
