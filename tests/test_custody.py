"""The custody log keeps its hash chain and refuses changes, in SQLite (a case database) and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vigil.errors import InvalidValue
from vigil.evidence.custody import CustodyLog


@pytest.fixture(params=["sqlite", "postgresql"])
def conn(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A DB-API connection in autocommit mode (the log writes in the caller's transactions)."""
    if request.param == "sqlite":
        c = sqlite3.connect(tmp_path / "case.db", isolation_level=None)
        yield c
        c.close()
        return
    url = os.environ.get("VIGIL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL backend not tested: set VIGIL_TEST_POSTGRES_URL (CI does)")
    import psycopg

    schema = f"vigil_custody_{uuid.uuid4().hex[:12]}"
    c = psycopg.connect(url, autocommit=True)
    c.execute(f"CREATE SCHEMA {schema}")
    c.execute(f"SET search_path TO {schema}")
    try:
        yield c
    finally:
        c.execute(f"DROP SCHEMA {schema} CASCADE")
        c.close()


def test_entries_chain_and_verify(conn: Any) -> None:
    log = CustodyLog(conn, "custody")
    log.create()
    log.create()  # idempotent: an app opens its database many times
    assert log.head() is None and log.verify() == (0, [])
    first = log.append("scan started", {"case": "2026-0117", "evidence": ["/mnt/seized"]})
    second = log.append("reports written", {"files": {"report.json": "ab" * 32}})
    assert (first.seq, second.seq) == (1, 2) and second.prev == first.hash and log.head() == second.hash
    assert [e.event for e in log.entries()] == ["scan started", "reports written"]
    assert log.entries()[0].data == {"case": "2026-0117", "evidence": ["/mnt/seized"]}
    assert log.verify() == (2, [])


def test_the_database_refuses_to_change_or_remove_an_entry(conn: Any) -> None:
    log = CustodyLog(conn, "custody")
    log.create()
    log.append("scan started", {"case": "x"})
    for statement in ("UPDATE custody SET event = 'nothing happened'", "DELETE FROM custody"):
        with pytest.raises(Exception, match="append-only"):  # the driver's own error: sqlite3's or psycopg's
            conn.execute(statement)
    assert log.verify() == (1, [])


def test_a_forged_entry_breaks_the_chain(tmp_path: Path) -> None:
    c = sqlite3.connect(tmp_path / "case.db", isolation_level=None)
    log = CustodyLog(c, "custody")
    log.create()
    for n in range(3):
        log.append("entry", {"n": n})
    c.execute("DROP TRIGGER custody_no_update")  # someone with the file and a SQLite shell
    c.execute("UPDATE custody SET data = '{\"n\":7}' WHERE seq = 2")
    count, problems = log.verify()
    assert count == 3 and [(p.seq, p.problem) for p in problems] == [
        (2, "its content does not match its hash (changed after it was written)")]
    c.close()


def test_a_table_name_must_be_a_plain_name() -> None:
    with pytest.raises(InvalidValue, match="not a plain table name"):
        CustodyLog(sqlite3.connect(":memory:"), "log; DROP TABLE items")
