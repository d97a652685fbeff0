"""Importing records into a list: upsert by entry id, all or nothing, in bounded memory.

Re-importing an updated file updates changed entries, revokes what it says is revoked
(and, with ``replace``, what it no longer lists), and never duplicates an entry. The
whole import is one transaction: a malformed record anywhere in the file leaves the
list as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Column, Connection, MetaData, Table, Text, insert, select, update

from ..errors import InputUnusable, StoreUnusable
from ..evidence.sources import display_path, open_readonly
from ..store import Store
from ..store.schema import entries, imports, lists
from .catalog import ListInfo, ListKind, change_list, create_list, find_list, get_list, now, settings_of
from .formats import detect_format, get_format
from .model import MATCHABLE, Record, metadata_to_json, signals_to_json
from .settings import ListSettings

__all__ = [
    "BATCH", "ImportResult", "PreparedRows", "Row", "import_file", "import_records", "prepare", "record_action",
]

BATCH = 5000  # records per round trip: bounded memory, and few enough parameters for every database
_HEAD = 64 << 10


@dataclass
class ImportResult:
    list_name: str
    import_id: int = 0
    format: str | None = None
    file_sha256: str | None = None
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    content_changed: bool = False

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged",
                 f"{self.revoked} revoked"]
        text = f"{self.list_name}: {self.records} records read; " + ", ".join(parts)
        if self.skipped:
            text += "; skipped: " + "; ".join(f"{n} × {why}" for why, n in sorted(self.skipped.items()))
        return text


@dataclass
class _Action:
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
def record_action(conn: Connection, info: ListInfo, action: str, *, format: str | None = None,
                  file_name: str | None = None) -> Iterator[_Action]:
    """The provenance row of one change to a list, finished (counts, time) when the block ends."""
    result = conn.execute(insert(imports).values(
        list_id=info.id, action=action, format=format, file_name=file_name, started_at=now(),
        added=0, updated=0, unchanged=0, revoked=0))
    pk = result.inserted_primary_key
    if pk is None:
        raise StoreUnusable("the database did not return the new import's id")
    act = _Action(id=int(pk[0]))
    yield act
    stamp = now()
    conn.execute(update(imports).where(imports.c.id == act.id).values(
        finished_at=stamp, added=act.added, updated=act.updated, unchanged=act.unchanged, revoked=act.revoked,
        file_sha256=act.file_sha256, file_size=act.file_size, notes=json.dumps(act.notes) if act.notes else None))
    values: dict[str, object] = {"updated_at": stamp}
    if act.content_changed:
        values["content_version"] = lists.c.content_version + 1
    conn.execute(update(lists).where(lists.c.id == info.id).values(**values))


class Row(NamedTuple):
    """A record made ready to store (encoded where the file is read, maybe in another process)."""

    entry_id: str
    category: str | None
    category_scheme: str | None
    meta_json: str
    signals_json: str
    digest: str  # of what the entry says (not its id, not whether it is revoked)
    revoked: bool
    tombstone: bool  # a deletion notice: an id and nothing else
    matchable: bool  # has a signal Vigil matches


def prepare(record: Record) -> Row:
    signals_json = signals_to_json(record.signals)
    meta_json = metadata_to_json(record.metadata)
    text = "\x00".join((signals_json, record.category or "", record.category_scheme or "", meta_json))
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
    return Row(record.id, record.category, record.category_scheme, meta_json, signals_json, digest,
               record.revoked, record.revoked and not record.signals,
               any(s.type in MATCHABLE for s in record.signals))


def prepared_batches(records: Iterable[Record], size: int = BATCH) -> Iterator[list[Row]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield [prepare(r) for r in chunk]


def _matchable(signals_json: str) -> str:
    """The matchable part of a signals list: when it changes, match indexes must be rebuilt."""
    items = [s for s in json.loads(signals_json) if s[0] in MATCHABLE]
    return json.dumps(items, sort_keys=True)


_INSERT_COLUMNS = ("list_id", "entry_id", "category", "category_scheme", "meta", "signals", "content_hash",
                   "revoked", "first_import_id", "last_import_id")


def _insert_sql(conn: Connection) -> str:
    # A plain executemany with tuples: SQLAlchemy's per-row parameter processing is most of an
    # import's time otherwise (measured), and these columns need no conversion.
    marks = ", ".join(["?" if conn.dialect.paramstyle == "qmark" else "%s"] * len(_INSERT_COLUMNS))
    return f"INSERT INTO entries ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})"


def _apply(conn: Connection, list_id: int, act: _Action, batch: list[Row]) -> None:
    latest: dict[str, Row] = {}
    for row in batch:  # the same id twice in a file: the later record wins
        latest[row.entry_id] = row
    existing = {old.entry_id: old for old in conn.execute(
        select(entries.c.entry_id, entries.c.pk, entries.c.content_hash, entries.c.revoked, entries.c.signals)
        .where(entries.c.list_id == list_id, entries.c.entry_id.in_(list(latest))))}
    new_rows: list[tuple[object, ...]] = []
    for entry_id, row in latest.items():
        old = existing.get(entry_id)
        if old is None:
            new_rows.append((list_id, entry_id, row.category, row.category_scheme, row.meta_json, row.signals_json,
                             row.digest, row.revoked, act.id, act.id))
            if row.revoked:
                act.revoked += 1
            else:
                act.added += 1
                act.content_changed |= row.matchable
            continue
        if row.tombstone:
            if old.revoked:
                act.unchanged += 1
            else:
                conn.execute(update(entries).where(entries.c.pk == old.pk).values(
                    revoked=True, last_import_id=act.id))
                act.revoked += 1
            continue
        if row.digest == old.content_hash and bool(old.revoked) == row.revoked:
            act.unchanged += 1
            continue
        conn.execute(update(entries).where(entries.c.pk == old.pk).values(
            category=row.category, category_scheme=row.category_scheme, meta=row.meta_json,
            signals=row.signals_json, content_hash=row.digest, revoked=row.revoked, last_import_id=act.id))
        if row.revoked and not old.revoked and row.digest == old.content_hash:
            act.revoked += 1
        else:
            act.updated += 1
        if row.digest != old.content_hash and _matchable(row.signals_json) != _matchable(old.signals):
            act.content_changed = True
    if new_rows:
        conn.exec_driver_sql(_insert_sql(conn), new_rows)


_seen_meta = MetaData()
_seen = Table("vigil_seen_ids", _seen_meta, Column("entry_id", Text, primary_key=True), prefixes=["TEMPORARY"])


@dataclass(frozen=True)
class PreparedRows:
    """Batches of rows already prepared (by a reader process: see ``reading``)."""

    batches: Iterable[list[Row]]


def import_records(
    store: Store,
    list_name: str,
    records: Iterable[Record] | PreparedRows,
    *,
    action: str = "import",
    format: str | None = None,
    file_name: str | None = None,
    replace: bool = False,
    source: str | None = None,
    kind: ListKind | None = None,
    settings: ListSettings | Mapping[str, object] | None = None,
    on_batch: Callable[[int], None] | None = None,
    finish: Callable[[_Action], None] | None = None,
) -> ImportResult:
    """Upsert records into a list (created if it does not exist), in one transaction.

    ``source``, ``kind`` and ``settings`` (whole, or changes by name such as ``{"pdq_threshold": 28}``)
    are the list's: given for a list that exists, they change it in the same transaction.
    ``replace``: the records are the whole list; entries they do not name are revoked.
    ``on_batch`` is told how many records were stored, batch by batch (progress).
    ``finish`` may fill in the provenance (file hash) once the records are exhausted.
    """
    result = ImportResult(list_name=list_name, format=format)
    with store.begin() as conn:
        info = find_list(conn, list_name)
        if info is None:
            info = create_list(conn, list_name, source=source, kind=kind or ListKind.BLOCK,
                               settings=settings_of(ListSettings(), settings))
        elif settings or source is not None or kind is not None:
            info = change_list(conn, info, settings=settings, source=source, kind=kind)
        with record_action(conn, info, action, format=format, file_name=file_name) as act:
            if replace:
                _seen.create(conn, checkfirst=True)
                conn.execute(_seen.delete())
            batches = records.batches if isinstance(records, PreparedRows) else prepared_batches(records)
            for batch in batches:
                _apply(conn, info.id, act, batch)
                if replace:
                    conn.execute(insert(_seen), [{"entry_id": i} for i in {r.entry_id for r in batch}])
                result.records += len(batch)
                if on_batch is not None:
                    on_batch(len(batch))
            if replace:
                gone = conn.execute(update(entries).where(
                    entries.c.list_id == info.id, entries.c.revoked.is_(False),
                    entries.c.entry_id.not_in(select(_seen.c.entry_id))).values(revoked=True, last_import_id=act.id))
                act.revoked += gone.rowcount or 0
                _seen.drop(conn)
            if finish is not None:
                finish(act)
        result.import_id = act.id
        result.added, result.updated, result.unchanged, result.revoked = act.added, act.updated, act.unchanged, \
            act.revoked
        result.skipped = dict(act.notes)
        result.file_sha256 = act.file_sha256
        result.content_changed = act.content_changed
        get_list(conn, list_name)
    return result


def import_file(
    store: Store,
    path: str | os.PathLike[str],
    list_name: str,
    *,
    format: str | None = None,
    signal: str | None = None,
    replace: bool = False,
    source: str | None = None,
    kind: ListKind | None = None,
    settings: ListSettings | Mapping[str, object] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    pipeline: bool | None = None,
) -> ImportResult:
    """Import a hash-list file (format detected from its content unless named).

    ``pipeline``: read the file in a second process (default: for large files, given two cores).
    """
    from .reading import FileRows  # reading builds on this module

    name = display_path(path)
    try:
        with open_readonly(path) as raw:
            if not os.path.isfile(path):
                raise InputUnusable(f"{name} is not a regular file")
            head = raw.read(_HEAD)
    except OSError as exc:
        raise InputUnusable(f"cannot open {name}: {exc.strerror or exc}") from exc
    fmt = get_format(format) if format else detect_format(head)
    with FileRows(path, fmt.name, signal=signal, on_bytes=on_bytes, pipeline=pipeline) as rows:
        def finish(act: _Action) -> None:
            act.file_sha256, act.file_size, act.notes = rows.sha256, rows.size, rows.notes

        return import_records(store, list_name, PreparedRows(rows.batches()), action="import", format=fmt.name,
                              file_name=Path(os.fsdecode(path)).name, replace=replace, source=source, kind=kind,
                              settings=settings, finish=finish)
