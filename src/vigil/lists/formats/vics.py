"""Project VIC / VICS JSON: the hash sets and case files of the VICS data model, 1.x and 2.0.

A file is one OData JSON object: a data-model URL and a ``value`` array.

* 1.1-1.3: ``"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"``
* 2.0: ``"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/<Scheme>/$metadata#Media"``

``#Media`` files list Media records in ``value``; ``#Cases`` files list cases, each with
a ``Media`` list, and every Media of every case is read (numbered across the file).

Record mapping (a Media object → a Record):

* id: the MD5 (lower-case), else the SHA1, else ``str(MediaID)``. MediaIDs are only
  sequence numbers of one file; the MD5 is the stable identity, so re-importing an
  updated file updates entries instead of duplicating them.
* signals: ``MD5`` → md5, ``SHA1`` → sha1, ``PhotoDNA`` → photodna, then each of
  ``AlternativeHashes`` (``[{"HashName": "PDQ", "HashValue": hex}]``) whose name Vigil
  knows (``_FROM_VICS``, any case). Unknown ones stay in
  ``metadata["AlternativeHashes"]`` as given, so they are written back.
* category: ``str(Category)`` (None when null), with the scheme of the file:

  =========================  ======================  ======================================
  data model                 category_scheme         codes
  =========================  ======================  ======================================
  2.0 ``/US/``               ``projectvic-us``       0 non-pertinent, 1 CAM, 2 age difficult,
                                                     3 CGI/animation, 4 comparison
  2.0 ``/DHS/``, all 1.x     ``projectvic-dhs``      the older scheme: 0 uncategorised … 5
                                                     non-pertinent (1.x files predate the
                                                     per-country schemes of 2.0)
  2.0 ``/UK/``               ``uk``                  UK grades
  2.0 ``/Default/`` (or no   ``projectvic-default``  as the exporting tool defines it
  scheme)
  2.0 ``/<Other>/``          ``projectvic-<other>``  lower-cased, e.g. ``projectvic-custom``
  =========================  ======================  ======================================

* metadata: every other field unchanged, except that flags (``VictimIdentified``,
  ``OffenderIdentified``, ``IsDistributed``, ``IsPrecategorized``, ``IsSuspected``, and any
  other ``Is…`` field given as a "true"/"false" string) become booleans.

Writing streams one Media per line. ``vics`` writes 2.0 (``vics-1.2``/``vics-1.3``/``vics-2.0``
write that version; every name reads every version). Hex is written upper-case as the
field does, flags as "true"/"false" strings as distributed sets carry them, MediaID from
the metadata or else the record's number in the file. Only metadata whose key is spelt
the VICS way (PascalCase, or an OData annotation) is written: the snake_case notes other
formats keep (``kind``, ``te_type`` …) are not VICS fields. A file has one category
scheme, taken from the first categorised record (looking ahead at most 1000 records);
categories of any other scheme are written as null rather than mis-labelled.

The data model must be known to label categories. OData puts it first; when a file
gives it after ``value``, the records are spooled to a temporary file (bounded memory)
and read once the model is known, so they are never mis-labelled.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, ClassVar

from ...errors import ListFormatError
from ...signals import MD5, PDQ, SHA1, SHA256, SIGNALS, VPDQ
from ..model import PHOTODNA, Record, Signal, parse_bool
from ._jsonstream import JsonReader
from .base import ReadNotes, ReadOptions, sniff_text

__all__ = ["VicsFormat", "Vics12Format", "Vics13Format", "Vics20Format"]

_MODEL = re.compile(r"/DataModels/(\d+(?:\.\d+)*)\.xml(?:/([^/$#]+))?(?:/\$metadata)?(?:#(\w+))?")
_SCHEMES = {"us": "projectvic-us", "dhs": "projectvic-dhs", "uk": "uk", "default": "projectvic-default"}
_SCHEME_NAMES = {"projectvic-us": "US", "projectvic-dhs": "DHS", "uk": "UK", "projectvic-default": "Default",
                 "projectvic-custom": "CUSTOM"}
_VERSIONS = ("1.1", "1.2", "1.3", "2.0")
_FLAGS = frozenset({"VictimIdentified", "OffenderIdentified", "IsDistributed", "IsPrecategorized", "IsSuspected"})
_IS_FLAG = re.compile(r"Is[A-Z]")
# Fields the writer makes from the record itself; metadata of the same name is not written over them.
_OWN = frozenset({"MediaID", "Category", "MD5", "SHA1", "PhotoDNA", "AlternativeHashes"})
# VICS names of signals (AlternativeHashes' HashName), as written; read in any case, and with the
# hyphens some tools put in.
_TO_VICS = {MD5.name: "MD5", SHA1.name: "SHA1", SHA256.name: "SHA256", PDQ.name: "PDQ", VPDQ.name: "vPDQ",
            PHOTODNA: "PhotoDNA"}
_FROM_VICS = {vics.lower(): name for name, vics in _TO_VICS.items()} | {"sha-1": SHA1.name, "sha-256": SHA256.name}
_LOOKAHEAD = 1000


@dataclass(frozen=True)
class _Model:
    version: str
    scheme: str
    entity: str | None  # "Media", "Cases", or None when the URL does not say


def _parse_model(url: str) -> _Model | None:
    m = _MODEL.search(url)
    if m is None:
        return None
    version, segment, entity = m.group(1), m.group(2), m.group(3)
    if version.startswith("1."):
        scheme = "projectvic-dhs"
    else:
        name = (segment or "default").lower()
        scheme = _SCHEMES.get(name, f"projectvic-{name}")
    return _Model(version, scheme, entity)


def _is_vics_key(key: str) -> bool:
    return key[:1].isupper() or "odata" in key


class VicsFormat:
    name: ClassVar[str] = "vics"
    description: ClassVar[str] = "Project VIC / VICS JSON (reads 1.1-2.0, writes 2.0)"
    carries_revocations: ClassVar[bool] = False
    version: ClassVar[str] = "2.0"

    def sniff(self, head: bytes) -> bool:
        text = sniff_text(head).lstrip()
        if not text.startswith("{"):
            return False
        if ('"odata.metadata"' in text or '"@odata.context"' in text) and "/DataModels/" in text:
            return True
        # The model may come after "value"; then the Media fields show what it is.
        return '"value"' in text and '"MediaID"' in text and ('"MD5"' in text or '"SHA1"' in text)

    # -- reading ------------------------------------------------------------------

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        reader = JsonReader(stream, source=source)
        model: _Model | None = None
        spool: IO[str] | None = None
        with contextlib.ExitStack() as stack:
            for key in reader.members():
                if key in ("odata.metadata", "@odata.context"):
                    url = reader.value()
                    model = _parse_model(url) if isinstance(url, str) else None
                    if model is None:
                        raise reader.error(f"{key} is not a VICS data model URL: {str(url)[:100]!r}")
                    if model.version not in _VERSIONS:
                        raise reader.error(f"VICS data model {model.version} is not supported "
                                           f"(Vigil reads {', '.join(_VERSIONS)})")
                elif key == "value":
                    if model is not None:
                        to_record = _MediaReader(model.scheme, source, notes).record
                        for n, item in self._media(reader, model.entity):
                            record = to_record(item, n)
                            if record is not None:
                                yield record
                    else:
                        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
                        for n, item in self._media(reader, None):
                            spool.write(f"{n}\t{json.dumps(item, separators=(',', ':'))}\n")
                else:
                    reader.value()  # odata.count, odata.nextLink and the like
            reader.finish()
            if model is None:
                raise ListFormatError('no VICS data model ("@odata.context" or "odata.metadata") in the file',
                                      source=source)
            if spool is not None:
                spool.seek(0)
                to_record = _MediaReader(model.scheme, source, notes).record
                for line in spool:
                    number, _, text = line.partition("\t")
                    record = to_record(json.loads(text), int(number))
                    if record is not None:
                        yield record

    def _media(self, reader: JsonReader, entity: str | None) -> Iterator[tuple[int, Any]]:
        """(number, Media object) for every Media of ``value``, whether it lists Media or cases."""
        count = 0
        if entity == "Media":
            for item in reader.values():
                if isinstance(item, dict) and isinstance(item.get("Media"), list):
                    for media in item["Media"]:  # a case where Media were promised: read it anyway
                        count += 1
                        yield count, media
                else:
                    count += 1
                    yield count, item
            return
        # Cases (or not yet known): walk each element, so that a case's Media list streams.
        for _ in reader.elements():
            if reader.peek() != "{":
                count += 1
                reader.record = count
                yield count, reader.value()
                continue
            fields: dict[str, Any] = {}
            is_case = False
            for key in reader.members():
                if key == "Media" and reader.peek() == "[":
                    is_case = True
                    for media in reader.values(first=count + 1):
                        count += 1
                        yield count, media
                else:
                    fields[key] = reader.value()
            if not is_case:
                count += 1
                yield count, fields

    # -- writing ------------------------------------------------------------------

    def _header(self, scheme: str) -> dict[str, str]:
        if self.version.startswith("1."):
            return {"odata.metadata": f"http://github.com/ICMEC/ProjectVic/DataModels/{self.version}.xml#Media"}
        segment = _SCHEME_NAMES.get(scheme) or scheme.removeprefix("projectvic-").upper()
        return {"@odata.context": f"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/{self.version}.xml/"
                                  f"{segment}/$metadata#Media"}

    def write_case(self, case: dict[str, Any], records: Iterable[Record], out: BinaryIO) -> None:
        """A ``#Cases`` file: one case (its fields as given) whose ``Media`` are the records."""
        it = iter(records)
        scheme, seen = self._file_scheme(it)
        header = self._header(scheme)
        header = {k: v.replace("#Media", "#Cases") for k, v in header.items()}
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        opening = dumps({k: v for k, v in case.items() if k != "Media"} or {"CaseNumber": None})[:-1]
        out.write(f'{json.dumps(header, ensure_ascii=False)[:-1]}, "value": [\n{opening}, "Media": [\n'.encode())
        n = 0
        for record in itertools.chain(seen, it):
            if record.revoked:
                continue
            n += 1
            out.write(((",\n" if n > 1 else "") + dumps(_to_media(record, n, scheme))).encode())
        out.write(b"\n]}]}\n")

    def _file_scheme(self, records: Iterator[Record]) -> tuple[str, list[Record]]:
        """The scheme this file will carry, and the records looked at to choose it."""
        if self.version.startswith("1."):
            return "projectvic-dhs", []
        seen: list[Record] = []
        for record in itertools.islice(records, _LOOKAHEAD):
            seen.append(record)
            scheme = record.category_scheme
            if record.category is not None and scheme and (scheme == "uk" or scheme.startswith("projectvic-")):
                return scheme, seen
        return "projectvic-default", seen

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        it = iter(records)
        scheme, seen = self._file_scheme(it)
        header = json.dumps(self._header(scheme), ensure_ascii=False)
        out.write(f'{header[:-1]}, "value": [\n'.encode())
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        batch: list[str] = []
        n = 0
        for record in itertools.chain(seen, it):
            if record.revoked:
                continue
            n += 1
            batch.append(dumps(_to_media(record, n, scheme)))
            if len(batch) >= 1000:
                out.write(((",\n" if n > len(batch) else "") + ",\n".join(batch)).encode())
                batch.clear()
        if batch:
            out.write(((",\n" if n > len(batch) else "") + ",\n".join(batch)).encode())
        out.write(b"\n]}\n")


class Vics12Format(VicsFormat):
    name: ClassVar[str] = "vics-1.2"
    description: ClassVar[str] = "Project VIC / VICS JSON 1.2 (odata.metadata)"
    version: ClassVar[str] = "1.2"


class Vics13Format(VicsFormat):
    name: ClassVar[str] = "vics-1.3"
    description: ClassVar[str] = "Project VIC / VICS JSON 1.3 (odata.metadata)"
    version: ClassVar[str] = "1.3"


class Vics20Format(VicsFormat):
    name: ClassVar[str] = "vics-2.0"
    description: ClassVar[str] = "Project VIC / VICS JSON 2.0 (@odata.context)"
    version: ClassVar[str] = "2.0"


# -- one Media object ↔ one Record ------------------------------------------------


def _bad(message: str, source: str, n: int) -> ListFormatError:
    return ListFormatError(message, source=source, record=n)


_HEX = {s.name: re.compile(f"[0-9a-f]{{{s.hex_digits}}}") for s in SIGNALS.hex_types()}
_MD5 = _HEX[MD5.name].fullmatch
_SHA1 = _HEX[SHA1.name].fullmatch
_BOOLS = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}


class _MediaReader:
    """Media objects → Records for one file. The hot path of a VICS import, so it avoids
    per-field work: the flag fields of a key layout are found once and cached (a file's
    Media nearly all share one layout), and common values take a dictionary lookup."""

    def __init__(self, scheme: str, source: str, notes: ReadNotes) -> None:
        self.scheme = scheme
        self.source = source
        self.notes = notes
        self._flags: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._names: dict[str, str | None] = {}

    def _hex(self, value: Any, field: str, kind: str, n: int) -> str | None:
        if value is None or value == "":
            return None
        if value.__class__ is str:
            text: str = value.lower()
            if _HEX[kind].fullmatch(text):
                return text
            try:
                return SIGNALS[kind].normalise(value)  # surrounding spaces; or the error message
            except ValueError as exc:
                raise _bad(f"{field}: {exc}", self.source, n) from None
        raise _bad(f"{field} must be a string of hex digits, not {value!r}", self.source, n)

    def _layout(self, keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the flag fields, the other Is… fields) among ``keys``."""
        flags = tuple(k for k in keys if k in _FLAGS)
        others = tuple(k for k in keys if k not in _FLAGS and _IS_FLAG.match(k))
        if len(self._flags) >= 256:  # a file whose every Media differs must not grow the cache for ever
            self._flags.clear()
        self._flags[keys] = (flags, others)
        return flags, others

    def record(self, item: Any, n: int) -> Record | None:
        """The Record for Media object number ``n`` (None, with a note, if it carries no hash)."""
        if item.__class__ is not dict:
            raise _bad(f"a Media record must be a JSON object, not {type(item).__name__}", self.source, n)
        meta: dict[str, Any] = item
        signals: list[Signal] = []
        # The common case inline (upper-case hex of the right length); anything else via _hex.
        value = meta.pop("MD5", None)
        md5 = value.lower() if value.__class__ is str else None
        if md5 is None or not _MD5(md5):
            md5 = self._hex(value, "MD5", MD5.name, n)
        if md5 is not None:
            signals.append(Signal(MD5.name, md5))
        value = meta.pop("SHA1", None)
        sha1 = value.lower() if value.__class__ is str else None
        if sha1 is None or not _SHA1(sha1):
            sha1 = self._hex(value, "SHA1", SHA1.name, n)
        if sha1 is not None:
            signals.append(Signal(SHA1.name, sha1))
        photodna = meta.pop("PhotoDNA", None)
        if photodna is not None and photodna != "":
            if not isinstance(photodna, str):
                raise _bad(f"PhotoDNA must be a string, not {photodna!r}", self.source, n)
            signals.append(Signal(PHOTODNA, photodna.strip()))
        alternatives = meta.pop("AlternativeHashes", None)
        if alternatives:
            unknown = self._alternatives(alternatives, signals, n)
            if unknown:
                meta["AlternativeHashes"] = unknown
        category = meta.pop("Category", None)
        if category.__class__ in (dict, list):
            raise _bad(f"Category must be a number, not {category!r}", self.source, n)
        keys = tuple(meta)
        flags, others = self._flags.get(keys) or self._layout(keys)
        for key in flags:
            value = meta[key]
            if value.__class__ is str:
                flag = _BOOLS.get(value)
                if flag is None:
                    try:
                        flag = parse_bool(value)
                    except ValueError as exc:
                        raise _bad(f"{key}: {exc}", self.source, n) from None
                meta[key] = flag
        for key in others:
            value = meta[key]
            if value.__class__ is str and value.strip().lower() in ("true", "false"):
                meta[key] = value.strip().lower() == "true"
        if not signals:
            self.notes.skip("VICS Media without any hash")
            return None
        if md5 is not None:
            entry_id = md5
        elif sha1 is not None:
            entry_id = sha1
        elif meta.get("MediaID") is not None:
            entry_id = str(meta["MediaID"])
        else:
            entry_id = signals[0].value
        if category is None or category == "":
            return Record(entry_id, signals, None, None, meta)
        return Record(entry_id, signals, str(category), self.scheme, meta)

    def _alternatives(self, items: Any, signals: list[Signal], n: int) -> list[Any]:
        """Append the known AlternativeHashes to ``signals``; the unknown ones, as given."""
        if not isinstance(items, list):
            raise _bad(f"AlternativeHashes must be a list, not {items!r}", self.source, n)
        unknown: list[Any] = []
        for alt in items:
            name = alt.get("HashName") if isinstance(alt, dict) else None
            if not isinstance(name, str):
                raise _bad(f"an AlternativeHashes item needs HashName and HashValue: {alt!r}", self.source, n)
            if name not in self._names:
                self._names[name] = _FROM_VICS.get(name.strip().lower())
            kind = self._names[name]
            if kind is None:
                unknown.append(alt)
                continue
            value = alt.get("HashValue")
            if kind in _HEX:
                text = self._hex(value, f"AlternativeHashes {name}", kind, n)
                if text is None:
                    raise _bad(f"AlternativeHashes {name} has no HashValue", self.source, n)
                signals.append(Signal(kind, text))
                continue
            if not isinstance(value, str):
                raise _bad(f"AlternativeHashes {name}: HashValue must be a string, not {value!r}", self.source, n)
            try:
                signals.append(Signal.of(kind, value))
            except ValueError as exc:
                raise _bad(f"AlternativeHashes {name}: {exc}", self.source, n) from None
        return unknown


# The signals a Media carries in fields of their own (the first of each type; others go to AlternativeHashes).
_FIELDS = (MD5.name, SHA1.name, PHOTODNA)


def _is_hex(name: str) -> bool:
    known = SIGNALS.get(name)
    return known is not None and known.hex_digits is not None


def _category_value(category: str) -> int | str:
    """VICS categories are numbers; a code that is not one is kept as text."""
    text = category.strip()
    return int(text) if text.lstrip("-").isdigit() else category


def _to_media(record: Record, n: int, scheme: str) -> dict[str, Any]:
    meta = record.metadata
    media: dict[str, Any] = {"MediaID": meta.get("MediaID", n)}
    media["Category"] = (_category_value(record.category)
                         if record.category is not None and record.category_scheme == scheme else None)
    first: dict[str, Signal] = {}
    rest: list[Signal] = []
    for s in record.signals:
        if s.derived is not None:
            continue
        if s.type in _FIELDS and s.type not in first:
            first[s.type] = s
        else:
            rest.append(s)
    if MD5.name in first:
        media["MD5"] = first[MD5.name].value.upper()
    if SHA1.name in first:
        media["SHA1"] = first[SHA1.name].value.upper()
    for key, value in meta.items():
        if key in _OWN or not _is_vics_key(key):
            continue
        if isinstance(value, bool) and (key in _FLAGS or _IS_FLAG.match(key)):
            value = "true" if value else "false"
        media[key] = value
    if PHOTODNA in first:
        media["PhotoDNA"] = first[PHOTODNA].value
    alternatives: list[Any] = [
        {"HashName": _TO_VICS.get(s.type, s.type),
         "HashValue": s.value.upper() if _is_hex(s.type) else s.value}
        for s in rest
    ]
    extra = meta.get("AlternativeHashes")
    if isinstance(extra, list):
        alternatives.extend(extra)
    if alternatives:
        media["AlternativeHashes"] = alternatives
    return media
