"""Background jobs of the service: list imports sent over HTTP, run on a thread of the worker that
received them, their state and progress kept in the database so that any worker can answer
``GET /v1/jobs/{id}``.

An import is one transaction (``vigil.lists.import_file``): a bad record, or a worker that dies half
way, leaves the list as it was. A running job writes a heartbeat every few seconds; one whose
heartbeat stopped and whose worker is gone (killed) is reported as failed, saying the list is unchanged.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue
import shutil
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..errors import InputUnusable, NotFound, VigilError
from ..lists import import_file
from ..lists.catalog import ListKind
from ..run import die_with_parent
from ..store import Store, as_utc
from ..store.schema import service_jobs

__all__ = ["ImportRequest", "Jobs"]

_log = logging.getLogger("vigil.serve")
_BEAT = 3.0  # seconds between a running job's heartbeats
_LOST = 180.0  # a job silent this long is reported failed (SQLite: a long import holds the write lock)


@dataclass(frozen=True)
class ImportRequest:
    list_name: str
    path: str  # the uploaded file, in a private folder the job deletes when done
    folder: str
    size: int
    format: str | None = None
    signal: str | None = None
    replace: bool = False
    source: str | None = None
    kind: ListKind | None = None


_RUNNER = f"{socket.gethostname()} {os.getpid()}"


def _alive(runner: str | None) -> bool:
    """Whether the worker that runs a job is alive, where this process can tell (the same machine).
    The heartbeat alone cannot say so on SQLite: an import holds the write lock for minutes at 10M."""
    host, _, pid = (runner or "").rpartition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _import_child(url: str, request: ImportRequest, messages: Any) -> None:  # pragma: no cover - a spawned process
    """In the import's own process: import the file, report progress, then the summary or the error.
    It dies with the worker that started it (a killed worker's import rolls back, as its job says)."""
    die_with_parent()
    store = Store.open(url, migrate=False)
    try:
        result = import_file(store, request.path, request.list_name, format=request.format,
                             signal=request.signal, replace=request.replace, source=request.source,
                             kind=request.kind, on_bytes=lambda n: messages.put(("bytes", n)))
        messages.put(("done", result.to_json()))
    except VigilError as exc:
        messages.put(("error", str(exc)))
    finally:
        store.close()


class Jobs:
    def __init__(self, store: Store, threads: int = 1) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vigil-job")
        # This worker's queued and running jobs, with the bytes each has read: the beat writes both. (The
        # import's own thread never writes while it imports: on SQLite its transaction holds the lock.)
        self._live: dict[int, int] = {}
        self._folders: dict[int, str] = {}  # each live job's upload, deleted when it ends
        self._children: set[Any] = set()  # the import processes running now
        self._lock = threading.Lock()
        self._closed = threading.Event()
        threading.Thread(target=self._beat, name="vigil-jobs-beat", daemon=True).start()

    def _beat(self) -> None:
        while not self._closed.wait(_BEAT):
            with self._lock:
                live = dict(self._live)
            try:
                with self.store.begin() as conn:
                    for job_id, read in live.items():
                        conn.execute(update(service_jobs).where(service_jobs.c.id == job_id)
                                     .values(heartbeat_at=datetime.now(UTC), bytes_done=read))
            except VigilError:
                pass  # the database is away or locked for a moment: the next beat tries again

    def submit_import(self, request: ImportRequest, key_name: str | None) -> int:
        """Queue an import; returns the job's id. The job owns ``request.folder`` from here on."""
        with self.store.begin() as conn:
            job_id = conn.execute(service_jobs.insert().values(
                kind="import", list_name=request.list_name, key_name=key_name, state="queued",
                created_at=datetime.now(UTC), bytes_done=0, bytes_total=request.size, entries=0,
                heartbeat_at=datetime.now(UTC), runner=_RUNNER,
            ).returning(service_jobs.c.id)).scalar_one()
        with self._lock:
            self._live[int(job_id)] = 0
            self._folders[int(job_id)] = request.folder
        self._pool.submit(self._run_import, int(job_id), request)
        return int(job_id)

    def _set(self, job_id: int, **values: Any) -> None:
        with self.store.begin() as conn:
            conn.execute(update(service_jobs).where(service_jobs.c.id == job_id).values(**values))

    def _run_import(self, job_id: int, request: ImportRequest) -> None:
        def progress(nbytes: int) -> None:
            with self._lock:
                self._live[job_id] = self._live.get(job_id, 0) + nbytes

        try:
            self._set(job_id, state="running", started_at=datetime.now(UTC), heartbeat_at=datetime.now(UTC))
            summary = self._import_in_child(request, progress)
            self._set(job_id, state="done", finished_at=datetime.now(UTC), bytes_done=request.size,
                      entries=summary["records"], result=json.dumps(summary))
        except VigilError as exc:
            self._finish_failed(job_id, str(exc))
        except Exception:
            _log.exception("import job %s failed", job_id)
            self._finish_failed(job_id, "the import failed on the service's side (it is logged); the list is unchanged")
        finally:
            with self._lock:
                self._live.pop(job_id, None)
                self._folders.pop(job_id, None)
            shutil.rmtree(request.folder, ignore_errors=True)

    def _import_in_child(self, request: ImportRequest, progress: Callable[[int], None]) -> dict[str, Any]:
        """The import, run in a process of its own (spawned: this one has threads): its memory (a
        million-entry import peaks near half a GB) goes back to the machine when it ends, a crash in
        it costs the job only, and it may read the file on a second core as ``vigil lists import``
        does. Progress comes back over a queue as it reads."""
        ctx = multiprocessing.get_context("spawn")
        messages = ctx.Queue()
        # Not a daemon: it may start a reader process of its own, as `vigil lists import` does.
        child = ctx.Process(target=_import_child, name="vigil-import", daemon=False,
                            args=(self.store.engine.url.render_as_string(hide_password=False), request, messages))
        child.start()
        with self._lock:
            self._children.add(child)
        try:
            while True:
                try:
                    kind, value = messages.get(timeout=1.0)
                except queue.Empty:
                    if not child.is_alive():
                        raise InputUnusable(f"the import process stopped (exit status {child.exitcode}); "
                                            "the list is unchanged") from None
                    continue
                if kind == "bytes":
                    progress(int(value))
                elif kind == "done":
                    return dict(value)
                else:
                    raise InputUnusable(str(value))
        finally:
            child.join(timeout=5)
            if child.is_alive():
                child.kill()
            with self._lock:
                self._children.discard(child)
            messages.close()

    def _finish_failed(self, job_id: int, error: str) -> None:
        try:
            self._set(job_id, state="failed", finished_at=datetime.now(UTC), error=error)
        except VigilError:
            _log.error("job %s failed (%s) and its state could not be written", job_id, error)

    def get(self, job_id: int) -> dict[str, Any]:
        with self.store.connect() as conn:
            row = conn.execute(select(service_jobs).where(service_jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        m = row._mapping
        state, error, finished = m["state"], m["error"], _utc(m["finished_at"])
        beat = _utc(m["heartbeat_at"]) or _utc(m["created_at"])
        if state in ("queued", "running") and beat is not None and \
                datetime.now(UTC) - beat > timedelta(seconds=_LOST) and not _alive(m["runner"]):
            state, error = "failed", "the worker running this job stopped; the list is unchanged"
        with self._lock:
            read = self._live.get(job_id)  # this worker runs it: its progress is known here first
        done = m["bytes_done"] if read is None or state != "running" else max(read, m["bytes_done"])
        created, started = _utc(m["created_at"]), _utc(m["started_at"])
        return {"id": m["id"], "kind": m["kind"], "list": m["list_name"], "state": state,
                "entries": m["entries"], "bytes_done": done, "bytes_total": m["bytes_total"],
                "result": json.loads(m["result"]) if m["result"] else None, "error": error,
                "created": created.isoformat() if created else None,
                "started": started.isoformat() if started else None,
                "finished": finished.isoformat() if finished else None}

    def close(self) -> None:
        """At shutdown: running imports are stopped (their transactions roll back, their jobs fail),
        queued ones fail without running; returns when every job of this worker has ended."""
        self._closed.set()
        with self._lock:
            children = list(self._children)
        for child in children:
            child.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = dict(self._folders)
            self._live.clear()
            self._folders.clear()
        for job_id, folder in left.items():  # queued, never run
            self._finish_failed(job_id, "the service stopped before this import ran; the list is unchanged")
            shutil.rmtree(folder, ignore_errors=True)
