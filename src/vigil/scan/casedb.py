"""The case database: one SQLite file in the scan's output folder, ``case.db``.

It holds the scan's checkpoint (what is done, committed with the items it produced, so a
crash loses at most the work since the last commit and never counts anything twice), the
items read, the distinct contents with their signals and matches, thumbnails of hits, and the
case log (:class:`vigil.evidence.custody.CustodyLog`, in table ``log``).

Paths are stored as bytes (``os.fsencode``): evidence names that are not UTF-8 survive intact.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..evidence.custody import CustodyLog

__all__ = ["CASE_DB", "CaseDB", "ContentLookup"]

CASE_DB = "case.db"

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
"""


class CaseDB:
    """The case database of one output folder. One writer: the scan's main process."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.log = CustodyLog(conn, "log")

    @classmethod
    def open(cls, folder: Path, *, create: bool) -> CaseDB:
        path = folder / CASE_DB
        if not create and not path.exists():
            raise FileNotFoundError(path)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a checkpoint must survive a power cut
        conn.executescript(_SCHEMA)
        case = cls(path, conn)
        case.log.create()
        return case

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


class ContentLookup:
    """``lookup(sha256)`` → the kind of a content the case has hashed, from a worker process.

    Opens its own read-only connection on first use (after the worker forked)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def __call__(self, sha256: str) -> str | None:
        if self._conn is None or self._pid != os.getpid():
            self._conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro", uri=True, check_same_thread=False)
            self._pid = os.getpid()
        row = self._conn.execute("SELECT kind FROM contents WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
