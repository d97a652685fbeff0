"""The PDQ signal type: 64 lower-case hex digits (256 bits), compared by Hamming distance.

Computing PDQ from a photo is ``signals.pdq``'s work; this module is the value's text and
distance only, so that lists can check PDQ values without loading the photo stack.
"""

from __future__ import annotations

from .base import HexSignalType, IndexKind

__all__ = ["PdqSignalType", "PDQ"]


class PdqSignalType(HexSignalType):
    """PDQ: Hamming distance between the 256-bit hashes; the field matches at 31 or under, and
    leaves hashes of quality under 50 (near-flat photos, whose hashes are noise) unmatched."""

    def __init__(self) -> None:
        # Examples: Meta's reference hashes of pdq-images/bridge-mods/aaa-orig.jpg and sharpen-a-lot.jpg.
        super().__init__("pdq", 64, ("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                                     "d8f8f0cec0f4a84f8e370a22038f67f0b36a2ed597231e1d72e6b39c4a9c9b22"),
                         index=IndexKind.PDQ, file_digest=False)
        self.threshold = 31
        self.quality = 50

    def distance(self, a: str, b: str) -> int:
        return (int(self.normalise(a), 16) ^ int(self.normalise(b), 16)).bit_count()


PDQ = PdqSignalType()
