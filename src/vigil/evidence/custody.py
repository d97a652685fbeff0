"""The custody log: an append-only, hash-chained table that records who did what to which evidence.

Each entry's sha256 covers the previous entry's hash and its own fields, so any edit, insertion or
removal breaks the chain from that entry on (:meth:`CustodyLog.verify`); the last entry's hash
(the head), noted elsewhere, pins the whole chain. The database itself refuses updates and
deletes of the table (triggers), so a mistake in the code cannot rewrite history either.

The log owns its table and keeps it in any app's database: a SQLite connection (``sqlite3``, as a
scan's ``case.db``) or a PostgreSQL one (``psycopg``, as the service will). It writes inside the
caller's transaction: an entry commits with the work it records, or not at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ..errors import InvalidValue

__all__ = ["CustodyLog", "LogEntry", "LogProblem", "utc_now"]

_GENESIS = "0" * 64
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


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


@dataclass(frozen=True)
class LogProblem:
    seq: int
    problem: str


class _Connection(Protocol):
    """A DB-API 2 connection: ``sqlite3`` or ``psycopg``."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...


def _entry_hash(prev: str, seq: int, at: str, event: str, data: str) -> str:
    body = json.dumps([prev, seq, at, event, data], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _is_sqlite(conn: object) -> bool:
    return type(conn).__module__.startswith("sqlite3")


class CustodyLog:
    """The log kept in table ``table`` of the database behind ``conn``."""

    def __init__(self, conn: _Connection, table: str = "log") -> None:
        if not _NAME.fullmatch(table):
            raise InvalidValue(f"not a plain table name: {table!r}")
        self.conn = conn
        self.table = table
        self._sqlite = _is_sqlite(conn)
        self._p = "?" if self._sqlite else "%s"

    def create(self) -> None:
        """Create the table and the triggers that make it append-only (if they do not exist)."""
        t = self.table
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {t} (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, "
                          "event TEXT NOT NULL, data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL)")
        if self._sqlite:
            for action in ("UPDATE", "DELETE"):
                self.conn.execute(f"CREATE TRIGGER IF NOT EXISTS {t}_no_{action.lower()} BEFORE {action} ON {t} "
                                  f"BEGIN SELECT RAISE(ABORT, 'the case log is append-only'); END")
            return
        self.conn.execute(f"CREATE OR REPLACE FUNCTION {t}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN RAISE EXCEPTION 'the custody log is append-only'; END $$")
        self.conn.execute(f"CREATE OR REPLACE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                          f"FOR EACH STATEMENT EXECUTE FUNCTION {t}_append_only()")

    def append(self, event: str, data: dict[str, Any]) -> LogEntry:
        """Add an entry (inside the caller's transaction, which should hold the write lock)."""
        last = self.conn.execute(f"SELECT seq, hash FROM {self.table} ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, _GENESIS)
        at = utc_now()
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = _entry_hash(prev, seq, at, event, text)
        p = self._p
        self.conn.execute(f"INSERT INTO {self.table} (seq, at, event, data, prev, hash) "
                          f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})", (seq, at, event, text, prev, digest))
        return LogEntry(seq, at, event, data, prev, digest)

    def _rows(self) -> Any:
        return self.conn.execute(f"SELECT seq, at, event, data, prev, hash FROM {self.table} ORDER BY seq")

    def entries(self) -> list[LogEntry]:
        return [LogEntry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in self._rows()]

    def head(self) -> str | None:
        """The hash of the last entry (None when the log is empty)."""
        row = self.conn.execute(f"SELECT hash FROM {self.table} ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def verify(self) -> tuple[int, list[LogProblem]]:
        """Check the chain: (entries checked, problems). No problems means no entry was changed,
        inserted or removed (the head, recorded elsewhere, pins the end)."""
        problems: list[LogProblem] = []
        prev = _GENESIS
        expected_seq = 1
        count = 0
        for seq, at, event, data, stored_prev, stored_hash in self._rows():
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
