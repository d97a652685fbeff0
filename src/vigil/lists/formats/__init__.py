"""Hash-list exchange formats: each reads a file into records and writes records into a file.

One module per format, one name per format, used everywhere (the CLI's ``--format``,
the store's provenance, the docs). Readers stream: a 30-million-entry file is read
in bounded memory. A malformed file raises :class:`~vigil.lists.model.ListFormatError`
naming the line or record; the caller keeps nothing of a file that fails.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import ListFormatError, UsageError
from .base import ListFormat, ReadNotes, ReadOptions, sniff_text, text_lines
from .icse import IcseFormat
from .ncmec import NcmecFormat
from .plain import PlainFormat
from .stopncii import StopNciiFormat
from .threatexchange import ThreatExchangeFormat
from .vics import Vics12Format, Vics13Format, Vics20Format, VicsFormat

__all__ = ["FORMATS", "ListFormat", "ReadNotes", "ReadOptions", "detect_format", "get_format", "sniff_text",
           "text_lines"]




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
