"""Match events: every lookup or upload that matched is recorded (when, which key, which list and
entry, distance, variant, the query's hashes, the client's content id and metadata); lookups that
match nothing are only counted (``metrics``). The review desk works from these rows: each is filed
under the review item of the content that matched as it is written (``queue.file_events``).

Rows are written by one writer thread per worker, in batches (at most ``flush_seconds`` after the
answer went out, and at shutdown), not in the request: a write there waited for the database's write
lock (SQLite: the other workers' writes) and took a matched lookup from 3 to 50 ms under load. A batch
that cannot be written (the database is away) is kept and tried again, up to ``max_pending`` rows; past
that the oldest are dropped and the loss is logged. The answer never waits for the record: a platform
blocking an upload must not be told "no match", nor be slowed, because a record is pending.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..errors import VigilError
from ..matching import QueryResult
from ..store import Store
from ..store.schema import match_events
from .queue import file_events

__all__ = ["EventWriter"]

_log = logging.getLogger("vigil.serve")


class EventWriter:
    def __init__(self, store: Store, flush_seconds: float = 0.2, max_pending: int = 1_000_000) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self._pending: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="vigil-events", daemon=True)
        self._thread.start()

    def record(self, source: str, key_name: str | None, found: Sequence[tuple[dict[str, Any], QueryResult]],
               content_id: str | None = None, metadata: dict[str, Any] | None = None) -> int:
        """Queue the matches of each (query's hashes, result); returns how many rows were queued."""
        at = datetime.now(UTC)
        meta = json.dumps(metadata, ensure_ascii=False) if metadata is not None else None
        rows = [{"at": at, "source": source, "key_name": key_name, "list_name": m.list, "entry_id": m.entry,
                 "signal": m.signal, "distance": int(m.distance), "variant": m.variant, "category": m.category,
                 "query": json.dumps(query, ensure_ascii=False), "content_id": content_id, "metadata": meta}
                for query, result in found for m in result.matches]
        if rows:
            with self._lock:
                self._pending.extend(rows)
                dropped = len(self._pending) - self.max_pending
                for _ in range(max(0, dropped)):
                    self._pending.popleft()
                self._idle.clear()
            if dropped > 0:
                _log.error("dropped %d match events: the database has not taken them for a while", dropped)
            self._wake.set()
        return len(rows)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            batch = list(self._pending)
            self._pending.clear()
            if not batch:
                self._idle.set()
                return
        try:
            with self.store.begin() as conn:
                file_events(conn, batch)  # each under its review item (the queue), in the same transaction
                conn.execute(match_events.insert(), batch)
        except VigilError as exc:
            _log.error("could not record %d match events (will retry): %s", len(batch), exc)
            with self._lock:
                self._pending.extendleft(reversed(batch))
            self._stopped.wait(1.0)
            return
        # (a batch written while others queued: the loop comes round again, as _wake is set)
        with self._lock:
            if not self._pending:
                self._idle.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event is written (tests, shutdown); False when the time ran out."""
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self._flush()
