"""The audit log of a Vigil database: a custody log (``custody``) in its ``audit`` table, written in the
transaction of what each entry records. The lists write their changes to it, the service its sign-ins,
decisions and changes to people, keys and webhooks (``vigil.serve.audit`` reads it).

Appends are serialised (PostgreSQL: a lock on the table until the transaction ends; SQLite: its one
writer), so the chain never forks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from .custody import CustodyLog, LogEntry

__all__ = ["AUDIT_TABLE", "audit_log", "record"]

AUDIT_TABLE = "audit"


def audit_log(conn: Connection) -> CustodyLog:
    """The log, on ``conn``'s DB-API connection (inside its transaction)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return CustodyLog(raw, AUDIT_TABLE)


def record(conn: Connection, event: str, **data: Any) -> LogEntry:
    """Append ``event`` with ``data`` (JSON values) in ``conn``'s transaction (a ``Store.begin`` one)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {AUDIT_TABLE} IN SHARE ROW EXCLUSIVE MODE")  # one appender at a time
    return audit_log(conn).append(event, data)
