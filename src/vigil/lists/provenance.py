"""The provenance of a list's entries: one row per change (an import, add-media, a revocation),
with what it did and when, written in the same transaction as the change, and an entry in the
database's audit log (``vigil.evidence.audit``) saying so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from ..errors import StoreUnusable
from ..evidence.audit import record
from ..store.schema import imports, lists

__all__ = ["Action", "now", "record_action"]


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Action:
    id: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0
    content_changed: bool = False
    file_sha256: str | None = None
    file_size: int | None = None
    notes: dict[str, int] = field(default_factory=dict)


@contextmanager
def record_action(conn: Connection, list_id: int, action: str, *, format: str | None = None,
                  file_name: str | None = None) -> Iterator[Action]:
    """The provenance row of one change to a list, finished (counts, time) when the block ends."""
    result = conn.execute(insert(imports).values(
        list_id=list_id, action=action, format=format, file_name=file_name, started_at=now(),
        added=0, updated=0, unchanged=0, revoked=0))
    pk = result.inserted_primary_key
    if pk is None:
        raise StoreUnusable("the database did not return the new import's id")
    act = Action(id=int(pk[0]))
    yield act
    stamp = now()
    conn.execute(update(imports).where(imports.c.id == act.id).values(
        finished_at=stamp, added=act.added, updated=act.updated, unchanged=act.unchanged, revoked=act.revoked,
        file_sha256=act.file_sha256, file_size=act.file_size, notes=json.dumps(act.notes) if act.notes else None))
    values: dict[str, object] = {"updated_at": stamp}
    if act.content_changed:
        values["content_version"] = lists.c.content_version + 1
    conn.execute(update(lists).where(lists.c.id == list_id).values(**values))
    # Read after the update, which waited for any other change to this list to commit: versions follow
    # the order changes commit in (lists.segments relies on it).
    name, version = conn.execute(select(lists.c.name, lists.c.content_version).where(lists.c.id == list_id)).one()
    conn.execute(update(imports).where(imports.c.id == act.id).values(version_after=version))
    record(conn, "list_changed", list=name, action=action, change=act.id, version=version, added=act.added,
           updated=act.updated, unchanged=act.unchanged, revoked=act.revoked, file=file_name, sha256=act.file_sha256)
