"""``hits.csv``: one row per hit item and matching entry, for a spreadsheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..signals import MD5, SHA1, SHA256
from .atomic import AtomicFile
from .source import ReportSource, Rows

__all__ = ["CSV_COLUMNS", "write_hits_csv"]

CSV_COLUMNS = ("path", "kind", "size", MD5.name, SHA1.name, SHA256.name, "list", "entry", "category",
               "category_scheme", "signal", "distance", "variant")


def write_hits_csv(source: ReportSource, out: Path) -> AtomicFile:
    with AtomicFile(out / "hits.csv") as f:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in source.rows(Rows.HITS):
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
