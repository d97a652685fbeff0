"""What every hash-list format implements (:class:`ListFormat`), and the text helpers they share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar, Protocol

from ...errors import ListFormatError
from ..model import Record

__all__ = ["ListFormat", "ReadNotes", "ReadOptions", "sniff_text", "text_lines"]


@dataclass(frozen=True)
class ReadOptions:
    # For files whose values do not say their type (plain files of 64-digit hashes: sha256 or pdq?).
    signal: str | None = None


@dataclass
class ReadNotes:
    """What a reader skipped on purpose (not errors): shown to the user after an import."""

    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1


class ListFormat(Protocol):
    name: ClassVar[str]
    description: ClassVar[str]
    # Whether a written file can say that an entry was revoked (NCMEC deletions, StopNCII
    # Withdrawn): exports to other formats leave revoked entries out.
    carries_revocations: ClassVar[bool]

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes (up to 64 KiB, BOM included) look like this format."""
        ...

    def read(self, stream: BinaryIO, *, source: str, options: ReadOptions, notes: ReadNotes) -> Iterator[Record]:
        """Records in file order. Raises ListFormatError (with line or record) on malformed input."""
        ...

    def write(self, records: Iterable[Record], out: BinaryIO, *, list_name: str) -> None:
        """Write records (revoked ones only if ``carries_revocations``) as a complete file."""
        ...


def sniff_text(head: bytes) -> str:
    """The first bytes of a file as text for sniffing: BOM dropped, a cut last character tolerated."""
    return head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")


def text_lines(stream: BinaryIO, *, source: str, keep_ends: bool = False) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line of a UTF-8 file: BOM dropped, CR LF or LF line ends removed
    (kept with ``keep_ends``, as the csv module wants them)."""
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ListFormatError(f"not UTF-8 text ({exc.reason})", source=source, line=number) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        yield number, line if keep_ends else line.rstrip("\r\n")
