"""The signal types Vigil knows, by name, in a stable order (the order they were registered)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..errors import UsageError
from .base import IndexKind, SignalType

__all__ = ["SignalRegistry"]

# A name is a config key, a database value, a CLI choice and a file name: keep it plain.
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class SignalRegistry:
    """Signal types by their one name. A second type of the same name is refused, not
    silently put in place of the first (a plug-in must not shadow a built-in)."""

    def __init__(self, types: Iterable[SignalType] = ()) -> None:
        self._by_name: dict[str, SignalType] = {}
        for signal in types:
            self.register(signal)

    def register(self, signal: SignalType) -> SignalType:
        """Add ``signal``; UsageError if its name is taken or not a plain lower-case name."""
        if not isinstance(signal.name, str) or _NAME.fullmatch(signal.name) is None:
            raise UsageError(f"a signal type's name must be lower-case letters, digits and _: {signal.name!r}")
        if signal.name in self._by_name:
            raise UsageError(f"two signal types are named {signal.name!r}")
        # The indexes keep values as bits of a fixed width: any for an exact index, 256 for PDQ's.
        if signal.index is IndexKind.EXACT and not signal.hex_digits:
            raise UsageError(f"signal type {signal.name!r} is matched by equality, so its values must be hex "
                             "of a fixed length (hex_digits)")
        if signal.index is IndexKind.PDQ and signal.hex_digits != 64:
            raise UsageError(f"signal type {signal.name!r} is indexed as PDQ, so its values must be 64 hex digits")
        self._by_name[signal.name] = signal
        return signal

    def get(self, name: str) -> SignalType | None:
        """The type called exactly ``name``, or None."""
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> SignalType:
        found = self._by_name.get(name)
        if found is None:
            raise UsageError(f"unknown signal type {name!r} (want {self.names_text()})")
        return found

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[SignalType]:
        return iter(tuple(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def names_text(self, types: Iterable[SignalType] | None = None) -> str:
        """``md5, sha1, sha256, pdq or vpdq``: the names for a message."""
        names = [s.name for s in (self if types is None else types)]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def indexed_by(self, kind: IndexKind) -> tuple[SignalType, ...]:
        return tuple(s for s in self if s.index is kind)

    def hex_types(self, digits: int | None = None) -> tuple[SignalType, ...]:
        """The fixed-length hex types (of ``digits`` digits, if given)."""
        return tuple(s for s in self
                     if s.hex_digits is not None and (digits is None or s.hex_digits == digits))
