"""What every signal type is: its one name, its text form, its distance and how lists index it.

A signal type (in the spirit of python-threatexchange's ``SignalType``) knows the values of
one signal as text, never how to compute them from media: that is the work of
``signals.digests``, ``signals.pdq`` and ``signals.vpdq``, which stay out of this module so
that reading a list never loads numpy, Pillow or FFmpeg. Its ``name`` is the one string used
everywhere: the CLI's choice, the store's value, the report's key, the list formats' target.
The names the field spells differently (``SHA-1``, ThreatExchange's ``video_md5``, NCMEC's
``pdna``) belong to the formats that speak them.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from enum import StrEnum

from ..errors import MalformedSignal

__all__ = ["IndexKind", "SignalType", "HexSignalType"]

# Lower-case hex digits only (a regex: list imports check tens of millions of values).
_HEX = re.compile(r"[0-9a-f]*")


class IndexKind(StrEnum):
    """How a compiled list finds a signal's matches (``vigil.index``)."""

    EXACT = "exact"  # equality, over sorted digests
    PDQ = "pdq"  # Hamming distance range search over 256-bit hashes
    VPDQ = "vpdq"  # frames by PDQ range search, then videos scored frame against frame


class SignalType(ABC):
    """One kind of signal. Instances are registered by name in ``vigil.signals.SIGNALS``.

    ``normalise`` turns any text the field sends (upper-case hex, surrounding spaces) into the
    one form Vigil keeps, or raises :class:`~vigil.errors.MalformedSignal` with a one-line
    message; ``validate`` checks that a value already is in that form. ``distance`` is 0 for
    equal values; ``threshold`` is the default distance at or under which two values match
    (lists may override it), ``quality`` the default quality under which a value is not
    matched (None where values carry no quality).
    """

    name: str
    index: IndexKind
    file_digest: bool  # computed for any file's bytes (True) or from decoded media (False: perceptual)
    hex_digits: int | None = None  # the length of a value, for fixed-length hex types
    threshold: int = 0
    quality: int | None = None
    ignores_case: bool = False  # whether upper-case text is the same value (hex: the field writes it upper-case)
    examples: tuple[str, ...] = ()  # valid values in normal form, for tests and demos

    @abstractmethod
    def normalise(self, text: str) -> str:
        """The value in Vigil's form; MalformedSignal if ``text`` is not a value of this type."""

    @abstractmethod
    def distance(self, a: str, b: str) -> int:
        """How far apart two values are (0: the same); MalformedSignal if either is malformed."""

    def validate(self, value: str) -> None:
        """MalformedSignal unless ``value`` is a value of this type already in normal form."""
        if self.normalise(value) != value:
            raise MalformedSignal(f"not a {self.name} value in normal form: {value[:80]!r}")

    def matches(self, a: str, b: str, threshold: int | None = None) -> bool:
        """Whether two values match at ``threshold`` (default: the type's own)."""
        return self.distance(a, b) <= (self.threshold if threshold is None else threshold)

    def __repr__(self) -> str:
        return f"<signal type {self.name}>"


class HexSignalType(SignalType):
    """A fixed-length hex value compared for equality: a file digest such as md5.

    Its distance is 0 for equal values and 1 for any others: digests of different bytes are
    unrelated however many digits they share.
    """

    def __init__(self, name: str, hex_digits: int, examples: tuple[str, ...], *,
                 index: IndexKind = IndexKind.EXACT, file_digest: bool = True) -> None:
        self.name = name
        self.hex_digits = hex_digits
        self.examples = examples
        self.index = index
        self.file_digest = file_digest
        self.ignores_case = True

    def normalise(self, text: str) -> str:
        value = text.strip().lower()
        if len(value) != self.hex_digits or _HEX.fullmatch(value) is None:
            raise MalformedSignal(f"not a {self.name} value ({self.hex_digits} hex digits): {text.strip()[:80]!r}")
        return value

    def distance(self, a: str, b: str) -> int:
        return int(self.normalise(a) != self.normalise(b))
