"""``report.json``: the contract of DESIGN.md (``case``, ``evidence``, ``summary``, ``items``), streamed
item by item, so its size never bounds memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .atomic import AtomicFile
from .source import ReportSource

__all__ = ["write_report_json"]


def write_report_json(source: ReportSource, out: Path, summary: dict[str, Any]) -> AtomicFile:
    header = source.header()
    with AtomicFile(out / "report.json") as f:
        head = {"case": {"name": header.case}, "evidence": header.evidence_block, "summary": summary}
        text = orjson.dumps(head, option=orjson.OPT_INDENT_2)
        f.write(text[:-2] + b',\n  "items": [')
        first = True
        for row in source.rows():
            f.write((b"\n    " if first else b",\n    ") + orjson.dumps(row.to_json()))
            first = False
        f.write(b"\n  ]\n}\n")
    return f
