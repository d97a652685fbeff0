"""Importing records into a list: upsert by entry id, all or nothing, in bounded memory.

Re-importing an updated file updates changed entries, revokes what it says is revoked
(and, with ``replace``, what it no longer lists), and never duplicates an entry. The
whole import is one transaction: a malformed record anywhere in the file leaves the
list as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, Connection, MetaData, Table, Text, insert, select, update

from ..errors import InputUnusable
from ..evidence.sources import display_path, open_readonly
from ..signals import SIGNALS
from ..store import Store, param_mark
from ..store.schema import entries
from .catalog import ListKind, change_list, create_list, find_list, get_list, settings_of
from .formats import detect_format, get_format
from .model import Record
from .provenance import Action, record_action
from .reading import FileRows
from .rows import PreparedRows, Row, prepared_batches
from .settings import ListSettings

__all__ = [
    "ImportResult", "import_file", "import_records",
]

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

    def to_json(self) -> dict[str, object]:
        """What ``vigil lists import --json`` prints and an import job's ``result`` holds."""
        return {"list": self.list_name, "import": self.import_id, "format": self.format, "sha256": self.file_sha256,
                "records": self.records, "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "revoked": self.revoked, "skipped": self.skipped}

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged",
                 f"{self.revoked} revoked"]
        text = f"{self.list_name}: {self.records} records read; " + ", ".join(parts)
        if self.skipped:
            text += "; skipped: " + "; ".join(f"{n} × {why}" for why, n in sorted(self.skipped.items()))
        return text


def _matchable(signals_json: str, windows: bytes | None) -> tuple[str, bytes | None]:
    """The matchable part of an entry's signals: when it changes, match indexes must be rebuilt
    (derived windows are PDQ hashes: all matchable)."""
    items = [s for s in json.loads(signals_json) if s[0] in SIGNALS]
    return json.dumps(items, sort_keys=True), None if windows is None else bytes(windows)


_INSERT_COLUMNS = ("list_id", "entry_id", "category", "category_scheme", "meta", "signals", "windows",
                   "content_hash", "revoked", "first_import_id", "last_import_id")


def _insert_sql(conn: Connection) -> str:
    # A plain executemany with tuples: SQLAlchemy's per-row parameter processing is most of an
    # import's time otherwise (measured), and these columns need no conversion.
    marks = ", ".join([param_mark(conn)] * len(_INSERT_COLUMNS))
    return f"INSERT INTO entries ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})"


def _existing_sql(conn: Connection, n: int) -> str:
    # Written out, not built with SQLAlchemy: compiling a query of 5,000 bound ids took a tenth of an import.
    ids = ", ".join([param_mark(conn)] * n)
    return ("SELECT entry_id, pk, content_hash, revoked, signals, windows FROM entries "
            f"WHERE list_id = {param_mark(conn)} AND entry_id IN ({ids})")


def _apply(conn: Connection, list_id: int, act: Action, batch: list[Row]) -> None:
    latest: dict[str, Row] = {}
    for row in batch:  # the same id twice in a file: the later record wins
        latest[row.entry_id] = row
    existing = {old.entry_id: old for old in conn.exec_driver_sql(_existing_sql(conn, len(latest)),
                                                                  (list_id, *latest))}
    new_rows: list[tuple[object, ...]] = []
    for entry_id, row in latest.items():
        old = existing.get(entry_id)
        if old is None:
            new_rows.append((list_id, entry_id, row.category, row.category_scheme, row.meta_json, row.signals_json,
                             row.windows, row.digest, row.revoked, act.id, act.id))
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
            signals=row.signals_json, windows=row.windows, content_hash=row.digest, revoked=row.revoked,
            last_import_id=act.id))
        if row.revoked and not old.revoked and row.digest == old.content_hash:
            act.revoked += 1
        else:
            act.updated += 1
        if row.digest != old.content_hash and (
                _matchable(row.signals_json, row.windows) != _matchable(old.signals, old.windows)):
            act.content_changed = True
    if new_rows:
        conn.exec_driver_sql(_insert_sql(conn), new_rows)


_seen_meta = MetaData()
_seen = Table("vigil_seen_ids", _seen_meta, Column("entry_id", Text, primary_key=True), prefixes=["TEMPORARY"])


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
    finish: Callable[[Action], None] | None = None,
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
        with record_action(conn, info.id, action, format=format, file_name=file_name) as act:
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
        def finish(act: Action) -> None:
            act.file_sha256, act.file_size, act.notes = rows.sha256, rows.size, rows.notes

        return import_records(store, list_name, PreparedRows(rows.batches()), action="import", format=fmt.name,
                              file_name=Path(os.fsdecode(path)).name, replace=replace, source=source, kind=kind,
                              settings=settings, finish=finish)
