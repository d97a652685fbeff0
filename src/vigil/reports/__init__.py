"""Reports any app can write: JSON, CSV, a VICS case and an HTML page (pictures blurred until revealed).

Writers read rows and hits through :class:`ReportSource` and write each file whole or not at all
(:class:`AtomicFile`); each returns the file it wrote with its sha256, for a custody log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .atomic import AtomicFile
from .hits_csv import CSV_COLUMNS, write_hits_csv
from .html import MAX_ERROR_ROWS, write_report_html
from .report_json import write_report_json
from .source import Picture, ReportHeader, ReportSource, Row, Rows
from .vics_case import write_vics_case

__all__ = [
    "CSV_COLUMNS",
    "MAX_ERROR_ROWS",
    "REPORT_FILES",
    "AtomicFile",
    "Picture",
    "ReportHeader",
    "ReportSource",
    "Row",
    "Rows",
    "write_all",
    "write_hits_csv",
    "write_report_html",
    "write_report_json",
    "write_vics_case",
]

REPORT_FILES = ("report.json", "hits.csv", "vics-case.json", "report.html")


def write_all(source: ReportSource, out: Path, summary: dict[str, Any]) -> list[AtomicFile]:
    """Every report file into the folder ``out``, in the order of :data:`REPORT_FILES`."""
    return [write_report_json(source, out, summary), write_hits_csv(source, out), write_vics_case(source, out),
            write_report_html(source, out, summary)]
