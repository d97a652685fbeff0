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
import re
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pdqhash
from PIL import Image

from ..errors import InvalidValue
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.photo import decode_rgb, open_photo
from . import _pdqcore, _pdqfast
from .mode import Mode

__all__ = [
    "NAME",
    "PdqHash",
    "DIHEDRAL_NAMES",
    "hash_rgb",
    "dihedral_rgb",
    "hash_photo",
    "hash_photo_full",
    "PhotoHashes",
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
        raise InvalidValue("PDQ hashes are 64 hexadecimal digits")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def hash_rgb(rgb: np.ndarray) -> PdqHash:
    """PDQ of an RGB uint8 array (height x width x 3), identical to ``pdqhash.compute``."""
    if not _pdqcore.AVAILABLE:
        return PdqHash(*_pdqcore.reference_hex(rgb))
    hexhash, quality = _pdqcore.hash_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))
    return PdqHash(hexhash, quality)


def dihedral_rgb(rgb: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral hashes, keyed by :data:`DIHEDRAL_NAMES`, and the quality."""
    if not _pdqcore.AVAILABLE:
        vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
        hexes = [_pdqcore.bits_to_hex(v) for v in vectors]
        return dict(zip(DIHEDRAL_NAMES, hexes, strict=True)), int(quality)
    return _pdqcore.dihedral_from_luma(_pdqcore.luma_like_pdqhash(np.ascontiguousarray(rgb)))


def warm_up() -> None:
    """Compile (or load from numba's cache) every jitted PDQ function now, so worker
    processes forked afterwards start hashing at once."""
    if _pdqcore.AVAILABLE:
        tiny = np.zeros((8, 8, 3), np.uint8)
        _pdqcore.luma_like_cpp(tiny)
        _pdqfast.buffer64_from_reduced(_pdqcore.luma_like_pdqhash(tiny), 1024, 1024, 128)


@dataclass(frozen=True)
class PhotoHashes:
    pdq: PdqHash
    dihedral: dict[str, str] | None  # when asked for: the 8 rotations and mirrors
    # When asked for: (name, hex, quality) of the query variants (dihedral, borders trimmed)
    variants: list[tuple[str, str, int]] | None = None
    # When asked for: (label, hex, quality) of the hashes a media-backed list keeps beside the PDQ
    derived: list[tuple[str, str, int]] | None = None
    # When asked for: (name, hex, quality) of the query's anchored windows (matched against the
    # derived windows of media-backed lists only)
    windows: list[tuple[str, str, int]] | None = None
    # When asked for (keep_pixels): the decoded pixels the hashes came from (reduced in fast mode)
    # and the EXIF orientation (1-8) a viewer would apply: enough to draw a thumbnail without decoding again.
    pixels: np.ndarray | None = None
    orientation: int = 1


# Fast mode's query variants and windows are made from a decode with at least this many pixels
# on its short side: trimmed and windowed parts of it still hold enough detail for PDQ.
VARIANT_MIN_SIDE = 512


def hash_photo_full(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    mode: Mode = Mode.FAST,
    limits: Limits = DEFAULT_LIMITS,
    dihedral: bool = False,
    variants: bool = False,
    derived: bool = False,
    windows: bool = False,
    keep_pixels: bool = False,
) -> PhotoHashes:
    """PDQ of a photo file (first frame of an animation), and if asked its dihedral hashes,
    its query variants (``vigil.signals.variants.query_variants``) and the derived hashes a
    media-backed list keeps (``media_signals``).

    Fast mode decodes at 1/2 to 1/8 of the size where the photo is large enough
    (see ``_pdqfast``); query variants and windows in fast mode use a decode reduced only
    as far as keeps ``VARIANT_MIN_SIDE`` pixels a side (a 12 MP photo: 1/4). Small photos,
    exact mode and the derived hashes of media-backed lists decode at full size.
    """
    raw: bytes | None = None  # a photo given as bytes or a stream may be opened twice (below)
    if isinstance(source, bytes):
        raw = source
    elif variants and not isinstance(source, str | os.PathLike):
        raw = source.read()
    where: str | os.PathLike[str] | BinaryIO = io.BytesIO(raw) if raw is not None else source  # type: ignore[assignment]
    image = open_photo(where, limits)
    width, height = image.size
    coarse = 1 if mode is Mode.EXACT or derived or not _pdqcore.AVAILABLE else _pdqfast.reduction_for(width, height)
    reduce = coarse
    if (variants or windows) and reduce > 1:
        # Measured on 2-12 MP photos: a full decode made variants 13x the cost of the hash alone.
        while reduce > 1 and min(width, height) // reduce < VARIANT_MIN_SIDE:
            reduce //= 2
        if variants and not windows and reduce < coarse:
            # Most photos have no border to trim: their variants are the 8 orientations, which the
            # coarse decode gives at fast mode's own accuracy. Only a photo with a flat edge line
            # (a border, a canvas) is decoded again, finer, to trim it.
            quick = _orientations_only(image, width, height, coarse, keep_pixels)
            if quick is not None:
                return quick
            if raw is not None:
                where = io.BytesIO(raw)  # the decoder may have closed the first
            image = open_photo(where, limits)
    orientation = _orientation(image) if keep_pixels else 1
    rgb = decode_rgb(image, reduce=reduce)
    kept = {"pixels": rgb, "orientation": orientation} if keep_pixels else {}
    if reduce == 1:
        plain, orientations = (hash_rgb(rgb), dihedral_rgb(rgb)[0] if dihedral else None)
    else:
        b64 = _pdqfast.buffer64_from_reduced(_pdqcore.luma_like_pdqhash(rgb), width, height, reduce)
        if dihedral:
            hashes, quality = _pdqcore.dihedral_from_buffer64(b64)
            plain, orientations = PdqHash(hashes["original"], quality), hashes
        else:
            plain, orientations = PdqHash(*_pdqcore.hash_from_buffer64(b64)), None
    if not (variants or derived or windows):
        return PhotoHashes(plain, orientations, **kept)  # type: ignore[arg-type]
    from . import variants as _variants  # more work per photo: only when asked

    # Query variants and query windows both trim to the same content boxes: found once.
    boxes = _variants.content_boxes(rgb) if variants or windows else None

    def named(name: str) -> str:  # boxes found on a reduced decode, named in the photo's own pixels
        return _GEOMETRY.sub(lambda m: _full_geometry(m, reduce, width, height), name) if reduce > 1 else name

    return PhotoHashes(
        plain,
        orientations,
        [(named(v.name), v.hash, v.quality) for v in _variants.query_variants(rgb, boxes)] if variants else None,
        [(d.derived, d.hash, d.quality) for d in _variants.media_signals(rgb)] if derived else None,
        [(named(v.name), v.hash, v.quality) for v in _variants.query_windows(rgb, boxes)] if windows else None,
        **kept,  # type: ignore[arg-type]
    )


def _orientations_only(image: Image.Image, width: int, height: int, reduce: int,
                       keep_pixels: bool) -> PhotoHashes | None:
    """Fast mode's query variants of a photo without a border: its eight orientations from one
    coarse decode. None (the image then closed) when an edge line is flat and trimming may help."""
    from . import variants as _variants

    orientation = _orientation(image) if keep_pixels else 1
    rgb = decode_rgb(image, reduce=reduce)
    if _variants.may_have_border(rgb):
        return None
    b64 = _pdqfast.buffer64_from_reduced(_pdqcore.luma_like_pdqhash(rgb), width, height, reduce)
    hashes, quality = _pdqcore.dihedral_from_buffer64(b64)
    found: list[tuple[str, str, int]] = []
    seen: set[str] = set()
    for name in DIHEDRAL_NAMES:
        if hashes[name] not in seen:
            seen.add(hashes[name])
            found.append((name, hashes[name], quality))
    return PhotoHashes(PdqHash(hashes["original"], quality), None, found,
                       pixels=rgb if keep_pixels else None, orientation=orientation)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, IndexError):
        return 1  # a damaged EXIF block only costs the thumbnail its rotation
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


_GEOMETRY = re.compile(r"\btrimmed (\d+)x(\d+)\+(\d+)\+(\d+)")


def _full_geometry(m: re.Match[str], reduce: int, width: int, height: int) -> str:
    w, h, x, y = (int(v) * reduce for v in m.groups())
    x, y = min(x, width - 1), min(y, height - 1)
    return f"trimmed {min(w, width - x)}x{min(h, height - y)}+{x}+{y}"


def hash_photo(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    mode: Mode = Mode.FAST,
    limits: Limits = DEFAULT_LIMITS,
) -> PdqHash:
    """PDQ of a photo file (first frame of an animation)."""
    return hash_photo_full(source, mode=mode, limits=limits).pdq
