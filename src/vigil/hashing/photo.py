"""A photo's hashes: PDQ, and as asked its dihedral hashes, query variants, anchored windows and the
derived hashes a media-backed list keeps, from as few decodes as each needs.

Fast mode decodes at 1/2 to 1/8 of the size where the photo is large enough (``signals._pdqfast``);
query variants and windows in fast mode use a decode reduced only as far as keeps
``VARIANT_MIN_SIDE`` pixels a side (a 12 MP photo: 1/4). Small photos, exact mode and the derived
hashes of media-backed lists decode at full size.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image

from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.photo import decode_rgb, open_photo
from ..signals.mode import Mode
from ..signals.pdq import DIHEDRAL_NAMES, PdqHash, hash_decoded, photo_luma, reduction
from ..signals.views import Box, View

if TYPE_CHECKING:
    from ..signals.guided import WindowProbe
    from ..signals.variants import DerivedHash, Variant

__all__ = ["VARIANT_MIN_SIDE", "WINDOW_QUERY_SIDE", "PhotoHashes", "hash_photo"]

# Fast mode's query variants and windows are made from a decode with at least this many pixels
# on its short side: trimmed and windowed parts of it still hold enough detail for PDQ.
VARIANT_MIN_SIDE = 512
# Fast mode's query windows are hashed on a copy of that decode reduced to this long side (0: on the
# decode itself). Windows span 15% of a side or more, and their cost grows with the pixels: see
# bench/window_side.py for what each side finds and costs.
WINDOW_QUERY_SIDE = 0


@dataclass(frozen=True)
class PhotoHashes:
    pdq: PdqHash
    dihedral: dict[str, str] | None  # when asked for: the 8 rotations and mirrors
    # When asked for: the query variants (orientations, borders trimmed), the original first
    variants: list[Variant] | None = None
    # When asked for: the hashes of windows a media-backed list keeps beside the PDQ
    derived: list[DerivedHash] | None = None
    # When asked for: the query's anchored windows (matched against the derived windows of
    # media-backed lists only)
    windows: list[Variant] | None = None
    # When asked for (keep_pixels): the decoded pixels the hashes came from (reduced in fast mode)
    # and the EXIF orientation (1-8) a viewer would apply: enough to draw a thumbnail without decoding again.
    pixels: np.ndarray | None = None
    orientation: int = 1
    # With the windows: the photo kept for guided windows at match time (``signals.guided``)
    probe: WindowProbe | None = None


def hash_photo(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    *,
    mode: Mode = Mode.FAST,
    limits: Limits = DEFAULT_LIMITS,
    dihedral: bool = False,
    variants: bool = False,
    derived: bool = False,
    windows: bool = False,
    windows_in_steps: bool = False,
    keep_pixels: bool = False,
) -> PhotoHashes:
    """PDQ of a photo (first frame of an animation) given as a path, bytes or a stream, and if asked
    its dihedral hashes, its query variants (``vigil.signals.variants.query_variants``), its windows
    (``query_windows``) and the derived hashes a media-backed list keeps (``media_signals``).

    ``windows_in_steps``: of the windows, only the first step's (``variants.QueryWindows.first``);
    the probe makes the rest when a matcher asks for them (``WindowProbe.complete_windows``), which
    only the process that hashed the photo can do."""
    raw: bytes | None = None  # a photo given as bytes or a stream may be opened twice (below)
    if isinstance(source, bytes):
        raw = source
    elif variants and not isinstance(source, str | os.PathLike):
        raw = source.read()
    where: str | os.PathLike[str] | BinaryIO = io.BytesIO(raw) if raw is not None else source  # type: ignore[assignment]
    image = open_photo(where, limits)
    width, height = image.size
    coarse = 1 if derived else reduction(mode, width, height)
    reduce = coarse
    if (variants or windows) and reduce > 1:
        # Measured on 2-12 MP photos: a full decode made variants 13x the cost of the hash alone.
        while reduce > 1 and min(width, height) // reduce < VARIANT_MIN_SIDE:
            reduce //= 2
        from ..signals import variants as _variants  # (these photos need it below either way)

        if variants and not windows and reduce < coarse and max(width, height) >= _variants.ENLARGE_BELOW:
            # Most photos have no border to trim: their variants are the 8 orientations, which the
            # coarse decode gives at fast mode's own accuracy. Only a photo with a flat edge line
            # (a border, a canvas) is decoded again, finer, to trim it; a thumbnail is decoded in
            # full at once, since it is also looked up enlarged.
            quick = _orientations_only(image, width, height, coarse, keep_pixels)
            if quick is not None:
                return quick
            if raw is not None:
                where = io.BytesIO(raw)  # the decoder may have closed the first
            image = open_photo(where, limits)
    orientation = _orientation(image) if keep_pixels else 1
    rgb = decode_rgb(image, reduce=reduce)
    kept = {"pixels": rgb, "orientation": orientation} if keep_pixels else {}
    if not (variants or derived or windows):
        plain, orientations = hash_decoded(rgb, width, height, reduce, dihedral=dihedral)
        return PhotoHashes(plain, orientations, **kept)  # type: ignore[arg-type]
    from ..signals import variants as _variants  # numba's kernels with them: only for photos that need them

    luma = photo_luma(rgb)  # PDQ's, the variants' and the windows' alike: computed once
    plain, orientations = hash_decoded(rgb, width, height, reduce, dihedral=dihedral, luma=luma)

    # Query variants and query windows both trim to the same content boxes: found once.
    boxes = _variants.content_boxes(rgb) if variants or windows else None

    def full_size(found: list[Variant]) -> list[Variant]:  # boxes found on a reduced decode, in the photo's pixels
        return [v._replace(view=v.view.scaled(reduce, width, height)) for v in found]

    probe = None
    found = None
    if windows:
        from ..signals.guided import WindowProbe

        if windows_in_steps and not _windows_reduced(rgb, mode):
            steps = _variants.QueryWindows(rgb, boxes or [], luma=luma)
            found = full_size(steps.first())
            probe = WindowProbe(luma, (width, height), rest=lambda: full_size(steps.complete()))
        else:
            found = full_size(_query_windows(rgb, boxes or [], mode, luma))
            probe = WindowProbe(luma, (width, height))
    return PhotoHashes(
        plain,
        orientations,
        full_size(_variants.query_variants(rgb, boxes, luma=luma)) if variants else None,
        _variants.media_signals(rgb, luma=luma) if derived else None,
        found,
        probe=probe,
        **kept,  # type: ignore[arg-type]
    )


def _query_windows(rgb: np.ndarray, boxes: list[Box], mode: Mode, luma: np.ndarray) -> list[Variant]:
    """``query_windows`` of the decode (``luma``: its PDQ luma), or in fast mode of a copy reduced to
    ``WINDOW_QUERY_SIDE`` (box filter); the trimmed boxes named in the decode's pixels either way."""
    from ..signals import variants as _variants

    h, w = rgb.shape[:2]
    side = WINDOW_QUERY_SIDE
    if not _windows_reduced(rgb, mode):
        return _variants.query_windows(rgb, boxes, luma=luma)
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    sy, sx = size[1] / h, size[0] / w
    mapped = {Box(round(b.top * sy), round(b.bottom * sy), round(b.left * sx), round(b.right * sx)): b for b in boxes}
    found = _variants.query_windows(small, list(mapped))
    return [v._replace(view=View(v.view.orientation, mapped[v.view.trimmed], v.view.window))
            if v.view.trimmed is not None else v for v in found]


def _windows_reduced(rgb: np.ndarray, mode: Mode) -> bool:
    """Whether fast mode hashes this decode's windows on a reduced copy (``WINDOW_QUERY_SIDE``)."""
    return mode is Mode.FAST and 0 < WINDOW_QUERY_SIDE < max(rgb.shape[:2])


def _orientations_only(image: Image.Image, width: int, height: int, reduce: int,
                       keep_pixels: bool) -> PhotoHashes | None:
    """Fast mode's query variants of a photo without a border: its eight orientations from one
    coarse decode. None (the image then closed) when an edge line is flat and trimming may help."""
    from ..signals import variants as _variants

    orientation = _orientation(image) if keep_pixels else 1
    rgb = decode_rgb(image, reduce=reduce)
    if _variants.may_have_border(rgb):
        return None
    plain, hashes = hash_decoded(rgb, width, height, reduce, dihedral=True)
    assert hashes is not None
    found: list[Variant] = []
    seen: set[str] = set()
    for name in DIHEDRAL_NAMES:
        if hashes[name] not in seen:
            seen.add(hashes[name])
            found.append(_variants.Variant(View(name), hashes[name], plain.quality))
    return PhotoHashes(plain, None, found, pixels=rgb if keep_pixels else None, orientation=orientation)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, IndexError):
        return 1  # a damaged EXIF block only costs the thumbnail its rotation
    return value if isinstance(value, int) and 1 <= value <= 8 else 1
