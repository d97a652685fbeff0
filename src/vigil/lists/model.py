"""What a hash list holds, independent of where it is stored or how it was exchanged.

A *record* is one entry as an exchange format carries it: an id from its source,
its signals, a category with the name of its category scheme, free metadata and a
revoked flag. Formats read files into records and write records into files; the
store keeps them as entries of a named list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import InvalidValue

__all__ = [
    "HEX_SIGNALS",
    "MATCHABLE",
    "Signal",
    "Record",
    "normalise_hex",
    "parse_bool",
    "signal_name",
]

# Signals whose value is lower-case hex of a fixed length.
HEX_SIGNALS: dict[str, int] = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
# Lower-case hex digits only (a regex: list imports check tens of millions of values).
_HEX = re.compile(r"[0-9a-f]*")
# Signals Vigil can match; others (a licensed PhotoDNA, say) are kept and exported unchanged.
MATCHABLE = frozenset({"md5", "sha1", "sha256", "pdq", "vpdq"})

# Names the field uses for the signals Vigil knows, case-insensitively.
_ALIASES: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
    "sha256": "sha256",
    "sha-256": "sha256",
    "pdq": "pdq",
    "vpdq": "vpdq",
    "photodna": "photodna",
}


def signal_name(name: str) -> str | None:
    """Vigil's name for a signal type as a list spells it (``PDQ``, ``SHA-1``), or None."""
    return _ALIASES.get(name.strip().lower())


def normalise_hex(signal: str, value: str) -> str:
    """Lower-case hex of the right length for ``signal``; InvalidValue otherwise."""
    text = value.strip().lower()
    want = HEX_SIGNALS[signal]
    if len(text) != want or _HEX.fullmatch(text) is None:
        raise InvalidValue(f"not a {signal} value ({want} hex digits): {value.strip()[:80]!r}")
    return text


def parse_bool(value: object) -> bool | None:
    """Flags arrive as JSON booleans, "true"/"false" strings, 1/0 or empty."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("", "null", "none"):
        return None
    if text in ("true", "1", "yes", "y"):
        return True
    if text in ("false", "0", "no", "n"):
        return False
    raise InvalidValue(f"not a true/false value: {str(value)[:40]!r}")


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal of an entry.

    ``value`` is normalised: lower-case hex for md5, sha1, sha256 and pdq; the
    reference ``frame,quality,hex,timestamp`` lines (newline-separated) for vpdq;
    other types as the list gave them. ``derived`` is None for a hash of the
    media itself, or says how a media-backed list derived it (``crop …``).
    """

    type: str
    value: str
    quality: int | None = None
    derived: str | None = None

    @classmethod
    def of(cls, type_: str, value: str, quality: int | None = None, derived: str | None = None) -> Signal:
        """A signal with its value checked and normalised (InvalidValue if malformed)."""
        if type_ in HEX_SIGNALS:
            value = normalise_hex(type_, value)
        elif type_ == "vpdq":
            value = _normalise_vpdq(value)
        else:
            value = value.strip()
            if not value:
                raise InvalidValue(f"empty {type_} value")
        if quality is not None and not 0 <= quality <= 100:
            raise InvalidValue(f"quality must be 0-100, not {quality}")
        return cls(type_, value, quality, derived)

    def to_json(self) -> list[object]:
        out: list[object] = [self.type, self.value]
        if self.quality is not None or self.derived is not None:
            out.append(self.quality)
        if self.derived is not None:
            out.append(self.derived)
        return out

    @classmethod
    def from_json(cls, item: list[Any]) -> Signal:
        return cls(item[0], item[1], item[2] if len(item) > 2 else None, item[3] if len(item) > 3 else None)


def _normalise_vpdq(value: str) -> str:
    from ..signals.vpdq import parse_line  # signals is core too; imported late to keep this module light

    lines = [line for line in value.replace(";", "\n").splitlines() if line.strip()]
    if not lines:
        raise InvalidValue("empty vpdq value")
    return "\n".join(parse_line(line).to_line() for line in lines)


@dataclass(slots=True)
class Record:
    """One entry as an exchange format carries it."""

    id: str
    signals: list[Signal] = field(default_factory=list)
    category: str | None = None
    category_scheme: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    revoked: bool = False

    def signal(self, type_: str) -> Signal | None:
        """The first signal of a type that is the media's own (not derived)."""
        for s in self.signals:
            if s.type == type_ and s.derived is None:
                return s
        return None


# orjson: an import encodes two JSON documents per entry, and the standard encoder was a
# third of a million-entry import's time (measured).
def signals_to_json(signals: Iterable[Signal]) -> str:
    return orjson.dumps([s.to_json() for s in signals]).decode()


def signals_from_json(text: str) -> list[Signal]:
    return [Signal.from_json(item) for item in orjson.loads(text)]


def metadata_to_json(metadata: Mapping[str, Any]) -> str:
    """Canonical (sorted keys), so that equal metadata is equal text."""
    try:
        return orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer past 64 bits, say: the standard encoder takes it
        return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
