"""The scan's reports: the case database read as a :class:`vigil.reports.ReportSource`, the summary,
and the custody log entry that records the sha256 of every report file written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from ..evidence.sources import display_path
from ..reports import Picture, ReportHeader, Row, Rows, write_all
from .casedb import CaseDB

__all__ = ["MAX_PICTURES", "CaseReport", "summarise", "write_reports"]

# Pictures for the first hits only: the page stays one that a browser opens (about 15 KB each);
# every hit, pictured or not, has its card in report.html and its rows in report.json and hits.csv.
MAX_PICTURES = 2000

_ROWS = ("SELECT i.seq, i.path, i.kind, i.size, i.md5, i.sha1, i.sha256, i.error, c.signals, c.matches, c.allowed, "
         "c.error FROM items i LEFT JOIN contents c ON c.sha256 = i.sha256")
_WHERE = {Rows.ALL: "", Rows.HITS: "c.matches != '[]'", Rows.ERRORS: "i.error IS NOT NULL OR c.error IS NOT NULL"}


def _row(r: tuple[Any, ...]) -> Row:
    errors = [e for e in (r[7], r[11]) if e]
    return Row(r[0], display_path(os.fsdecode(r[1])), r[2], r[3], r[4], r[5], r[6],
               orjson.loads(r[8]) if r[8] else {}, orjson.loads(r[9]) if r[9] else [],
               orjson.loads(r[10]) if r[10] else [], "; ".join(errors) or None)


class CaseReport:
    """A case database as the reports read it."""

    def __init__(self, case: CaseDB) -> None:
        self.case = case

    def header(self) -> ReportHeader:
        case = self.case
        return ReportHeader(case.get("case"), case.get("tool"), case.get("started"), case.get("finished"),
                            case.get("evidence") or [], _evidence_block(case), case.get("lists") or [],
                            MAX_PICTURES)

    def _select(self, where: str = "", params: tuple[Any, ...] = ()) -> Iterator[Row]:
        """Items in report order, in pages (bounded memory)."""
        last = 0
        clause = f" AND ({where})" if where else ""
        while True:
            page = self.case.conn.execute(f"{_ROWS} WHERE i.seq > ?{clause} ORDER BY i.seq LIMIT 2000",
                                          (last, *params)).fetchall()
            if not page:
                return
            for r in page:
                yield _row(r)
            last = page[-1][0]

    def rows(self, which: Rows = Rows.ALL) -> Iterator[Row]:
        return self._select(_WHERE[which])

    def hit_contents(self) -> Iterator[tuple[str, list[Row]]]:
        shas = [r[0] for r in self.case.conn.execute(
            "SELECT i.sha256 FROM items i JOIN contents c ON c.sha256 = i.sha256 WHERE c.matches != '[]' "
            "GROUP BY i.sha256 ORDER BY min(i.seq)")]
        for sha in shas:
            yield sha, list(self._select("i.sha256 = ?", (sha,)))

    def pictures(self) -> dict[str, Picture]:
        return {sha: Picture(data, frames, error) for sha, data, frames, error in
                self.case.conn.execute("SELECT sha256, data, frames, error FROM thumbs")}


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


def write_reports(case: CaseDB, out: Path) -> list[Path]:
    """Every report file; logs their hashes; marks the case finished."""
    summary = summarise(case)
    written = write_all(CaseReport(case), out, summary)
    with case.transaction():
        case.put(case.conn, "summary", summary)
        case.put(case.conn, "state", "finished")
        case.log.append("reports written", {
            "files": {f.path.name: f.sha256.hexdigest() for f in written},
            "items": summary["items"], "hits": summary["hits"]["items"], "errors": summary["errors"]})
    return [f.path for f in written]
