"""Lists in a store: create, find, describe, revoke entries, read entries back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, func, null, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InputUnusable, InvalidValue, NotFound, UsageError
from ..store import Store, as_utc
from ..store.schema import entries, imports, lists
from .model import Record, signals_from_json
from .provenance import now, record_action
from .settings import ListSettings
from .windows import window_signals

__all__ = [
    "ListKind",
    "ListInfo",
    "ImportInfo",
    "create_list",
    "describe_list",
    "get_list",
    "find_list",
    "all_lists",
    "list_imports",
    "iter_records",
    "page_records",
    "revoke",
    "update_settings",
    "change_list",
    "settings_of",
    "check_list_name",
]


class ListKind(StrEnum):
    BLOCK = "block"  # known abuse media: a match is a hit
    ALLOW = "allow"  # known benign media: a match suppresses hits on the same query

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ListInfo:
    id: int
    name: str
    source: str | None
    kind: ListKind
    settings: ListSettings
    created_at: datetime
    updated_at: datetime
    content_version: int
    active: int = 0
    revoked: int = 0


@dataclass(frozen=True)
class ImportInfo:
    id: int
    action: str
    format: str | None
    file_name: str | None
    file_sha256: str | None
    started_at: datetime
    finished_at: datetime | None
    added: int
    updated: int
    unchanged: int
    revoked: int
    notes: dict[str, int]


def check_list_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > 200 or any(ord(c) < 32 for c in clean):
        raise UsageError(f"a list name is 1-200 printable characters, not {name!r}")
    return clean


def _info(row: object, counts: tuple[int, int] = (0, 0)) -> ListInfo:
    r = row._mapping  # type: ignore[attr-defined]
    return ListInfo(
        id=r["id"], name=r["name"], source=r["source"], kind=ListKind(r["kind"]),
        settings=ListSettings.from_json(r["settings"]), created_at=as_utc(r["created_at"]),
        updated_at=as_utc(r["updated_at"]), content_version=r["content_version"],
        active=counts[0], revoked=counts[1],
    )


def create_list(conn: Connection, name: str, *, source: str | None = None, kind: ListKind = ListKind.BLOCK,
                settings: ListSettings | None = None) -> ListInfo:
    name = check_list_name(name)
    stamp = now()
    try:
        with conn.begin_nested():
            conn.execute(lists.insert().values(
                name=name, source=source, kind=kind.value, settings=(settings or ListSettings()).to_json(),
                created_at=stamp, updated_at=stamp, content_version=0))
    except IntegrityError as exc:
        raise UsageError(f"a list named {name!r} exists already") from exc
    return get_list(conn, name)


def find_list(conn: Connection, name: str) -> ListInfo | None:
    row = conn.execute(select(lists).where(lists.c.name == name)).first()
    return None if row is None else _info(row)


def get_list(conn: Connection, name: str) -> ListInfo:
    found = find_list(conn, name)
    if found is None:
        known = conn.execute(select(lists.c.name).order_by(lists.c.name).limit(20)).scalars().all()
        hint = f"; lists here: {', '.join(known)}" if known else "; this database has no lists yet"
        raise NotFound(f"no list named {name!r}{hint}")
    return found


def _counts(conn: Connection, list_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    query = select(entries.c.list_id, entries.c.revoked, func.count()).group_by(entries.c.list_id, entries.c.revoked)
    if list_ids is not None:
        query = query.where(entries.c.list_id.in_(list_ids))
    out: dict[int, list[int]] = {}
    for list_id, revoked, count in conn.execute(query):
        out.setdefault(list_id, [0, 0])[1 if revoked else 0] += count
    return {k: (v[0], v[1]) for k, v in out.items()}


def all_lists(store: Store, *, with_counts: bool = True) -> list[ListInfo]:
    with store.connect() as conn:
        rows = conn.execute(select(lists).order_by(lists.c.name)).all()
        counts = _counts(conn) if with_counts else {}
    return [_info(r, counts.get(r._mapping["id"], (0, 0))) for r in rows]


def describe_list(store: Store, name: str) -> ListInfo:
    with store.connect() as conn:
        info = get_list(conn, name)
        counts = _counts(conn, [info.id]).get(info.id, (0, 0))
    return _info_with(info, counts)


def _info_with(info: ListInfo, counts: tuple[int, int]) -> ListInfo:
    return replace(info, active=counts[0], revoked=counts[1])


def list_imports(store: Store, name: str, *, limit: int = 20) -> list[ImportInfo]:
    with store.connect() as conn:
        info = get_list(conn, name)
        rows = conn.execute(select(imports).where(imports.c.list_id == info.id)
                            .order_by(imports.c.id.desc()).limit(limit)).all()
    return [ImportInfo(
        id=r.id, action=r.action, format=r.format, file_name=r.file_name, file_sha256=r.file_sha256,
        started_at=as_utc(r.started_at), finished_at=as_utc(r.finished_at) if r.finished_at else None,
        added=r.added, updated=r.updated, unchanged=r.unchanged, revoked=r.revoked,
        notes=json.loads(r.notes) if r.notes else {},
    ) for r in rows]


def settings_of(base: ListSettings, settings: ListSettings | Mapping[str, object] | None) -> ListSettings:
    """``settings`` as a list's whole settings: given whole, or as changes by name to ``base``
    (checked: UsageError for an unknown name or a value out of range)."""
    if settings is None:
        return base
    return settings if isinstance(settings, ListSettings) else base.changed(settings)


def change_list(conn: Connection, info: ListInfo, *, settings: ListSettings | Mapping[str, object] | None = None,
                source: str | None = None, kind: ListKind | None = None) -> ListInfo:
    """Set a list's match settings (whole, or changes by name), source and kind, in ``conn``'s transaction;
    what is None stays as it is."""
    values: dict[str, object] = {"updated_at": now()}
    if settings:
        values["settings"] = settings_of(info.settings, settings).to_json()
    if source is not None:
        values["source"] = source
    if kind is not None:
        values["kind"] = kind.value
    conn.execute(update(lists).where(lists.c.id == info.id).values(**values))
    return get_list(conn, info.name)


def update_settings(store: Store, name: str, *, settings: ListSettings | Mapping[str, object] | None = None,
                    source: str | None = None, kind: ListKind | None = None) -> ListInfo:
    with store.begin() as conn:
        return change_list(conn, get_list(conn, name), settings=settings, source=source, kind=kind)


def iter_records(store: Store, name: str, *, include_revoked: bool = True, derived: bool = True,
                 batch: int = 10_000) -> Iterator[Record]:
    """Every entry of a list as a record, in insertion order, in bounded memory.

    ``derived=False`` leaves out the derived windows of media-backed entries (not even read), as
    exports do.
    """
    windows_column = entries.c.windows if derived else null().label("windows")
    with store.connect() as conn:
        info = get_list(conn, name)
        last = -1
        while True:
            query = (select(entries.c.pk, entries.c.entry_id, entries.c.signals, windows_column, entries.c.category,
                            entries.c.category_scheme, entries.c.meta, entries.c.revoked)
                     .where(entries.c.list_id == info.id, entries.c.pk > last)
                     .order_by(entries.c.pk).limit(batch))
            if not include_revoked:
                query = query.where(entries.c.revoked.is_(False))
            rows = conn.execute(query).all()
            if not rows:
                return
            for r in rows:
                signals = signals_from_json(r.signals)
                if not derived:
                    signals = [s for s in signals if s.derived is None]
                yield Record(r.entry_id, signals + window_signals(r.windows), r.category, r.category_scheme,
                             json.loads(r.meta), bool(r.revoked))
            last = rows[-1].pk


def page_records(store: Store, name: str, *, after: int | None = None, limit: int = 100,
                 derived: bool = False) -> tuple[list[Record], int | None]:
    """One page of a list's entries in insertion order, revoked ones too: the records after the cursor
    ``after`` (None: from the start), and the cursor of the next page (None: this was the last).
    ``derived=False`` leaves the derived windows of media-backed entries out (not even read)."""
    if not 1 <= limit <= 10_000:
        raise InvalidValue(f"a page holds 1-10,000 entries, not {limit}")
    windows_column = entries.c.windows if derived else null().label("windows")
    with store.connect() as conn:
        info = get_list(conn, name)
        rows = conn.execute(
            select(entries.c.pk, entries.c.entry_id, entries.c.signals, windows_column, entries.c.category,
                   entries.c.category_scheme, entries.c.meta, entries.c.revoked)
            .where(entries.c.list_id == info.id, entries.c.pk > (-1 if after is None else after))
            .order_by(entries.c.pk).limit(limit + 1)).all()
    records = []
    for r in rows[:limit]:
        signals = signals_from_json(r.signals)
        if not derived:
            signals = [s for s in signals if s.derived is None]
        records.append(Record(r.entry_id, signals + window_signals(r.windows), r.category, r.category_scheme,
                              json.loads(r.meta), bool(r.revoked)))
    return records, (int(rows[limit - 1].pk) if len(rows) > limit else None)


def revoke(store: Store, name: str, ids: Sequence[str]) -> int:
    """Revoke entries by id, all or none: an unknown id changes nothing and says which.

    Revoked entries stop matching at once (matches are checked against the store).
    Returns how many entries were newly revoked.
    """

    wanted = sorted({i.strip() for i in ids if i.strip()})
    if not wanted:
        raise UsageError("name at least one entry id to revoke")
    with store.begin() as conn:
        info = get_list(conn, name)
        found: dict[str, bool] = {}
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start:start + 5000]
            for entry_id, revoked in conn.execute(select(entries.c.entry_id, entries.c.revoked).where(
                    entries.c.list_id == info.id, entries.c.entry_id.in_(chunk))):
                found[entry_id] = bool(revoked)
        missing = [i for i in wanted if i not in found]
        if missing:
            shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
            raise InputUnusable(f"{len(missing)} id(s) not in list {name!r}: {shown}; nothing was revoked")
        todo = [i for i in wanted if not found[i]]
        with record_action(conn, info.id, "revoke") as action:
            for start in range(0, len(todo), 5000):
                conn.execute(update(entries).where(entries.c.list_id == info.id,
                                                   entries.c.entry_id.in_(todo[start:start + 5000]))
                             .values(revoked=True, last_import_id=action.id))
            action.revoked = len(todo)
            action.unchanged = len(wanted) - len(todo)
        return len(todo)
