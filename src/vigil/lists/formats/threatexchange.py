"""ThreatExchange signal files: ``<type> <value>`` a line, as python-threatexchange's
``LocalFileSignalExchangeAPI`` reads them (blank lines and ``#`` comments skipped).

Types are python-threatexchange's ``SignalType.get_name()`` names:

* ``pdq`` → pdq; ``video_md5`` (and the older ``photo_md5``, or a bare ``md5``) → md5;
  ``video_sha256`` (or ``sha256``) → sha256;
* ``vpdq`` → vpdq. python-threatexchange writes a vPDQ signal as one JSON string: a list of
  ``"pdq_hex,quality,timestamp"`` features (``VpdqCompactFeature``); older versions wrote an
  object keyed by frame number (``{"0": {"quality", "hash", "timestamp"}}``). Both are
  read, as is Vigil's own ``frame,quality,hex,timestamp`` form joined by ";". The compact
  form has no frame numbers, so its features are numbered 0, 1, 2 … in order; writing uses
  the compact form, so a vPDQ written here comes back with its frames renumbered that way.
* anything else (``url``, ``raw_text``, ``tlsh`` …) is not matched by Vigil: skipped with a note.

Record mapping: id = the normalised value (for vPDQ, whose value is many lines, ``vpdq:``
and the SHA-1 of the normalised value, a stable id of sensible length); metadata
``te_type``, the type name as the file gave it, so export writes the same name back.
A record from another format is written with the type's python-threatexchange name
(md5 as ``video_md5``: the only MD5 type it still has).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, ClassVar

from ...errors import InvalidValue, ListFormatError
from ...signals import MD5, PDQ, SHA256, VPDQ
from ...signals.vpdq_type import parse_line
from ..model import Record, Signal
from .base import ReadNotes, ReadOptions, sniff_text, text_lines

__all__ = ["ThreatExchangeFormat", "TE_TYPES", "entry_id"]

# ThreatExchange type name → Vigil signal type.
TE_TYPES = {"pdq": PDQ.name, "video_md5": MD5.name, "photo_md5": MD5.name, "md5": MD5.name,
            "video_sha256": SHA256.name, "sha256": SHA256.name, "vpdq": VPDQ.name}
# Vigil signal type → the ThreatExchange type name it is written with.
_WRITE_AS = {PDQ.name: "pdq", MD5.name: "video_md5", SHA256.name: "video_sha256", VPDQ.name: "vpdq"}
# Types python-threatexchange knows that Vigil does not match (enough to recognise a TE file).
_OTHER_TYPES = frozenset({"url", "raw_text", "url_md5", "text_md5", "trend_query", "tlsh", "video_tmk_pdqf",
                          "pdq_ocr", "clip"})
_TYPE = re.compile(r"[a-z][a-z0-9_]*")


def _vpdq_from_te(value: str) -> str:
    """Vigil's vPDQ text (``frame,quality,hex,timestamp`` lines) from any form TE uses; InvalidValue if none."""
    text = value.strip()
    if not text.startswith(("[", "{")):
        return Signal.of(VPDQ.name, text).value
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidValue(f"vPDQ value is not valid JSON: {exc.msg}") from None
    lines: list[str] = []
    if isinstance(data, list):
        for frame, feature in enumerate(data):
            parts = feature.split(",") if isinstance(feature, str) else []
            if len(parts) != 3:
                raise InvalidValue(f"not a vPDQ feature (want pdq_hex,quality,timestamp): {str(feature)[:80]!r}")
            lines.append(f"{frame},{parts[1]},{parts[0]},{parts[2]}")
    elif isinstance(data, dict):
        for frame, feature in data.items():
            if not isinstance(feature, dict) or not {"quality", "hash", "timestamp"} <= feature.keys():
                raise InvalidValue(f"not a vPDQ feature (want quality, hash, timestamp): {str(feature)[:80]!r}")
            lines.append(f"{frame},{feature['quality']},{feature['hash']},{feature['timestamp']}")
    else:
        raise InvalidValue("a vPDQ value must be a JSON list of features")
    if not lines:
        raise InvalidValue("empty vPDQ value")
    for line in lines:
        feature = parse_line(line)
        if not 0 <= feature.quality <= 100 or feature.timestamp < 0:
            raise InvalidValue(f"vPDQ feature out of range: {line[:80]!r}")
    return Signal.of(VPDQ.name, "\n".join(lines)).value


def _vpdq_to_te(value: str) -> str:
    features = [parse_line(line) for line in value.splitlines() if line.strip()]
    return json.dumps([f"{f.hash},{f.quality},{f.timestamp:.3f}" for f in features])


def entry_id(signal: Signal) -> str:
    """The id of a TE entry: its value, or for vPDQ a digest of it."""
    if signal.type == VPDQ.name:
        return "vpdq:" + hashlib.sha1(signal.value.encode(), usedforsecurity=False).hexdigest()
    return signal.value


class ThreatExchangeFormat:
    name: ClassVar[str] = "te"
    description: ClassVar[str] = "ThreatExchange signal file (<type> <value> a line)"
    carries_revocations: ClassVar[bool] = False

    def sniff(self, head: bytes) -> bool:
        for line in sniff_text(head).splitlines():
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind, _, value = text.replace("\t", " ").partition(" ")
            return (kind.lower() in TE_TYPES or kind.lower() in _OTHER_TYPES) and bool(value.strip())
        return False

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        for number, line in text_lines(stream, source=source):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            te_type, _, value = text.replace("\t", " ").partition(" ")
            te_type, value = te_type.lower(), value.strip()
            if not value or not _TYPE.fullmatch(te_type):
                raise ListFormatError(f"expected '<type> <value>', found {text[:80]!r}", source=source, line=number)
            kind = TE_TYPES.get(te_type)
            if kind is None:
                notes.skip(f"signal type {te_type!r} is not matched by Vigil")
                continue
            try:
                signal = Signal(kind, _vpdq_from_te(value)) if kind == VPDQ.name else Signal.of(kind, value)
            except ValueError as exc:
                raise ListFormatError(f"{te_type}: {exc}", source=source, line=number) from None
            yield Record(entry_id(signal), [signal], metadata={"te_type": te_type})

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        batch: list[str] = []
        for record in records:
            if record.revoked:
                continue
            given = record.metadata.get("te_type")
            for signal in record.signals:
                if signal.derived is not None or signal.type not in _WRITE_AS:
                    continue
                name = given if isinstance(given, str) and TE_TYPES.get(given) == signal.type \
                    else _WRITE_AS[signal.type]
                value = _vpdq_to_te(signal.value) if signal.type == VPDQ.name else signal.value
                batch.append(f"{name} {value}\n")
            if len(batch) >= 1000:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())
