"""Plain hash lists: one hex hash a line, blank lines and ``#`` comments skipped.

The type follows from the length: 32 hex digits md5, 40 sha1. 64 digits may be a
SHA-256 or a PDQ hash, and nothing in the file says which, so such a file needs
``--signal sha256`` or ``--signal pdq`` (ReadOptions.signal), which also forces the type
of every line. id = the value.

Writing puts one value a line: each entry's first signal of md5, sha1, sha256, pdq (in
that order of preference), or of the type the format was made with
(``PlainFormat(signal="pdq")``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO, ClassVar

from ...errors import ListFormatError, UsageError
from ...signals import MD5, PDQ, SHA1, SHA256, SIGNALS
from ..model import Record, Signal
from .base import ReadNotes, ReadOptions, sniff_text, text_lines

__all__ = ["PlainFormat"]

_BY_LENGTH = {32: MD5.name, 40: SHA1.name}
_PREFERENCE = (MD5.name, SHA1.name, SHA256.name, PDQ.name)
# How people type the names of ``--signal`` besides Vigil's own (any case).
_ALIASES = {"sha-1": SHA1.name, "sha-256": SHA256.name}
_HEX_LINE = re.compile(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}")


def _forced(name: str | None) -> str | None:
    """The signal type a caller asked for, checked: plain lines can only be fixed-length hex."""
    if name is None:
        return None
    key = name.strip().lower()
    kind = SIGNALS.get(_ALIASES.get(key, key))
    if kind is None or kind.hex_digits is None:
        names = ", ".join(s.name for s in SIGNALS.hex_types())
        raise UsageError(f"a plain hash list holds {names} values, not {name!r}")
    return kind.name


class PlainFormat:
    name: ClassVar[str] = "plain"
    description: ClassVar[str] = "plain hash list (one hex hash a line)"
    carries_revocations: ClassVar[bool] = False

    def __init__(self, signal: str | None = None) -> None:
        self.signal = _forced(signal)

    def sniff(self, head: bytes) -> bool:
        lines = sniff_text(head).splitlines()
        if len(head) >= 64 << 10 and lines:
            lines.pop()  # the last line may be cut
        seen = False
        for line in lines[:1000]:
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if not _HEX_LINE.fullmatch(text):
                return False
            seen = True
        return seen

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        forced = _forced(options.signal)
        for number, line in text_lines(stream, source=source):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind = forced or _BY_LENGTH.get(len(text))
            if kind is None:
                if len(text) == 64:
                    raise ListFormatError("64 hex digits may be a SHA-256 or a PDQ hash; "
                                          "pass --signal sha256 or --signal pdq", source=source, line=number)
                raise ListFormatError(f"not a hash of 32 (md5), 40 (sha1) or 64 hex digits: {text[:80]!r}",
                                      source=source, line=number)
            try:
                signal = Signal.of(kind, text)
            except ValueError as exc:
                raise ListFormatError(str(exc), source=source, line=number) from None
            yield Record(signal.value, [signal])

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        preference = (self.signal,) if self.signal else _PREFERENCE
        batch: list[str] = []
        for record in records:
            if record.revoked:
                continue
            own = {s.type: s.value for s in reversed(record.signals) if s.derived is None}
            value = next((own[kind] for kind in preference if kind in own), None)
            if value is not None:
                batch.append(value + "\n")
            if len(batch) >= 4096:
                out.write("".join(batch).encode())
                batch.clear()
        out.write("".join(batch).encode())
