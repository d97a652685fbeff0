"""StopNCII.org ``FetchHashes`` JSON: ``{"count", "nextSetTimestamp", "nextPageToken", "hasMoreRecords",
"hashRecords": [{signalType, hashValue, hashStatus, lastModtimestamp, caseNumbers, CSPFeedbacks}]}``.

Signal types, as python-threatexchange's StopNCII client lists them (``StopNCIISignalType``):
``ImagePDQ`` → pdq and ``VideoMD5`` → md5 are read (``ImageMD5`` too, should a feed carry
it); ``VideoTMK``, ``Text``, ``URL`` and ``Unknown`` are not matched by Vigil and are
skipped with a note.

Record mapping: id = the normalised hash value (a StopNCII record *is* its hash: a later
record for the same hash replaces the earlier one); ``hashStatus`` ``Withdrawn`` or
``Deleted`` → revoked (StopNCII asks platforms to drop those hashes); metadata keeps
``signal_type``, ``status``, ``last_modified``, ``case_numbers`` and ``csp_feedbacks``
(empty ones left out), and any other field under ``stopncii_extra``, so that a written
file says what the fetched one said. The keys are snake_case so that formats which write
their own metadata back (VICS) do not take them for their fields.

Writing streams one hash record per signal Vigil can express here (pdq, md5); the
response's paging members come after the array, since ``count`` is only known there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, ClassVar

from ...errors import ListFormatError
from ...signals import MD5, PDQ
from ..model import Record, Signal
from ._jsonstream import JsonReader
from .base import ReadNotes, ReadOptions, sniff_text

__all__ = ["StopNciiFormat"]

# StopNCII signalType → Vigil's signal type, and the signalType a signal is written with.
_SIGNAL_TYPES = {"ImagePDQ": PDQ.name, "VideoMD5": MD5.name, "ImageMD5": MD5.name}
_DEFAULT_TYPE = {PDQ.name: "ImagePDQ", MD5.name: "VideoMD5"}
_REVOKING = frozenset({"withdrawn", "deleted"})
_FIELDS = {"lastModtimestamp": "last_modified", "hashStatus": "status", "caseNumbers": "case_numbers",
           "CSPFeedbacks": "csp_feedbacks"}


class StopNciiFormat:
    name: ClassVar[str] = "stopncii"
    description: ClassVar[str] = "StopNCII.org FetchHashes JSON (hashRecords)"
    carries_revocations: ClassVar[bool] = True

    def sniff(self, head: bytes) -> bool:
        text = sniff_text(head).lstrip()
        return text.startswith("{") and '"hashRecords"' in text

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        reader = JsonReader(stream, source=source)
        seen = False
        for key in reader.members():
            if key == "hashRecords":
                seen = True
                for item in reader.values():
                    record = _to_record(item, reader.record or 0, source, notes)
                    if record is not None:
                        yield record
            else:
                reader.value()
        reader.finish()
        if not seen:
            raise ListFormatError('no "hashRecords": not a StopNCII FetchHashes response', source=source)

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        out.write(b'{"hashRecords": [\n')
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        count = 0
        latest = 0
        batch: list[str] = []
        for record in records:
            for item in _to_items(record):
                count += 1
                stamp = item["lastModtimestamp"]
                latest = max(latest, stamp) if isinstance(stamp, int) else latest
                batch.append(dumps(item))
            if len(batch) >= 1000:
                out.write(((",\n" if count > len(batch) else "") + ",\n".join(batch)).encode())
                batch.clear()
        if batch:
            out.write(((",\n" if count > len(batch) else "") + ",\n".join(batch)).encode())
        tail = {"count": count, "nextSetTimestamp": latest or int(time.time()), "nextPageToken": "",
                "hasMoreRecords": False}
        out.write(f"\n], {json.dumps(tail)[1:]}\n".encode())


def _to_record(item: Any, n: int, source: str, notes: ReadNotes) -> Record | None:
    if not isinstance(item, dict):
        raise ListFormatError(f"a hash record must be a JSON object, not {type(item).__name__}",
                              source=source, record=n)
    signal_type, value = item.get("signalType"), item.get("hashValue")
    if not isinstance(signal_type, str) or not isinstance(value, str):
        raise ListFormatError("a hash record needs signalType and hashValue strings", source=source, record=n)
    kind = _SIGNAL_TYPES.get(signal_type)
    if kind is None:
        notes.skip(f"StopNCII signal type {signal_type!r} is not matched by Vigil")
        return None
    try:
        signal = Signal.of(kind, value)
    except ValueError as exc:
        raise ListFormatError(f"{signal_type}: {exc}", source=source, record=n) from None
    status = item.get("hashStatus")
    if status is not None and not isinstance(status, str):
        raise ListFormatError(f"hashStatus must be a string, not {status!r}", source=source, record=n)
    meta: dict[str, Any] = {"signal_type": signal_type}
    extra: dict[str, Any] = {}
    for key, field_value in item.items():
        if key in ("signalType", "hashValue"):
            continue
        name = _FIELDS.get(key)
        if name is None:
            extra[key] = field_value
        elif field_value not in (None, {}, []):
            meta[name] = field_value
    if extra:
        meta["stopncii_extra"] = extra
    revoked = status is not None and status.strip().lower() in _REVOKING
    return Record(signal.value, [signal], metadata=meta, revoked=revoked)


def _to_items(record: Record) -> Iterator[dict[str, Any]]:
    """The hash records for one entry: one per signal StopNCII can carry."""
    meta = record.metadata
    status = meta.get("status")
    if not isinstance(status, str) or (status.strip().lower() in _REVOKING) != record.revoked:
        status = "Deleted" if record.revoked else "Active"
    stamp = meta.get("last_modified")
    for signal in record.signals:
        if signal.derived is not None or signal.type not in _DEFAULT_TYPE:
            continue
        given = meta.get("signal_type")
        signal_type = given if isinstance(given, str) and _SIGNAL_TYPES.get(given) == signal.type \
            else _DEFAULT_TYPE[signal.type]
        item: dict[str, Any] = {
            "lastModtimestamp": stamp if stamp is not None else int(time.time()),
            "signalType": signal_type,
            "hashValue": signal.value,
            "hashStatus": status,
            "caseNumbers": meta.get("case_numbers", {}),
            "CSPFeedbacks": meta.get("csp_feedbacks", []),
        }
        extra = meta.get("stopncii_extra")
        if isinstance(extra, dict):
            item.update((k, v) for k, v in extra.items() if k not in item)
        yield item
