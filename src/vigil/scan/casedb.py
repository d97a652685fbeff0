"""The case database: one SQLite file in the scan's output folder, ``case.db``.

It holds the scan's checkpoint (what is done, committed with the items it produced, so a
crash loses at most the work since the last commit and never counts anything twice), the
items read, the distinct contents with their signals and matches, thumbnails of hits, and the
case log. The log is append-only (triggers refuse updates and deletes) and hash-chained: each
entry's hash covers the previous entry's hash and its own fields, so any edit, insertion or
removal breaks the chain from that entry on (:func:`verify_log`).

Paths are stored as bytes (``os.fsencode``): evidence names that are not UTF-8 survive intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["CASE_DB", "CaseDB", "LogEntry", "LogProblem", "verify_log", "utc_now", "ContentLookup"]

CASE_DB = "case.db"
_GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,        -- report order: evidence walk order, members after their archive
    top INTEGER NOT NULL,           -- which evidence entry (walk order) it came from
    parent INTEGER,                 -- seq of the archive it is a member of
    name BLOB,                      -- its name inside that archive
    path BLOB NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER,
    md5 TEXT, sha1 TEXT, sha256 TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS items_sha256 ON items (sha256);
CREATE TABLE IF NOT EXISTS contents (
    sha256 TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    format TEXT,
    signals TEXT NOT NULL,          -- JSON: pdq {hash, quality} or vpdq [frames]
    matches TEXT NOT NULL,          -- JSON list of block-list matches
    allowed TEXT NOT NULL,          -- JSON list of allow-list matches (known benign: hits suppressed)
    error TEXT
);
CREATE TABLE IF NOT EXISTS thumbs (sha256 TEXT PRIMARY KEY, data BLOB, frames INTEGER NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, event TEXT NOT NULL, data TEXT NOT NULL,
    prev TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS log_no_update BEFORE UPDATE ON log
    BEGIN SELECT RAISE(ABORT, 'the case log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS log_no_delete BEFORE DELETE ON log
    BEGIN SELECT RAISE(ABORT, 'the case log is append-only'); END;
"""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LogEntry:
    seq: int
    at: str
    event: str
    data: dict[str, Any]
    prev: str
    hash: str


def _entry_hash(prev: str, seq: int, at: str, event: str, data: str) -> str:
    body = json.dumps([prev, seq, at, event, data], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class CaseDB:
    """The case database of one output folder. One writer: the scan's main process."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, folder: Path, *, create: bool) -> CaseDB:
        path = folder / CASE_DB
        if not create and not path.exists():
            raise FileNotFoundError(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a checkpoint must survive a power cut
        conn.executescript(_SCHEMA)
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- meta --------------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, conn: sqlite3.Connection, key: str, value: Any) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (key, json.dumps(value, ensure_ascii=False)))

    # --- the log -----------------------------------------------------------------------------

    def append_log(self, conn: sqlite3.Connection, event: str, data: dict[str, Any]) -> LogEntry:
        last = conn.execute("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, _GENESIS)
        at = utc_now()
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = _entry_hash(prev, seq, at, event, text)
        conn.execute("INSERT INTO log (seq, at, event, data, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
                     (seq, at, event, text, prev, digest))
        return LogEntry(seq, at, event, data, prev, digest)

    def log_entries(self) -> list[LogEntry]:
        return [LogEntry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5])
                for r in self.conn.execute("SELECT seq, at, event, data, prev, hash FROM log ORDER BY seq")]


@dataclass(frozen=True)
class LogProblem:
    seq: int
    problem: str


def verify_log(conn: sqlite3.Connection) -> tuple[int, list[LogProblem]]:
    """Check the chain: (entries checked, problems). No problems means no entry was changed,
    inserted or removed (the last entry's hash, recorded elsewhere, pins the end)."""
    problems: list[LogProblem] = []
    prev = _GENESIS
    expected_seq = 1
    count = 0
    for seq, at, event, data, stored_prev, stored_hash in conn.execute(
            "SELECT seq, at, event, data, prev, hash FROM log ORDER BY seq"):
        count += 1
        if seq != expected_seq:
            problems.append(LogProblem(seq, f"entry {expected_seq} is missing"))
        if stored_prev != prev:
            problems.append(LogProblem(seq, "its link to the previous entry does not match"))
        if _entry_hash(stored_prev, seq, at, event, data) != stored_hash:
            problems.append(LogProblem(seq, "its content does not match its hash (changed after it was written)"))
        prev = stored_hash
        expected_seq = seq + 1
    return count, problems


class ContentLookup:
    """``lookup(sha256)`` → the kind of a content the case has hashed, from a worker process.

    Opens its own read-only connection on first use (after the worker forked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def __call__(self, sha256: str) -> str | None:
        if self._conn is None or self._pid != os.getpid():
            self._conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, check_same_thread=False)
            self._pid = os.getpid()
        row = self._conn.execute("SELECT kind FROM contents WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else str(row[0])
