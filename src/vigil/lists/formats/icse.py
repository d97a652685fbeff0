"""INTERPOL ICSE hash-set CSV: semicolon-separated, a header row, one image a row.

Columns: ``MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;
Series name;Number of submissions;File Available;Media Type;Baseline`` (matched by name,
any case and order; a column Vigil does not know is noted and left out).

Record mapping: id = ``Image ID`` (else the MD5, else the SHA1); signals md5, sha1 and
photodna. The flags and the series are stored under the VICS field names
(``IsDistributed``, ``VictimIdentified``, ``OffenderIdentified``, ``Series``) because they
mean the same thing there, so a list moves between the two formats with them; the
columns only ICSE has become ``icse_submissions`` (a number), ``icse_file_available``,
``icse_media_type`` and ``icse_baseline``. Empty cells are left out of the metadata.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, ClassVar

from ...errors import ListFormatError
from ...signals import MD5, SHA1
from ..model import PHOTODNA, Record, Signal, parse_bool
from .base import ReadNotes, ReadOptions, sniff_text, text_lines

__all__ = ["IcseFormat", "HEADER"]

HEADER = ("MD5", "SHA1", "PhotoDNA", "Image ID", "Is distributed", "Victim identified", "Offender identified",
          "Series name", "Number of submissions", "File Available", "Media Type", "Baseline")
# column (lower-case) → signal type, in column order
_SIGNALS = {"md5": MD5.name, "sha1": SHA1.name, "photodna": PHOTODNA}
# column (lower-case) → (metadata key, kind of value)
_FIELDS: dict[str, tuple[str, str]] = {
    "is distributed": ("IsDistributed", "flag"),
    "victim identified": ("VictimIdentified", "flag"),
    "offender identified": ("OffenderIdentified", "flag"),
    "series name": ("Series", "text"),
    "number of submissions": ("icse_submissions", "number"),
    "file available": ("icse_file_available", "flag"),
    "media type": ("icse_media_type", "text"),
    "baseline": ("icse_baseline", "flag"),
}
_ID = "image id"


class IcseFormat:
    name: ClassVar[str] = "icse"
    description: ClassVar[str] = "INTERPOL ICSE semicolon CSV"
    carries_revocations: ClassVar[bool] = False

    def sniff(self, head: bytes) -> bool:
        first = sniff_text(head).split("\n", 1)[0]
        cells = {c.strip().strip('"').lower() for c in first.split(";")}
        return "md5" in cells and ("image id" in cells or "sha1" in cells) and len(cells) >= 3

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        rows = csv.reader((line for _, line in text_lines(stream, source=source, keep_ends=True)),
                          delimiter=";", strict=True)
        try:
            try:
                header = [c.strip().lower() for c in next(rows)]
            except StopIteration:
                raise ListFormatError("empty file: no ICSE header row", source=source) from None
            if not any(c in _SIGNALS for c in header):
                raise ListFormatError("no MD5, SHA1 or PhotoDNA column in the header: not an ICSE CSV",
                                      source=source, line=1)
            for column in header:
                if column not in _SIGNALS and column not in _FIELDS and column != _ID:
                    notes.skip(f"ICSE column {column!r} is not read")
            for row in rows:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise ListFormatError(f"{len(row)} columns where the header has {len(header)} "
                                          "(a truncated or mis-split row)", source=source, line=rows.line_num)
                record = _to_record(dict(zip(header, row, strict=True)), source, rows.line_num, notes)
                if record is not None:
                    yield record
        except csv.Error as exc:
            raise ListFormatError(f"malformed CSV: {exc}", source=source, line=rows.line_num) from None

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";", lineterminator="\n")
        writer.writerow(HEADER)
        for n, record in enumerate(records, 1):
            if not record.revoked:
                row = _to_row(record)
                if row is not None:
                    writer.writerow(row)
            if n % 1000 == 0:
                out.write(buf.getvalue().encode())
                buf.seek(0)
                buf.truncate()
        out.write(buf.getvalue().encode())


def _to_record(cells: dict[str, str], source: str, line: int, notes: ReadNotes) -> Record | None:
    signals: list[Signal] = []
    for column, kind in _SIGNALS.items():
        value = cells.get(column, "").strip()
        if value:
            try:
                signals.append(Signal.of(kind, value))
            except ValueError as exc:
                raise ListFormatError(f"{column.upper() if kind != PHOTODNA else 'PhotoDNA'}: {exc}",
                                      source=source, line=line) from None
    if not signals:
        notes.skip("ICSE row without MD5, SHA1 or PhotoDNA")
        return None
    meta: dict[str, Any] = {}
    for column, (key, kind) in _FIELDS.items():
        value = cells.get(column, "").strip()
        if not value:
            continue
        if kind == "flag":
            try:
                meta[key] = parse_bool(value)
            except ValueError as exc:
                raise ListFormatError(f"{column}: {exc}", source=source, line=line) from None
        elif kind == "number":
            if not value.isdigit():
                raise ListFormatError(f"{column}: not a whole number: {value[:40]!r}", source=source, line=line)
            meta[key] = int(value)
        else:
            meta[key] = value
    # Signals are in column order, so the first is the MD5, else the SHA1, else the PhotoDNA.
    return Record(cells.get(_ID, "").strip() or signals[0].value, signals, metadata=meta)


def _flag(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")


def _to_row(record: Record) -> list[str] | None:
    first: dict[str, str] = {}
    for s in record.signals:
        if s.derived is None and s.type in _SIGNALS.values() and s.type not in first:
            first[s.type] = s.value
    if not first:
        return None
    meta = record.metadata
    # The id the reader would give a row without an Image ID: leave that column empty then.
    implied = first.get(MD5.name) or first.get(SHA1.name) or first.get(PHOTODNA)
    submissions = meta.get("icse_submissions")
    return [
        first.get(MD5.name, "").upper(),
        first.get(SHA1.name, "").upper(),
        first.get(PHOTODNA, ""),
        "" if record.id == implied else record.id,
        _flag(meta.get("IsDistributed")),
        _flag(meta.get("VictimIdentified")),
        _flag(meta.get("OffenderIdentified")),
        str(meta.get("Series") or ""),
        str(submissions) if isinstance(submissions, int) else "",
        _flag(meta.get("icse_file_available")),
        str(meta.get("icse_media_type") or ""),
        _flag(meta.get("icse_baseline")),
    ]
