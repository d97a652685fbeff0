"""A scan, end to end: walk the evidence, read and hash it on every core, match, checkpoint, report.

The main process is the only writer of the case database. Workers read evidence entries (a
file and, for an archive, all its members), hash and match each new content (``checking``) and
return items in walk order, an archive's in parts, through an executor (:mod:`vigil.run`: the
local process pool by default); the main process commits items, contents, pictures of hits and the
checkpoint together, about once a second. A scan killed at any moment resumes from its last
commit and produces the same report as a scan never interrupted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import select

from .. import __version__
from ..errors import InputUnusable, UsageError
from ..evidence.containers import ArchiveLimits
from ..evidence.custody import utc_now
from ..evidence.sources import display_path
from ..evidence.walk import Entry, walk_evidence
from ..hashing import HashOptions
from ..matching import Matcher
from ..reports import REPORT_FILES
from ..run import Executor, LocalExecutor
from ..signals import pdq
from ..store import Store
from ..store.schema import entries
from .casedb import CaseDB
from .casereport import MAX_PICTURES, write_reports
from .checking import ListCheck
from .progress import ScanProgress
from .reading import Content, EntryRows, Item, ReadOptions, ReadSpec, ReadTask, read_entry

__all__ = ["ScanOptions", "ScanProgress", "ScanOutcome", "run_scan", "list_fingerprints", "check_paths", "open_case"]

_COMMIT_SECONDS = 1.0
_COMMIT_ENTRIES = 500


@dataclass(frozen=True)
class ScanOptions:
    evidence: Sequence[str]
    out: Path
    case: str
    lists: Sequence[str] | None = None  # None: every list in the store
    resume: bool = False
    jobs: int | None = None
    hashing: HashOptions = field(default_factory=lambda: HashOptions(variants=True))
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    temp_dir: str | None = None  # where archive members over 64 MiB are spooled while hashed (None: the system's)


@dataclass(frozen=True)
class ScanOutcome:
    out: Path
    items: int
    hits: int
    errors: int
    report_files: list[Path]
    log_head: str = ""  # the hash of the case log's last entry: pins the whole chain


def _inside(child: str, parent: str) -> bool:
    child, parent = os.path.realpath(child), os.path.realpath(parent)
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def check_paths(evidence: Sequence[str], out: Path, temp_dir: str | None = None) -> None:
    if not evidence:
        raise UsageError("name at least one evidence folder or file to scan")
    if temp_dir is not None and not os.path.isdir(temp_dir):
        raise InputUnusable(f"--temp-dir {display_path(temp_dir)!r} is not a folder")
    for path in evidence:
        if temp_dir is not None and os.path.isdir(path) and _inside(temp_dir, path):
            raise UsageError(f"--temp-dir {display_path(temp_dir)!r} is inside the evidence: evidence is never "
                             "written, choose another")
        if not os.path.lexists(path):
            raise InputUnusable(f"evidence {display_path(path)!r} does not exist")
        if os.path.isdir(path) and _inside(str(out), path):
            raise UsageError(f"the output folder {display_path(out)!r} is inside the evidence "
                             f"{display_path(path)!r}: evidence is never written, choose --out elsewhere")
        if _inside(path, str(out)):
            raise UsageError(f"the evidence {display_path(path)!r} is inside the output folder "
                             f"{display_path(out)!r}: choose --out elsewhere")


def list_fingerprints(store: Store, matcher: Matcher) -> list[dict[str, object]]:
    """Name, kind, entry counts and a content hash of each list used (what the report records)."""
    out: list[dict[str, object]] = []
    with store.connect() as conn:
        for info in matcher.lists:
            h = hashlib.sha256()
            active = revoked = 0
            last = -1
            while True:
                rows = conn.execute(select(entries.c.pk, entries.c.entry_id, entries.c.content_hash,
                                           entries.c.revoked)
                                    .where(entries.c.list_id == info.id, entries.c.pk > last)
                                    .order_by(entries.c.pk).limit(50_000)).all()
                if not rows:
                    break
                for r in rows:
                    h.update(f"{r.entry_id}\t{r.content_hash}\t{int(bool(r.revoked))}\n".encode())
                    if r.revoked:
                        revoked += 1
                    else:
                        active += 1
                last = rows[-1].pk
            out.append({"name": info.name, "kind": str(info.kind), "source": info.source, "entries": active,
                        "revoked": revoked, "content_sha256": h.hexdigest(),
                        "settings": info.settings.as_dict()})
    return out


class _Writer:
    """The main process's writes between two checkpoints: one open transaction that items, contents and
    pictures stream into (rows in chunks, so an archive of a million members is never all in memory),
    committed with the checkpoint they complete. Workers read committed contents only."""

    _CHUNK = 1000

    def __init__(self, case: CaseDB, done_entries: int, done_bytes: int) -> None:
        self.case = case
        self.conn = case.conn
        self.done_entries = done_entries
        self.done_bytes = done_bytes
        self.entries = 0  # evidence entries since the last commit
        self.rows: list[tuple[object, ...]] = []
        self.last_path = ""
        self._open = False
        self._marked = False

    def _begin(self) -> None:
        if not self._open:
            self.conn.execute("BEGIN IMMEDIATE")
            self._open = True

    def item(self, row: tuple[object, ...]) -> None:
        self._begin()
        self.rows.append(row)
        if len(self.rows) >= self._CHUNK:
            self._flush()

    def _flush(self) -> None:
        self.conn.executemany("INSERT INTO items (seq, top, parent, name, path, kind, size, md5, sha1, sha256, "
                              "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.rows)
        self.rows.clear()

    def amend(self, seq: int, error: str) -> bool:
        """Add to the error of a row already written (an archive's, learnt after its members);
        whether the row had none before."""
        self._begin()
        if self.rows:
            self._flush()
        before = self.conn.execute("SELECT error FROM items WHERE seq = ?", (seq,)).fetchone()[0]
        self.conn.execute("UPDATE items SET error = ? WHERE seq = ?",
                          (error if before is None else f"{before}; {error}", seq))
        return before is None

    def entry_begins(self) -> None:
        """An entry comes in parts: mark where it begins, so that it can be undone if it fails."""
        self._begin()
        if self.rows:
            self._flush()
        self.conn.execute("SAVEPOINT entry")
        self._marked = True

    def entry_ends(self) -> None:
        if self._marked:
            self.conn.execute("RELEASE entry")
            self._marked = False

    def undo_entry(self) -> None:
        """Drop what the entry marked by :meth:`entry_begins` wrote (it failed: one row stands for it)."""
        self.rows.clear()  # flushed up to the mark, so any left are the entry's
        self.conn.execute("ROLLBACK TO entry")
        self.entry_ends()

    def written(self, sha256: str) -> tuple[bool, bool] | None:
        """(a hit, a decoding error) of a content already written, committed or not; None if new."""
        got = self.conn.execute("SELECT matches, error FROM contents WHERE sha256 = ?", (sha256,)).fetchone()
        return None if got is None else (got[0] != "[]", got[1] is not None)

    def content(self, row: tuple[object, ...]) -> None:
        self._begin()
        self.conn.execute("INSERT OR IGNORE INTO contents (sha256, kind, format, signals, matches, allowed, error) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", row)

    def picture(self, row: tuple[object, ...]) -> None:
        self._begin()
        self.conn.execute("INSERT OR IGNORE INTO thumbs (sha256, data, frames, error) VALUES (?, ?, ?, ?)", row)

    def entry_done(self, size: int, path: str) -> None:
        self.entries += 1
        self.done_entries += 1
        self.done_bytes += size
        self.last_path = path

    def commit(self, *, final: bool = False) -> None:
        self._begin()
        if self.rows:
            self._flush()
        if self.entries:
            self.case.put(self.conn, "done_entries", self.done_entries)
            self.case.put(self.conn, "done_bytes", self.done_bytes)
            self.case.put(self.conn, "last_entry", os.fsencode(self.last_path).hex())
        if final:
            self.case.put(self.conn, "state", "reporting")
            self.case.put(self.conn, "finished", utc_now())
            self.case.log.append("scan finished", {"entries": self.done_entries, "bytes": self.done_bytes})
        self.conn.execute("COMMIT")
        self._open = False
        self.entries = 0

    def abandon(self) -> None:
        """What was not committed is redone by --resume: drop it."""
        if self._open:
            self.conn.execute("ROLLBACK")
            self._open = False
            self._marked = False
            self.rows.clear()


def run_scan(options: ScanOptions, store: Store, *, progress: ScanProgress | None = None,
             on_compile: Callable[[str], None] | None = None, executor: Executor | None = None) -> ScanOutcome:
    """Scan (or finish scanning) the evidence into ``options.out``; write the reports. ``executor``
    reads the evidence (default: a :class:`~vigil.run.LocalExecutor` of ``options.jobs`` processes)."""
    progress = progress or ScanProgress()
    out = options.out
    check_paths(options.evidence, out, options.temp_dir)
    has_case = (out / "case.db").exists()
    if has_case and not options.resume:
        raise UsageError(f"{display_path(out)} holds a scan already: add --resume to finish it, "
                         "or choose another --out")
    if options.resume and not has_case:
        raise UsageError(f"there is no scan to resume in {display_path(out)} (no case.db)")
    matcher = Matcher(store, options.lists, on_compile=on_compile)  # an unknown list: refused before any write
    fingerprints = list_fingerprints(store, matcher)
    out.mkdir(parents=True, exist_ok=True)
    # Items are named from the absolute evidence paths: unambiguous in a report, and a resumed
    # scan walks the same names from any working folder.
    paths = [os.path.abspath(p) for p in options.evidence]
    evidence = [display_path(p) for p in paths]
    case = CaseDB.open(out, create=True)
    try:
        state = case.get("state")
        with case.transaction() as conn:
            if state is None:
                case.put(conn, "case", options.case)
                case.put(conn, "evidence", evidence)
                case.put(conn, "lists", fingerprints)
                case.put(conn, "tool", f"vigil {__version__}")
                case.put(conn, "started", utc_now())
                case.put(conn, "options", _options_record(options))
                case.put(conn, "state", "scanning")
                case.put(conn, "done_entries", 0)
                case.put(conn, "done_bytes", 0)
                case.log.append("scan started", {
                    "case": options.case, "tool": f"vigil {__version__}", "evidence": evidence,
                    "lists": fingerprints, "options": _options_record(options), "user": _user(),
                    "host": os.uname().nodename})
            else:
                _check_resume(case, options, evidence, fingerprints)
            if state not in (None, "finished"):
                case.log.append("scan resumed", {
                    "state": state, "done_entries": case.get("done_entries"), "user": _user(),
                    "host": os.uname().nodename})
        if state == "finished":  # nothing left to do: the reports stand as the log recorded them
            files = [out / name for name in REPORT_FILES]
        else:
            if case.get("state") == "scanning":
                _scan(case, options, paths, matcher, progress, executor or LocalExecutor(options.jobs))
            progress.stage("writing the reports")
            files = write_reports(case, out)
        summary = case.get("summary", {})
        head = case.log.head() or ""
        return ScanOutcome(out, summary["items"], summary["hits"]["items"], summary["errors"], files, head)
    finally:
        case.close()


def _user() -> str:
    try:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - not a Unix account
        return str(os.getuid())


def _options_record(options: ScanOptions) -> dict[str, object]:
    """Every option that can change what the report says: a resumed scan must use the same.

    Left out, as they change only speed or where temporary files go: jobs, temp_dir, video_threads.
    New keys go at the end (report.json's ``options`` block keeps its names and order).
    """
    h = options.hashing
    a = options.archives
    return {"mode": str(h.mode), "seconds_per_hash": h.seconds_per_hash, "variants": h.variants,
            "max_pixels": h.limits.max_pixels, "max_seconds": h.limits.max_seconds,
            "archive_depth": a.max_depth, "max_member_bytes": a.max_member_bytes, "max_ratio": a.max_ratio,
            "dihedral": h.dihedral, "derived": h.derived, "windows": h.windows,
            "max_frame_pixels": h.limits.max_frame_pixels, "ratio_floor_bytes": a.ratio_floor_bytes,
            "max_members": a.max_members, "max_archive_bytes": a.max_archive_bytes}


def _check_resume(case: CaseDB, options: ScanOptions, evidence: list[str],
                  fingerprints: list[dict[str, object]]) -> None:
    if case.get("evidence") != evidence:
        raise UsageError("--resume must name the same evidence as the scan it finishes: "
                         + ", ".join(case.get("evidence") or []))
    if case.get("case") != options.case:
        raise UsageError(f"--resume must name the same --case as the scan it finishes: {case.get('case')!r}")
    if case.get("options") != _options_record(options):
        raise UsageError("--resume must use the options of the scan it finishes: "
                         + orjson.dumps(case.get("options")).decode())
    before = case.get("lists") or []
    if before != fingerprints:
        names = [str(x["name"]) for x in before]
        raise UsageError("the lists changed since this scan began (or other lists were named): "
                         f"it used {', '.join(names)}; a resumed scan must match against the same lists")


def _count(evidence: Sequence[str], progress: ScanProgress, stop: threading.Event) -> None:
    files = size = 0
    last = time.monotonic()
    for entry in walk_evidence(list(evidence)):
        if stop.is_set():
            return
        files += 1
        size += entry.size
        if time.monotonic() - last > 0.5:
            progress.counted(files, size, False)
            last = time.monotonic()
    progress.counted(files, size, True)


def _entries_after(case: CaseDB, evidence: Sequence[str]) -> Iterator[Entry]:
    """The evidence walk, past the entries a previous run committed (checked to be the same)."""
    done = int(case.get("done_entries", 0))
    last = case.get("last_entry")
    walk = walk_evidence(list(evidence))
    seen = 0
    for seen, entry in enumerate(walk, 1):
        if seen < done:
            continue
        if seen == done:
            if os.fsencode(entry.path).hex() != last:
                raise InputUnusable(f"the evidence changed since the scan began: entry {seen} is now "
                                    f"{display_path(entry.path)!r}; start a new scan in another --out")
            continue
        yield entry
    if seen < done:
        raise InputUnusable(f"the evidence changed since the scan began: it holds {seen} entries, the scan had "
                            f"read {done}; start a new scan in another --out")


def _timeout(base: float) -> Callable[[ReadTask], float]:
    # An archive is one task: allow for reading it at a slow 5 MB/s on top of one file's limit.
    return lambda task: base + task.entry.size / 5e6


def _scan(case: CaseDB, options: ScanOptions, paths: list[str], matcher: Matcher, progress: ScanProgress,
          executor: Executor) -> None:
    hashing = options.hashing
    if matcher.wants_windows:
        # A worker matches what it hashes: a photo's windows come in two steps, the rest only when
        # one of the first came near a listed window (variants.QueryWindows).
        hashing = dataclasses.replace(hashing, windows=True, windows_in_steps=True)
    read_options = ReadOptions(hashing, options.archives, options.temp_dir, ListCheck(matcher))
    # Workers that see the case database skip contents the case has hashed already; others hash
    # them again and the first written stands (the report is the same either way).
    spec = ReadSpec(read_options, str(case.path) if executor.local else None)
    done_entries = int(case.get("done_entries", 0))
    done_bytes = int(case.get("done_bytes", 0))
    next_seq = (case.conn.execute("SELECT max(seq) FROM items").fetchone()[0] or 0) + 1
    pictured = case.conn.execute("SELECT count(*) FROM thumbs").fetchone()[0]
    progress.started(done_entries, done_bytes)
    pdq.warm_up()
    tasks = (ReadTask(entry) for entry in _entries_after(case, paths))
    parts = executor.stream(read_entry, tasks, spec=spec, timeout=_timeout(hashing.limits.max_seconds + 30.0),
                            on_timeout=_timed_out, on_crash=_crashed)
    stop = threading.Event()
    counter = threading.Thread(target=_count, args=(paths, progress, stop), daemon=True)
    counter.start()
    writer = _Writer(case, done_entries, done_bytes)
    last_commit = time.monotonic()
    try:
        in_entry = False  # parts of an entry have come, not yet its last
        first_seq, pictured_before, first, hits, errors = next_seq, pictured, None, 0, 0
        for part in parts:
            if not in_entry:  # an entry's first part
                first_seq, pictured_before, first, hits, errors = next_seq, pictured, None, 0, 0
                if not part.last:
                    in_entry = True
                    writer.entry_begins()
            elif part.failed:  # the entry failed after some of its parts: its one error row stands alone
                writer.undo_entry()
                next_seq, pictured, first, hits, errors = first_seq, pictured_before, None, 0, 0
            rows = part.value
            for item in rows.items:
                first = first or item
                writer.item(_item_row(next_seq, writer.done_entries + 1, item, first_seq))
                next_seq += 1
                hit = content_error = False
                if item.digests is not None:
                    state = writer.written(item.digests.sha256)
                    if state is None and item.content is not None:
                        pictured = _add_content(item.digests.sha256, item.content, writer, pictured)
                        state = (bool(item.content.matches), item.content.error is not None)
                    hit, content_error = state or (False, False)
                hits += hit
                errors += item.error is not None or content_error
            for index, error in rows.amends:  # an archive's row: an archive's content has no error of its own
                errors += writer.amend(first_seq + index, error)
            if not part.last:
                continue
            if in_entry:
                in_entry = False
                writer.entry_ends()
            size = (first.size or 0) if first is not None else 0
            writer.entry_done(size, first.path if first is not None else "")
            progress.advanced(next_seq - first_seq, size, hits, errors)
            if writer.entries >= _COMMIT_ENTRIES or time.monotonic() - last_commit > _COMMIT_SECONDS:
                writer.commit()
                last_commit = time.monotonic()
        writer.commit(final=True)
    finally:
        writer.abandon()
        stop.set()


def _item_row(seq: int, top: int, item: Item, first_seq: int) -> tuple[object, ...]:
    d = item.digests
    parent = first_seq + item.parent if item.parent is not None else None
    name = os.fsencode(item.name) if item.name is not None else None
    return (seq, top, parent, name, os.fsencode(item.path), item.kind, item.size,
            d.md5 if d else None, d.sha1 if d else None, d.sha256 if d else None, item.error)


def _add_content(sha256: str, content: Content, writer: _Writer, pictured: int) -> int:
    """Write a new content (and the picture of a hit, for the first MAX_PICTURES); the count pictured.
    When two workers hashed copies at once, the first one written stands (the caller asks first)."""
    writer.content((sha256, content.kind, content.format, orjson.dumps(content.signals).decode(),
                    orjson.dumps(content.matches).decode(), orjson.dumps(content.allowed).decode(), content.error))
    if content.matches and content.kind in ("image", "video") and pictured < MAX_PICTURES:
        writer.picture((sha256, content.picture, content.picture_frames,
                        None if content.picture is not None else content.picture_error or "no picture"))
        pictured += 1
    return pictured


def _timed_out(task: ReadTask, seconds: float) -> EntryRows:
    entry = task.entry
    return EntryRows([Item(entry.path, None, None, "error", entry.size,
                           error=f"reading took longer than {seconds:,.0f} s; stopped")])


def _crashed(task: ReadTask, reason: str) -> EntryRows:
    entry = task.entry
    return EntryRows([Item(entry.path, None, None, "error", entry.size, error=f"the reader crashed ({reason})")])


def open_case(out: Path) -> CaseDB:
    try:
        return CaseDB.open(out, create=False)
    except (FileNotFoundError, sqlite3.Error) as exc:
        raise InputUnusable(f"{display_path(out)} holds no readable case database: {exc}") from exc
