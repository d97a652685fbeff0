"""NCMEC hash-sharing API v2 XML: the ``entries`` response (``queryResult``).

::

    <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
      <images count="2" maxTimestamp="2017-10-24T15:10:00Z">
        <image>
          <member id="42">Example Member</member>
          <timestamp>2017-10-24T15:00:00Z</timestamp>
          <id>image1</id>
          <classification>A1</classification>
          <fingerprints><md5>…</md5><sha1>…</sha1><pdq>…</pdq></fingerprints>
        </image>
        <deletedImage><member id="43">…</member><id>image4</id><timestamp>…</timestamp></deletedImage>
      </images>
      <videos count="0"/>
    </queryResult>

Record mapping: id = ``<id>``; signals from ``<fingerprints>`` (md5, sha1, pdq; ``pdna``
is NCMEC's name for PhotoDNA and becomes photodna; any other kept under its lower-cased
tag); category = ``<classification>`` with scheme ``ncmec``; metadata ``kind`` ("image" or
"video"), ``member_id``, ``member_name`` and ``timestamp``. ``deletedImage``/``deletedVideo``
become revoked records with no signals (a deletion notice names the entry only).
Fingerprints NCMEC gives only as a link (``<tmk-pdqf href=…/>``) and member feedback are
not read.

Parsing goes through defusedxml (no entity expansion, no external fetches), element by
element; each entry is dropped from the tree once read, so memory stays bounded.

Writing groups entries under ``<images>`` and ``<videos>`` as the API does, with the
``count`` and ``maxTimestamp`` its clients expect, so each group is spooled to a
temporary file (bounded memory) until its count is known; a file read back lists the
images first, then the videos. An entry's kind is its ``kind`` metadata, else video for a
record with a vPDQ or a video media type, else image. Revoked records are written
as ``deletedImage``/``deletedVideo``; a classification is written only when its scheme is
``ncmec`` (another scheme's code would be read as NCMEC's).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, BinaryIO, ClassVar
from xml.sax.saxutils import escape, quoteattr

import defusedxml  # no stubs are published for defusedxml
import defusedxml.ElementTree as DET

from ...errors import ListFormatError
from ...signals import SHA1, SHA256, VPDQ
from ..model import PHOTODNA, Record, Signal
from .base import ReadNotes, ReadOptions, sniff_text

__all__ = ["NcmecFormat", "NAMESPACE", "SCHEME"]

NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"
SCHEME = "ncmec"
_ENTRIES = {"image": ("image", False), "video": ("video", False),
            "deletedImage": ("image", True), "deletedVideo": ("video", True)}
# NCMEC's fingerprint names (lower-cased) that differ from Vigil's signal names, both ways; any other
# is Vigil's name already (md5, sha1, pdq …) or a type Vigil keeps under NCMEC's name.
_FROM_NCMEC = {"pdna": PHOTODNA, "sha-1": SHA1.name, "sha-256": SHA256.name}
_TO_NCMEC = {PHOTODNA: "pdna"}
_XML_NAME = re.compile(r"[A-Za-z_][\w.-]*")
_SNIFF = re.compile(r"<(?:[\w.-]+:)?queryResult[\s>/]")
_POSITION = re.compile(r": line \d+, column \d+$")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(elem: ET.Element | None) -> str:
    return (elem.text or "").strip() if elem is not None else ""


class NcmecFormat:
    name: ClassVar[str] = "ncmec"
    description: ClassVar[str] = "NCMEC hash-sharing API v2 XML (queryResult)"
    carries_revocations: ClassVar[bool] = True

    def sniff(self, head: bytes) -> bool:
        return _SNIFF.search(sniff_text(head)) is not None

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        n = 0
        stack: list[ET.Element] = []
        try:
            for event, elem in DET.iterparse(stream, events=("start", "end")):
                if event == "start":
                    if not stack and _local(elem.tag) != "queryResult":
                        raise ListFormatError(f"the root element is <{_local(elem.tag)}>, not <queryResult>: "
                                              "not an NCMEC hash-sharing response", source=source)
                    stack.append(elem)
                    continue
                stack.pop()
                tag = _local(elem.tag)
                if tag in _ENTRIES and stack and _local(stack[-1].tag) not in _ENTRIES:
                    n += 1
                    record = _entry(elem, tag, n, source, notes)
                    stack[-1].remove(elem)  # the tree never holds more than one entry
                    if record is not None:
                        yield record
        except ET.ParseError as exc:
            line = exc.position[0] if exc.position else None
            message = _POSITION.sub("", str(exc))
            if message.startswith("no element found") or message.startswith("unclosed token"):
                message += "; the file is truncated"
            raise ListFormatError(f"malformed XML: {message}", source=source, line=line) from None
        except LookupError as exc:  # the XML declaration names an encoding Python does not know
            raise ListFormatError(f"malformed XML: {exc}", source=source, line=1) from None
        except defusedxml.DefusedXmlException as exc:
            raise ListFormatError(f"refused XML: {exc}", source=source) from None

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        counts = {"image": 0, "video": 0}
        latest = {"image": "", "video": ""}
        with contextlib.ExitStack() as stack:
            groups: dict[str, IO[bytes]] = {
                kind: stack.enter_context(tempfile.SpooledTemporaryFile(max_size=8 << 20)) for kind in counts}
            for record in records:
                text = _entry_xml(record)
                if text is None:
                    continue
                kind = _kind(record)
                groups[kind].write(text.encode())
                counts[kind] += 1
                stamp = record.metadata.get("timestamp")
                if isinstance(stamp, str) and stamp > latest[kind]:
                    latest[kind] = stamp
            out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
            out.write(f'<queryResult xmlns="{NAMESPACE}">\n'.encode())
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for kind in ("image", "video"):
                if not counts[kind]:
                    out.write(f'    <{kind}s count="0"/>\n'.encode())
                    continue
                stamp = latest[kind] or now
                out.write(f'    <{kind}s count="{counts[kind]}" maxTimestamp={quoteattr(stamp)}>\n'.encode())
                groups[kind].seek(0)
                shutil.copyfileobj(groups[kind], out)
                out.write(f"    </{kind}s>\n".encode())
            out.write(b"</queryResult>\n")


def _entry(elem: ET.Element, tag: str, n: int, source: str, notes: ReadNotes) -> Record | None:
    kind, deleted = _ENTRIES[tag]
    children = {_local(c.tag): c for c in elem}
    entry_id = _text(children.get("id"))
    if not entry_id:
        raise ListFormatError(f"<{tag}> without an <id>", source=source, record=n)
    meta: dict[str, object] = {"kind": kind}
    member = children.get("member")
    if member is not None:
        if member.get("id") is not None:
            meta["member_id"] = member.get("id", "").strip()
        if _text(member):
            meta["member_name"] = _text(member)
    if _text(children.get("timestamp")):
        meta["timestamp"] = _text(children.get("timestamp"))
    if deleted:
        return Record(entry_id, metadata=meta, revoked=True)
    signals: list[Signal] = []
    fingerprints = children.get("fingerprints")
    for child in fingerprints if fingerprints is not None else ():
        name = _local(child.tag).lower()
        value = _text(child)
        if not value:
            notes.skip(f"NCMEC {name} fingerprint given only as a link")
            continue
        signal_type = _FROM_NCMEC.get(name, name)
        try:
            signals.append(Signal.of(signal_type, value))
        except ValueError as exc:
            raise ListFormatError(f"entry {entry_id!r}: {exc}", source=source, record=n) from None
    if not signals:
        notes.skip("NCMEC entry without fingerprints")
        return None
    category = _text(children.get("classification")) or None
    return Record(entry_id, signals, category, SCHEME if category else None, meta)


def _kind(record: Record) -> str:
    """image or video: as NCMEC said, else guessed from the signals and media type."""
    meta = record.metadata
    kind = meta.get("kind")
    if kind in ("image", "video"):
        return str(kind)
    mime = meta.get("MimeType") or meta.get("icse_media_type") or ""
    if record.signal(VPDQ.name) is not None or (isinstance(mime, str) and mime.lower().startswith("video")):
        return "video"
    return "image"


def _entry_xml(record: Record) -> str | None:
    kind = _kind(record)
    meta = record.metadata
    lines: list[str] = []
    member_id, member_name = meta.get("member_id"), meta.get("member_name")
    if member_id is not None or member_name is not None:
        attr = f" id={quoteattr(str(member_id))}" if member_id is not None else ""
        lines.append(f"<member{attr}>{escape(str(member_name or ''))}</member>")
    stamp = meta.get("timestamp")
    stamp_xml = f"<timestamp>{escape(str(stamp))}</timestamp>" if stamp is not None else ""
    if record.revoked:
        tag = "deletedImage" if kind == "image" else "deletedVideo"
        lines += [f"<id>{escape(record.id)}</id>", stamp_xml]
    else:
        fingerprints = [
            f"<{t}>{escape(s.value)}</{t}>"
            for s in record.signals
            if s.derived is None and _XML_NAME.fullmatch(t := _TO_NCMEC.get(s.type, s.type))
        ]
        if not fingerprints:
            return None
        tag = kind
        lines += [stamp_xml, f"<id>{escape(record.id)}</id>"]
        if record.category is not None and record.category_scheme == SCHEME:
            lines.append(f"<classification>{escape(record.category)}</classification>")
        lines.append("<fingerprints>" + "".join(fingerprints) + "</fingerprints>")
    body = "".join(f"\n            {line}" for line in lines if line)
    return f"        <{tag}>{body}\n        </{tag}>\n"
