"""The service's hashing processes: uploads are hashed in processes of their own, started once per
worker (spawned, never forked from a worker that runs threads) and kept, so an upload costs its
hashing and not a process start. A file that hangs a decoder past the time limit, or crashes one,
costs that file: its process is killed and a fresh one started, and the upload gets its error."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..hashing import FileResult, HashOptions, hash_file
from ..media.sniff import Kind
from ..run import die_with_parent

__all__ = ["Hasher"]


def _start() -> None:  # pragma: no cover - in the hashing process
    die_with_parent()
    from ..signals import pdq

    pdq.warm_up(kernels=True)  # Pillow's formats and the numba kernels, once, before the first upload


def _ready() -> bool:  # pragma: no cover - in the hashing process
    return True


class Hasher:
    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_start)
            return self._pool

    def warm(self) -> None:
        """Start the processes now (in the background), not at the first upload."""
        self._get().submit(_ready)

    def _reset(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        processes: dict[Any, Any] = getattr(pool, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()  # a hung decoder does not stop by being asked
        pool.shutdown(wait=False, cancel_futures=True)

    def hash(self, path: str, options: HashOptions) -> FileResult:
        pool = self._get()
        future = pool.submit(hash_file, path, options)
        try:
            return future.result(timeout=options.limits.max_seconds + 30.0)
        except concurrent.futures.TimeoutError:
            self._reset(pool)
            return FileResult(path, Kind.ERROR, error=f"decoding ran past {options.limits.max_seconds:.0f} s")
        except BrokenProcessPool:
            self._reset(pool)
            return FileResult(path, Kind.ERROR, error="the decoder crashed on this file")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
