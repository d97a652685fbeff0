"""Hash-list exchange formats: each reads a file into records and writes records into a file.

One module per format, one name per format, used everywhere (the CLI's ``--format``,
the store's provenance, the docs). Readers stream: a 30-million-entry file is read
in bounded memory. A malformed file raises :class:`~vigil.lists.model.ListFormatError`
naming the line or record; the caller keeps nothing of a file that fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, ClassVar, Protocol

from ...errors import ListFormatError, UsageError
from ..model import Record

__all__ = ["ListFormat", "ReadOptions", "ReadNotes", "FORMATS", "get_format", "detect_format"]


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


# Imported here, after the interface they implement, so that each module can name it.
from .icse import IcseFormat  # noqa: E402
from .ncmec import NcmecFormat  # noqa: E402
from .plain import PlainFormat  # noqa: E402
from .stopncii import StopNciiFormat  # noqa: E402
from .threatexchange import ThreatExchangeFormat  # noqa: E402
from .vics import Vics12Format, Vics13Format, Vics20Format, VicsFormat  # noqa: E402


def _registry(formats: Iterable[ListFormat]) -> dict[str, ListFormat]:
    """One instance per name; a duplicate name is a programming error worth a real message."""
    out: dict[str, ListFormat] = {}
    for fmt in formats:
        if fmt.name in out:
            raise UsageError(f"two list formats are named {fmt.name!r}")
        out[fmt.name] = fmt
    return out


FORMATS: dict[str, ListFormat] = _registry([
    VicsFormat(), Vics12Format(), Vics13Format(), Vics20Format(),
    NcmecFormat(), StopNciiFormat(), IcseFormat(), ThreatExchangeFormat(), PlainFormat(),
])

# Other names people use for a format.
_ALIASES = {"threatexchange": "te", "projectvic": "vics", "vic": "vics", "stop-ncii": "stopncii"}

# Sniffing order: the most specific content first. The versioned VICS writers read like "vics",
# so only "vics" is offered; "plain" (lines of bare hex) claims the least and comes last.
_DETECT = ("vics", "stopncii", "ncmec", "icse", "te", "plain")


def get_format(name: str) -> ListFormat:
    """The format called ``name`` (or one of its aliases), case-insensitively."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return FORMATS[key]
    except KeyError:
        raise UsageError(f"unknown list format {name!r}; choose one of: {', '.join(FORMATS)}") from None


def detect_format(head: bytes) -> ListFormat:
    """The format a file is in, judged by its first bytes (never by its name)."""
    for name in _DETECT:
        if FORMATS[name].sniff(head):
            return FORMATS[name]
    raise ListFormatError("cannot tell the format; pass --format NAME "
                          f"(one of: {', '.join(FORMATS)})")
