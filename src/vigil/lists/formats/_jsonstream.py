"""A pull reader for big JSON documents: walk objects key by key, stream arrays element by element.

Hash lists arrive as one JSON object whose big member is an array (VICS ``value``,
StopNCII ``hashRecords``) of millions of small objects. ``json.load`` would hold the
whole file in memory; a token-by-token parser in Python would be slow. This reader
does neither: it keeps about one chunk (1 MiB) of text and decodes each array element
with the C decoder (``JSONDecoder.raw_decode``), so memory stays bounded by the largest
element and speed stays close to ``json.loads``.

Callers drive it as a pull parser::

    reader = JsonReader(stream, source="list.json")
    for key in reader.members():            # members of the top-level object
        if key == "value":
            for item in reader.values():  # elements of the array, decoded one at a time
                ...
        else:
            small = reader.value()        # any other member, decoded whole
    reader.finish()

Every problem raises ListFormatError naming the record (``reader.record``, 1-based in
the innermost streamed array) and the line; a file that stops early says which record
it ends inside.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from json.scanner import make_scanner
from typing import Any, BinaryIO

from ...errors import ListFormatError

__all__ = ["JsonReader", "CHUNK"]

CHUNK = 1 << 20
# A decode error this far before the end of the text held cannot be cured by reading more.
_MARGIN = 64
_WS = re.compile(r"[ \t\n\r]*")
# What may follow an array element or an object member: a comma, or the closing bracket.
_AFTER_ITEM = re.compile(r"[ \t\n\r]*(?:(,)[ \t\n\r]*|(\]))")
_AFTER_MEMBER = re.compile(r"[ \t\n\r]*(?:(,)|(\}))")
_COLON = re.compile(r"[ \t\n\r]*:")


class JsonReader:
    """Reads one JSON document from a binary stream, a chunk at a time (see the module docstring)."""

    def __init__(self, stream: BinaryIO, *, source: str, chunk_size: int = CHUNK) -> None:
        self.source = source
        # The record being read, for error messages: set by values(), or by a caller that counts.
        self.record: int | None = None
        self._stream = stream
        self._chunk = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._scan = make_scanner(self._json)  # type: ignore[arg-type]  # typeshed: any decoder-like context
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._lines_before = 0  # newlines in text already dropped from the buffer
        self._started = False

    # -- buffer -----------------------------------------------------------------

    def _fill(self) -> bool:
        """Append the next chunk, dropping what has been consumed; False at the end of the stream."""
        if self._eof:
            return False
        # Read at least as much as is held: a value bigger than a chunk is then re-scanned
        # only O(log n) times, not once per chunk.
        data = self._stream.read(max(self._chunk, len(self._buf) - self._pos))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise self.error(f"not UTF-8 text ({exc.reason})") from None
        if not data:
            self._eof = True
            return False
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")  # a BOM, as Windows tools write it
        if self._pos:
            self._lines_before += self._buf.count("\n", 0, self._pos)
            self._buf = self._buf[self._pos:] + text
            self._pos = 0
        else:
            self._buf += text
        return True

    def _line(self, pos: int) -> int:
        return self._lines_before + self._buf.count("\n", 0, min(pos, len(self._buf))) + 1

    def error(self, message: str, pos: int | None = None) -> ListFormatError:
        """A ListFormatError at ``pos`` (default: the read position), naming line and record."""
        return ListFormatError(message, source=self.source, line=self._line(self._pos if pos is None else pos),
                               record=self.record)

    def _ends_inside(self, what: str) -> ListFormatError:
        if not self._started:
            return ListFormatError("the file is empty", source=self.source)
        if self.record is not None:
            return ListFormatError(f"the file ends inside record {self.record}; it is truncated",
                                   source=self.source, line=self._line(len(self._buf)), record=self.record)
        return ListFormatError(f"the file ends inside {what}; it is truncated", source=self.source,
                               line=self._line(len(self._buf)))

    def _skip_ws(self) -> str:
        """Move past whitespace; the next character, or "" at the end of the file."""
        while True:
            m = _WS.match(self._buf, self._pos)
            if m is not None:
                self._pos = m.end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def _snippet(self) -> str:
        return repr(self._buf[self._pos:self._pos + 20])

    def _need(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        """Match a separator at the read position, reading more while what follows it is not yet here."""
        while True:
            if self._skip_ws() == "":
                raise self._ends_inside(what)
            m = pattern.match(self._buf, self._pos)
            if m is None:
                raise self.error(f"expected {what}, found {self._snippet()}")
            if m.end() < len(self._buf) or not self._fill():
                return m

    def _decode(self) -> Any:
        """Decode one whole value at the read position (after whitespace), refilling as needed."""
        if self._skip_ws() == "":
            raise self._ends_inside("the document")
        decode = self._json.raw_decode
        while True:
            buf = self._buf
            try:
                obj, end = decode(buf, self._pos)
            except json.JSONDecodeError as exc:
                # Errors at the end of the text held (or an open string) may just need the next chunk.
                at_end = exc.pos >= len(buf) - _MARGIN or exc.msg.startswith("Unterminated string")
                if at_end and self._fill():
                    continue
                cut = exc.pos >= len(buf) or exc.msg.startswith("Unterminated string") or (
                    exc.msg.startswith("Invalid \\uXXXX") and exc.pos >= len(buf) - 6)
                if self._eof and cut:
                    raise self._ends_inside("a value") from None
                raise self.error(f"malformed JSON: {exc.msg}", exc.pos) from None
            if end >= len(buf) and self._fill():
                continue  # a number at the end of the text may go on in the next chunk
            self._pos = end
            return obj

    # -- the pull interface ------------------------------------------------------

    def peek(self) -> str:
        """The next non-space character ("" at the end of the file), not consumed."""
        return self._skip_ws()

    def value(self) -> Any:
        """The next value, decoded whole."""
        return self._decode()

    def members(self) -> Iterator[str]:
        """The members of the object at the read position, one key at a time.

        After each key the reader stands at its value; the caller must consume it
        (``value()``, ``values()`` or a nested ``members()``) before asking for the next key.
        """
        c = self._skip_ws()
        if c != "{":
            if c == "":
                raise self._ends_inside("the document")
            raise self.error(f"expected a JSON object, found {self._snippet()}")
        self._pos += 1
        if self._skip_ws() == "}":
            self._pos += 1
            return
        while True:
            c = self._skip_ws()
            if c != '"':
                if c == "":
                    raise self._ends_inside("an object")
                raise self.error(f"expected a member name, found {self._snippet()}")
            key = self._decode()
            self._pos = self._need(_COLON, "':'").end()
            yield key
            m = self._need(_AFTER_MEMBER, "',' or '}'")
            self._pos = m.end()
            if m.group(2):
                return

    def _open_array(self) -> bool:
        """Consume '['; False (and the ']' consumed too) when the array is empty."""
        c = self._skip_ws()
        if c != "[":
            if c == "":
                raise self._ends_inside("the document")
            raise self.error(f"expected a JSON array, found {self._snippet()}")
        self._pos += 1
        if self._skip_ws() == "]":
            self._pos += 1
            return False
        return True

    def elements(self) -> Iterator[int]:
        """The elements of the array at the read position, not decoded: yields each one's number
        (1-based, also set as ``record``) with the reader standing at it; the caller consumes it."""
        outer = self.record
        if not self._open_array():
            return
        n = 0
        while True:
            n += 1
            self.record = n
            yield n
            m = self._need(_AFTER_ITEM, "',' or ']'")
            self._pos = m.end()
            if m.group(2):
                self.record = outer
                return

    def values(self, first: int = 1) -> Iterator[Any]:
        """The elements of the array at the read position, each decoded whole.

        ``record`` is set to each element's number, counting from ``first`` (a caller that
        streams several arrays as one sequence of records passes where it got to).
        The hot loop of every JSON import: locals only, one regex match and one C decode per element.
        """
        outer = self.record
        if not self._open_array():
            return
        n = first - 1
        # The C scanner itself, without raw_decode's Python frame: it raises StopIteration where
        # raw_decode would say "Expecting value", and JSONDecodeError for the rest.
        scan = self._scan
        after = _AFTER_ITEM.match
        while True:
            n += 1
            self.record = n
            buf = self._buf
            try:
                obj, end = scan(buf, self._pos)
                # The element, its separator and the start of what follows must all be here.
                m = after(buf, end)
                if m is None or m.end() >= len(buf):
                    raise IndexError
            except (json.JSONDecodeError, StopIteration, IndexError):
                obj = self._decode()
                m = self._need(_AFTER_ITEM, "',' or ']'")
            self._pos = m.end()
            yield obj
            if m.group(2):
                self.record = outer
                return

    def finish(self) -> None:
        """Check that nothing but whitespace follows the document."""
        if self._skip_ws() != "":
            raise self.error(f"unexpected text after the JSON document: {self._snippet()}")
