"""PDQ: Meta's 256-bit perceptual photo hash, with its 0-100 quality.

Exact mode equals the reference (``pdqhash`` on Pillow's full ``convert("RGB")``
decode) bit for bit. Fast mode decodes large photos at 1/2 to 1/8 size (JPEG DCT
scaling; a box reduction for other formats) and maps PDQ's downscale filter onto
the reduced pixels (``_pdqfast``); the distance this costs is measured in
BENCHMARKS.md. The eight dihedral hashes (rotations and mirrors) are computed
from one DCT, for finding mirrored or rotated copies.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pdqhash
from PIL import Image

from ..errors import InvalidValue
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.photo import decode_rgb, open_photo
from . import _pdqcheck, _pdqcpp, _pdqfast
from .mode import Mode
from .pdq_type import PDQ

__all__ = [
    "NAME",
    "PdqHash",
    "DIHEDRAL_NAMES",
    "hash_rgb",
    "dihedral_rgb",
    "hash_photo",
    "hash_decoded",
    "photo_luma",
    "reduction",
    "distance",
    "is_pdq_hex",
    "warm_up",
]

NAME = PDQ.name
DIHEDRAL_NAMES = _pdqcpp.DIHEDRAL_NAMES
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
        raise InvalidValue("PDQ hashes are 64 hexadecimal digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hash_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ of an RGB uint8 array (height x width x 3), identical to ``pdqhash.compute``."""
    if not _pdqcheck.AVAILABLE:
        return PdqHash(*_pdqcpp.reference_hex(rgb))
    from . import _pdqcore  # numba: loaded by the first photo hashed at full size

    hexhash, quality = _pdqcore.hash_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))
    return PdqHash(hexhash, quality)


def dihedral_rgb(rgb: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral hashes, keyed by :data:`DIHEDRAL_NAMES`, and the quality."""
    if not _pdqcheck.AVAILABLE:
        vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
        hexes = [_pdqcpp.bits_to_hex(v) for v in vectors]
        return dict(zip(DIHEDRAL_NAMES, hexes, strict=True)), int(quality)
    from . import _pdqcore

    return _pdqcore.dihedral_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))


def warm_up(*, kernels: bool = True) -> None:
    """Load what hashing needs now, so worker processes forked afterwards start hashing at once.

    ``kernels``: also the numba kernels (0.4 s, from numba's cache), which photos decoded at full
    size need (exact mode, query variants, derived hashes, small photos) and video frames in
    exact mode; fast mode's reduced photos do without them.
    """
    Image.preinit()  # Pillow's common formats (JPEG, PNG, …): imported once here, not in every worker
    if kernels and _pdqcheck.AVAILABLE:
        from . import _pdqcore

        tiny = np.zeros((8, 8, 3), np.uint8)
        _pdqcore.luma_like_cpp(tiny)
        _pdqcore.hash_from_luma(_pdqcore.luma_like_pdqhash(tiny))


def photo_luma(rgb: np.ndarray) -> np.ndarray:
    """PDQ's luma of an RGB photo (float32, as ``pdqhash.compute`` makes it): computed once, it can be
    given to :func:`hash_decoded` and to ``variants``' functions of the same pixels."""
    return _pdqfast.luma_like_pdqhash(np.ascontiguousarray(rgb))


def hash_decoded(rgb: np.ndarray, width: int, height: int, reduce: int, *, dihedral: bool = False,
                 luma: np.ndarray | None = None) -> tuple[PdqHash, dict[str, str] | None]:
    """PDQ (and, if asked, the eight dihedral hashes) of a photo of ``width`` x ``height`` decoded
    to ``rgb`` at 1/``reduce`` of its size: exact when ``reduce`` is 1, else PDQ's downscale filter
    mapped onto the reduced pixels (fast mode). ``luma``: :func:`photo_luma` of ``rgb``, if the
    caller has it."""
    if reduce == 1:
        if not _pdqcheck.AVAILABLE:
            return hash_rgb(rgb), dihedral_rgb(rgb)[0] if dihedral else None
        from . import _pdqcore

        luma = photo_luma(rgb) if luma is None else luma
        if dihedral:  # the hash as is comes from the same DCT
            hashes, quality = _pdqcore.dihedral_from_luma(luma)
            return PdqHash(hashes["original"], quality), hashes
        return PdqHash(*_pdqcore.hash_from_luma(luma)), None
    b64 = _pdqfast.buffer64_from_reduced(photo_luma(rgb) if luma is None else luma, width, height, reduce)
    if dihedral:
        hashes, quality = _pdqcpp.dihedral_from_buffer64(b64)
        return PdqHash(hashes["original"], quality), hashes
    return PdqHash(*_pdqcpp.hash_from_buffer64(b64)), None


def reduction(mode: Mode, width: int, height: int) -> int:
    """How far a photo is reduced while decoding in ``mode`` (1: full size)."""
    return 1 if mode is Mode.EXACT or not _pdqcheck.AVAILABLE else _pdqfast.reduction_for(width, height)


def hash_photo(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    mode: Mode = Mode.FAST,
    limits: Limits = DEFAULT_LIMITS,
) -> PdqHash:
    """PDQ of a photo file (first frame of an animation). ``vigil.hashing`` gives every signal of a
    file, the query variants of a photo and the windows of a listed one."""
    image = open_photo(io.BytesIO(source) if isinstance(source, bytes) else source, limits)
    width, height = image.size
    reduce = reduction(mode, width, height)
    return hash_decoded(decode_rgb(image, reduce=reduce), width, height, reduce)[0]
