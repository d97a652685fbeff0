"""Running tasks: each under a time limit, a crash or hang becoming that task's result."""

from __future__ import annotations

from .local import default_jobs, run_parallel

__all__ = ["default_jobs", "run_parallel"]
