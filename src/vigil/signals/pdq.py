"""PDQ: Meta's 256-bit perceptual photo hash, with its 0-100 quality.

Exact mode equals the reference (``pdqhash`` on Pillow's full ``convert("RGB")``
decode) bit for bit. Fast mode decodes JPEGs at reduced size with DCT scaling and
other formats with a box reduction; the distance this costs is measured in
BENCHMARKS.md. The eight dihedral hashes (rotations and mirrors) are computed
from one DCT, for finding mirrored or rotated copies.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pdqhash

from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.photo import FAST_MIN_SIDE, load_rgb
from . import _pdqcore
from .mode import Mode

__all__ = [
    "NAME",
    "PdqHash",
    "DIHEDRAL_NAMES",
    "hash_rgb",
    "dihedral_rgb",
    "hash_photo",
    "distance",
    "is_pdq_hex",
]

NAME = "pdq"
DIHEDRAL_NAMES = _pdqcore.DIHEDRAL_NAMES
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class PdqHash:
    hash: str  # 64 lower-case hex digits
    quality: int  # 0-100; lists ignore hashes under 50 by default

    def to_json(self) -> dict[str, object]:
        return {"hash": self.hash, "quality": self.quality}


def is_pdq_hex(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def distance(a: str, b: str) -> int:
    """Hamming distance between two PDQ hex hashes."""
    if not (is_pdq_hex(a.lower()) and is_pdq_hex(b.lower())):
        raise ValueError("PDQ hashes are 64 hexadecimal digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _reference(rgb: np.ndarray) -> PdqHash:
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    value = int("".join(str(int(b)) for b in bits), 2)
    return PdqHash(f"{value:064x}", int(quality))


def hash_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ of an RGB uint8 array (height x width x 3), identical to ``pdqhash.compute``."""
    if not _pdqcore.AVAILABLE:
        return _reference(rgb)
    hexhash, quality = _pdqcore.hash_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))
    return PdqHash(hexhash, quality)


def dihedral_rgb(rgb: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral hashes, keyed by :data:`DIHEDRAL_NAMES`, and the quality."""
    if not _pdqcore.AVAILABLE:
        vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
        hexes = [f"{int(''.join(str(int(b)) for b in v), 2):064x}" for v in vectors]
        return dict(zip(DIHEDRAL_NAMES, hexes, strict=True)), int(quality)
    return _pdqcore.dihedral_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))


def hash_photo(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    mode: Mode = Mode.FAST,
    limits: Limits = DEFAULT_LIMITS,
) -> PdqHash:
    """PDQ of a photo file (first frame of an animation)."""
    rgb = load_rgb(source, limits, min_side=FAST_MIN_SIDE if mode is Mode.FAST else None)
    return hash_rgb(rgb)
