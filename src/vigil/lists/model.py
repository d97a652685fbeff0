"""What a hash list holds, independent of where it is stored or how it was exchanged.

A *record* is one entry as an exchange format carries it: an id from its source,
its signals, a category with the name of its category scheme, free metadata and a
revoked flag. Formats read files into records and write records into files; the
store keeps them as entries of a named list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import InvalidValue, MalformedSignal
from ..signals import SIGNALS

__all__ = ["PHOTODNA", "Signal", "Record", "parse_bool", "metadata_to_json", "signals_from_json", "signals_to_json"]

# PhotoDNA, as lists carry it: no signal type is registered for it (its algorithm is licensed), so its
# values are kept as given and exported again, never matched. A plug-in that registers it uses this name.
PHOTODNA = "photodna"




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

    ``type`` is a registered signal type's name (``vigil.signals.SIGNALS``), or the name of
    a type Vigil does not match (a list's PhotoDNA, say), kept so that it is exported again.
    ``value`` is normalised by its registered type (lower-case hex for md5, sha1, sha256 and
    pdq; the reference ``frame,quality,hex,timestamp`` lines, newline-separated, for vpdq);
    other types as the list gave them. ``derived`` is None for a hash of the media itself,
    or says how a media-backed list derived it (``crop …``).
    """

    type: str
    value: str
    quality: int | None = None
    derived: str | None = None

    @classmethod
    def of(cls, type_: str, value: str, quality: int | None = None, derived: str | None = None) -> Signal:
        """A signal with its value checked and normalised (MalformedSignal, a ValueError, if malformed)."""
        known = SIGNALS.get(type_)
        if known is not None:
            value = known.normalise(value)
        else:
            value = value.strip()
            if not value:
                raise MalformedSignal(f"empty {type_} value")
        if quality is not None and not 0 <= quality <= 100:
            raise MalformedSignal(f"quality must be 0-100, not {quality}")
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
