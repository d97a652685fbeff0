"""``vics-case.json``: the hits as a Project VIC / VICS 2.0 case (``#Cases``), one Media per distinct
content with every path it was found at, for the tools examiners already use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..lists.formats.vics import VicsFormat
from ..lists.model import Record, Signal
from ..signals import MD5, PDQ, SHA1, SHA256
from .atomic import AtomicFile
from .source import ReportSource

__all__ = ["write_vics_case"]


def _vics_records(source: ReportSource) -> Iterator[Record]:
    for sha, rows in source.hit_contents():
        first = rows[0]
        signals = [Signal(MD5.name, first.md5 or ""), Signal(SHA1.name, first.sha1 or ""), Signal(SHA256.name, sha)]
        pdq = first.signals.get(PDQ.name)
        if isinstance(pdq, dict):
            signals.append(Signal(PDQ.name, str(pdq["hash"]), int(pdq["quality"])))
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


def write_vics_case(source: ReportSource, out: Path) -> AtomicFile:
    header = source.header()
    with AtomicFile(out / "vics-case.json") as f:
        fields = {"CaseNumber": header.case, "SourceApplicationName": "Vigil",
                  "SourceApplicationVersion": str(header.tool or "").removeprefix("vigil ")}
        VicsFormat().write_case(fields, _vics_records(source), f)  # type: ignore[arg-type]
    return f
