"""The audit log, read: who signed in (and who failed to), who decided what on the review queue, every
change to people, keys, webhooks and lists, in a hash-chained, append-only custody log in the database
(written by ``vigil.evidence.audit.record``, in the transaction of what each entry records).

``verify`` walks the chain: any entry changed, inserted or removed after it was written shows, and the
database refuses updates and deletes of the table besides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..errors import InvalidValue
from ..evidence.audit import audit_log
from ..evidence.custody import LogEntry, LogProblem
from ..store import Store
from ..store.schema import audit

__all__ = ["AuditPage", "audit_page", "entry_json", "export_entries", "verify"]

@dataclass(frozen=True)
class AuditPage:
    entries: list[LogEntry]
    next: int | None  # the seq to pass as ``after`` for the next page; None at the end


def audit_page(store: Store, *, after: int = 0, limit: int = 100, event: str | None = None) -> AuditPage:
    """Entries after seq ``after``, oldest first (``event``: only those of that kind)."""
    if not 1 <= limit <= 1000:
        raise InvalidValue("limit must be 1-1000")
    a = audit.c
    query = select(a.seq, a.at, a.event, a.data, a.prev, a.hash).where(a.seq > after)
    if event is not None:
        query = query.where(a.event == event)
    with store.connect() as conn:
        rows = conn.execute(query.order_by(a.seq).limit(limit + 1)).all()
    entries = [_entry(r) for r in rows[:limit]]
    return AuditPage(entries, entries[-1].seq if len(rows) > limit else None)


def _entry(row: Any) -> LogEntry:
    return LogEntry(int(row.seq), str(row.at), str(row.event), json.loads(row.data), str(row.prev), str(row.hash))


def export_entries(store: Store) -> Iterator[LogEntry]:
    """Every entry, oldest first, a page at a time."""
    after = 0
    while True:
        page = audit_page(store, after=after, limit=1000)
        yield from page.entries
        if page.next is None:
            return
        after = page.next


def verify(store: Store) -> tuple[int, list[LogProblem], str | None]:
    """Walk the chain: (entries checked, problems, the head: the last entry's hash). No problems: no
    entry was changed, inserted or removed (the head, noted elsewhere, pins the end)."""
    with store.connect() as conn:
        log = audit_log(conn)
        count, problems = log.verify()
        return count, problems, log.head()


def entry_json(entry: LogEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at, "event": entry.event, "data": entry.data, "prev": entry.prev,
            "hash": entry.hash}
