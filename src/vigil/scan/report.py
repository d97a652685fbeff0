"""The scan's reports, written from the case database into the output folder.

* ``report.json``: the contract of DESIGN.md (``case``, ``evidence``, ``summary``, ``items``),
  streamed item by item, so its size never bounds memory;
* ``hits.csv``: one row per hit item and matching entry;
* ``vics-case.json``: the hits as a Project VIC / VICS 2.0 case (``#Cases``), one Media per
  distinct content with every path it was found at, for the tools examiners already use;
* ``report.html``: :mod:`vigil.scan.html`.

Each file is written beside its final name and renamed over it, so a report is either the
old one or the new one, never half of one. The sha256 of every file written goes into the
case log (``reports written``), which ``vigil case verify`` checks against the files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..lists.formats.vics import VicsFormat
from ..lists.model import Record, Signal
from ..media.source import display_path
from .casedb import CaseDB

__all__ = ["REPORT_FILES", "AtomicFile", "Row", "iter_rows", "write_reports", "summarise"]

REPORT_FILES = ("report.json", "hits.csv", "vics-case.json", "report.html")


@dataclass
class Row:
    """One item of the report, joined with its content."""

    seq: int
    path: str  # for display (non-UTF-8 bytes as \\xNN)
    kind: str
    size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    signals: dict[str, Any]
    matches: list[dict[str, Any]]
    allowed: list[dict[str, Any]]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "kind": self.kind, "size": self.size, "md5": self.md5, "sha1": self.sha1,
               "sha256": self.sha256, "signals": self.signals, "matches": self.matches, "error": self.error}
        if self.allowed:
            out["allowed"] = self.allowed
        return out


_ROWS = ("SELECT i.seq, i.path, i.kind, i.size, i.md5, i.sha1, i.sha256, i.error, c.signals, c.matches, c.allowed, "
         "c.error FROM items i LEFT JOIN contents c ON c.sha256 = i.sha256")


def _row(r: tuple[Any, ...]) -> Row:
    errors = [e for e in (r[7], r[11]) if e]
    return Row(r[0], display_path(os.fsdecode(r[1])), r[2], r[3], r[4], r[5], r[6],
               orjson.loads(r[8]) if r[8] else {}, orjson.loads(r[9]) if r[9] else [],
               orjson.loads(r[10]) if r[10] else [], "; ".join(errors) or None)


def iter_rows(case: CaseDB, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[Row]:
    """Items in report order, in pages (bounded memory)."""
    last = 0
    clause = f" AND ({where})" if where else ""
    while True:
        page = case.conn.execute(f"{_ROWS} WHERE i.seq > ?{clause} ORDER BY i.seq LIMIT 2000",
                                 (last, *params)).fetchall()
        if not page:
            return
        for r in page:
            yield _row(r)
        last = page[-1][0]


def summarise(case: CaseDB) -> dict[str, Any]:
    c = case.conn
    by_kind = {kind: n for kind, n in c.execute("SELECT kind, count(*) FROM items GROUP BY kind ORDER BY kind")}
    hit_items, hit_contents = c.execute(
        "SELECT count(*), count(DISTINCT i.sha256) FROM items i JOIN contents c ON c.sha256 = i.sha256 "
        "WHERE c.matches != '[]'").fetchone()
    by_list: dict[str, int] = {}
    for (matches,) in c.execute("SELECT c.matches FROM items i JOIN contents c ON c.sha256 = i.sha256 "
                                "WHERE c.matches != '[]'"):
        for name in {m["list"] for m in orjson.loads(matches)}:
            by_list[name] = by_list.get(name, 0) + 1
    allowed = c.execute("SELECT count(*) FROM items i JOIN contents c ON c.sha256 = i.sha256 "
                        "WHERE c.allowed != '[]'").fetchone()[0]
    errors = c.execute("SELECT count(*) FROM items i LEFT JOIN contents c ON c.sha256 = i.sha256 "
                       "WHERE i.error IS NOT NULL OR c.error IS NOT NULL").fetchone()[0]
    distinct, total = c.execute("SELECT count(DISTINCT sha256), count(*) FROM items").fetchone()
    started, finished = case.get("started"), case.get("finished")
    seconds = None
    if started and finished:
        seconds = round((datetime.fromisoformat(finished.replace("Z", "+00:00"))
                         - datetime.fromisoformat(started.replace("Z", "+00:00"))).total_seconds(), 3)
    return {"items": total, "by_kind": by_kind, "distinct_contents": distinct,
            "evidence_files": case.get("done_entries", 0),
            "hits": {"items": hit_items, "contents": hit_contents, "by_list": dict(sorted(by_list.items()))},
            "allowed": allowed, "errors": errors, "bytes": case.get("done_bytes", 0), "seconds": seconds}


def _evidence_block(case: CaseDB) -> dict[str, Any]:
    paths = []
    for path in case.get("evidence") or []:
        entry: dict[str, Any] = {"path": path}
        got = case.conn.execute("SELECT kind, sha256 FROM items WHERE path = ? AND parent IS NULL",
                                (os.fsencode(path),)).fetchone()
        if got is not None:
            entry["type"] = "file"
            entry["sha256"] = got[1]
        else:
            entry["type"] = "folder"
        paths.append(entry)
    return {"paths": paths, "tool": case.get("tool"), "started": case.get("started"),
            "finished": case.get("finished"), "lists": case.get("lists"), "options": case.get("options")}


class AtomicFile:
    """Write ``path`` through a temporary file beside it; rename over it on success."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.part")
        self.sha256 = hashlib.sha256()

    def __enter__(self) -> AtomicFile:
        self._f: BinaryIO = open(self.tmp, "wb")
        return self

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self._f.write(data)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._f.close()
            self.tmp.unlink(missing_ok=True)
            return
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self.tmp, self.path)


def write_report_json(case: CaseDB, out: Path, summary: dict[str, Any]) -> AtomicFile:
    with AtomicFile(out / "report.json") as f:
        head = {"case": {"name": case.get("case")}, "evidence": _evidence_block(case), "summary": summary}
        text = orjson.dumps(head, option=orjson.OPT_INDENT_2)
        f.write(text[:-2] + b',\n  "items": [')
        first = True
        for row in iter_rows(case):
            f.write((b"\n    " if first else b",\n    ") + orjson.dumps(row.to_json()))
            first = False
        f.write(b"\n  ]\n}\n")
    return f


_CSV_COLUMNS = ("path", "kind", "size", "md5", "sha1", "sha256", "list", "entry", "category", "category_scheme",
                "signal", "distance", "variant")


def write_hits_csv(case: CaseDB, out: Path) -> AtomicFile:
    with AtomicFile(out / "hits.csv") as f:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(_CSV_COLUMNS)
        for row in iter_rows(case, "c.matches != '[]'"):
            for m in row.matches:
                writer.writerow((row.path, row.kind, row.size, row.md5, row.sha1, row.sha256, m["list"], m["entry"],
                                 m.get("category"), m.get("category_scheme"), m["signal"], m["distance"],
                                 m.get("variant")))
            if buffer.tell() > 1 << 20:
                f.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        f.write(buffer.getvalue().encode())
    return f


def hit_contents(case: CaseDB) -> Iterator[tuple[str, list[Row]]]:
    """Each hit content (sha256) with every item (copy) that holds it, in order of first copy."""
    shas = [r[0] for r in case.conn.execute(
        "SELECT i.sha256 FROM items i JOIN contents c ON c.sha256 = i.sha256 WHERE c.matches != '[]' "
        "GROUP BY i.sha256 ORDER BY min(i.seq)")]
    for sha in shas:
        yield sha, list(iter_rows(case, "i.sha256 = ?", (sha,)))


def _vics_records(case: CaseDB) -> Iterator[Record]:
    for sha, rows in hit_contents(case):
        first = rows[0]
        signals = [Signal("md5", first.md5 or ""), Signal("sha1", first.sha1 or ""), Signal("sha256", sha)]
        pdq = first.signals.get("pdq")
        if isinstance(pdq, dict):
            signals.append(Signal("pdq", str(pdq["hash"]), int(pdq["quality"])))
        categorised = next((m for m in first.matches if m.get("category") is not None), None)
        files = []
        for row in rows:
            folder, _, name = row.path.rpartition("/")
            files.append({"FileName": name, "FilePath": folder})
        meta: dict[str, Any] = {
            "MediaSize": first.size, "MediaFiles": files,
            "IsPrecategorized": categorised is not None,
            "Comments": "; ".join(f"Vigil: list {m['list']} entry {m['entry']} ({m['signal']} distance "
                                  f"{m['distance']})" for m in first.matches),
        }
        yield Record(first.md5 or sha, signals, categorised.get("category") if categorised else None,
                     categorised.get("category_scheme") if categorised else None, meta)


def write_vics_case(case: CaseDB, out: Path) -> AtomicFile:
    with AtomicFile(out / "vics-case.json") as f:
        fields = {"CaseNumber": case.get("case"), "SourceApplicationName": "Vigil",
                  "SourceApplicationVersion": str(case.get("tool", "")).removeprefix("vigil ")}
        VicsFormat().write_case(fields, _vics_records(case), f)  # type: ignore[arg-type]
    return f


def write_reports(case: CaseDB, out: Path) -> list[Path]:
    """Every report file; logs their hashes; marks the case finished."""
    from .html import write_report_html

    summary = summarise(case)
    written = [write_report_json(case, out, summary), write_hits_csv(case, out), write_vics_case(case, out),
               write_report_html(case, out, summary)]
    with case.transaction() as conn:
        case.put(conn, "summary", summary)
        case.put(conn, "state", "finished")
        case.append_log(conn, "reports written", {
            "files": {f.path.name: f.sha256.hexdigest() for f in written},
            "items": summary["items"], "hits": summary["hits"]["items"], "errors": summary["errors"]})
    return [f.path for f in written]
