"""PDQ variants of a photo, so that edited copies still match.

Plain PDQ finds re-encoded, resized and recoloured copies, but not mirrored, rotated,
bordered or cropped ones. The remedies here are pure functions over an RGB image (a
height x width x 3 uint8 array; the caller decodes the file), and all of them only add
PDQ hashes matched by the usual rule (Hamming distance <= 31, quality >= 50), so they
reuse the PDQ range index:

* :func:`query_variants` - for the photo being checked, against any list: its eight
  orientations (a mirrored or rotated copy of a listed photo has one orientation whose
  hash is the listed hash) and the photo with borders trimmed away (letterbox bars, the
  canvas, bars and text around a photo in a screenshot, a meme's caption bar), found by
  :func:`content_boxes`.
* :func:`media_signals` - for a list made from media an agency holds: PDQ of windows
  anchored on the photo's own corners, stored per listed photo, so that crops (which no
  query-side trick can undo) are found; :func:`query_windows` computes the windows of a
  photo being checked, to look up among them. Whether the windows that matched make a match is
  ``agreement``'s and ``guided``'s to say.

Why these and not others (a fixed set of crops, local features) is measured in
``bench/edit_recall.py``; results in ``bench/results/edit_recall.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numba
import numpy as np
from PIL import Image

from ..errors import InvalidValue
from . import _corners, _pdqbatch, _pdqcheck, _pdqcore
from .agreement import FRAME_WINDOWS, PHOTO_WINDOWS, windows_agree
from .pdq import DIHEDRAL_NAMES, dihedral_rgb, hash_rgb
from .views import Box, View, Window

__all__ = [
    "DESCRIPTIONS",
    "Box",
    "DerivedHash",
    "ENLARGE_BELOW",
    "Variant",
    "WINDOW_MIN_QUALITY",
    "content_boxes",
    "media_signals",
    "query_variants",
    "query_windows",
    "QueryWindows",
    "windows_agree",
    "PHOTO_WINDOWS",
    "FRAME_WINDOWS",
    "Regions",
    "WINDOW_SIDE",
    "may_have_border",
    "window_luma",
]

# What each orientation name means, in words (Meta's names, also printed by `vigil hash --dihedral`).
# A query variant named so is the photo turned that way: it matches a listed photo of which the
# photo is a copy turned the opposite way.
DESCRIPTIONS = {
    "original": "as is",
    "rotate90": "turned a quarter anticlockwise",
    "rotate180": "turned upside down",
    "rotate270": "turned a quarter clockwise",
    "flipx": "mirrored top to bottom",
    "flipy": "mirrored left to right",
    "flipplus1": "mirrored about the main diagonal (transposed)",
    "flipminus1": "mirrored about the other diagonal",
    "trimmed": "cut to the box given as WxH+X+Y (width, height, left, top in pixels): borders, bars, "
    "canvas and captions around it trimmed away",
    "enlarged": "a small photo (a thumbnail) enlarged before hashing, so that PDQ smooths it as it smooths "
    "the photo at its original size",
    "window": "a window of the photo spanned by two of its corners, given as the percent cut from "
    "each side (l, t, r, b)",
}


class Variant(NamedTuple):
    """One PDQ hash of a photo being checked: the photo as is, or a view that undoes a likely edit."""

    view: View
    hash: str  # 64 lower-case hex digits
    quality: int  # 0-100

    @property
    def name(self) -> str:
        """The view's label, e.g. "original", "flipy", "trimmed 640x480+0+120 rotate90"."""
        return self.view.label


class DerivedHash(NamedTuple):
    """One extra PDQ hash stored for a photo in a list made from media: of a window of it."""

    window: Window
    hash: str
    quality: int

    @property
    def derived(self) -> str:
        """The label a list stores, e.g. "window l12.5 t3.1 r40.0 b22.7" (percent cut from each side)."""
        return self.window.label


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        shape = getattr(rgb, "shape", None)
        dtype = getattr(rgb, "dtype", type(rgb).__name__)
        raise InvalidValue(f"expected an RGB photo as a height x width x 3 uint8 array, got shape {shape} of {dtype}")
    return np.ascontiguousarray(rgb)


# ---------------------------------------------------------------- hashing regions of one photo
class Regions:
    """PDQ of regions of one photo; the luma is computed once where the fast core is there (or given:
    PDQ's luma of ``rgb``, as ``_pdqcore.luma_like_pdqhash`` makes it), and many regions are hashed
    in one call where the batched core gives the same hashes (``_pdqbatch.agrees``)."""

    def __init__(self, rgb: np.ndarray, luma: np.ndarray | None = None) -> None:
        self._rgb: np.ndarray | None = rgb  # None only where the luma is there (from_luma): nothing reads it
        self._luma: np.ndarray | None = None
        self._means: dict[int, np.ndarray] = {}  # block means by block width (_block_means)
        if _pdqcheck.AVAILABLE:
            self._luma = _pdqcore.luma_like_pdqhash(rgb) if luma is None else luma

    @classmethod
    def from_luma(cls, luma: np.ndarray) -> Regions:
        """Regions of a luma image (float32): hashed by the fast core, else by pdqhash on grey RGB
        (made only then)."""
        regions = cls.__new__(cls)
        regions._luma = luma if _pdqcheck.AVAILABLE else None
        regions._means = {}
        regions._rgb = None if _pdqcheck.AVAILABLE else np.repeat(
            np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        return regions

    def _pixels(self) -> np.ndarray:
        """The RGB pixels, for the paths without the fast core (then always there)."""
        assert self._rgb is not None
        return self._rgb

    @property
    def luma(self) -> np.ndarray:
        return self._luma if self._luma is not None else _luma(self._pixels())

    def crop(self, box: Box) -> Regions:
        """Regions of the photo cut to ``box`` (the luma of each pixel is its own: cut, not computed)."""
        top, bottom, left, right = box
        regions = Regions.__new__(Regions)
        regions._rgb = None if self._rgb is None else self._rgb[top:bottom, left:right]
        regions._luma = None if self._luma is None else np.ascontiguousarray(self._luma[top:bottom, left:right])
        regions._means = {}
        return regions

    def _block_means(self, scale: int) -> np.ndarray:
        """The luma's block means hashing reduced boxes reads, kept: a photo's windows may be hashed
        in two calls (:class:`QueryWindows`)."""
        assert self._luma is not None
        if scale not in self._means:
            self._means[scale] = _pdqbatch.block_means_t(self._luma, scale)
        return self._means[scale]

    def hash(self, box: Box) -> tuple[str, int]:
        top, bottom, left, right = box
        if self._luma is not None:
            return _pdqcore.hash_from_luma(self._luma[top:bottom, left:right])
        result = hash_rgb(self._pixels()[top:bottom, left:right])
        return result.hash, result.quality

    def dihedral(self, box: Box) -> tuple[dict[str, str], int]:
        top, bottom, left, right = box
        if self._luma is not None:
            return _pdqcore.dihedral_from_luma(self._luma[top:bottom, left:right])
        return dihedral_rgb(self._pixels()[top:bottom, left:right])

    def hash_many(self, boxes: Sequence[Box], mirrored: bool, min_quality: int = 0,
                  scale: int = 1) -> list[tuple[str, str | None, int]]:
        """(hash, hash mirrored left to right if asked, quality) of each box; a box under
        ``min_quality`` may get PDQ's zero hashes in place of its own (callers drop it anyway).
        ``scale`` > 1: boxes large enough hashed from the means of ``scale`` x ``scale`` blocks, as
        fast mode hashes photos (``_pdqbatch.hash_boxes_reduced``: within a few bits of exact)."""
        if self._luma is not None and boxes and _pdqbatch.agrees():
            array = np.array(boxes, np.int64)
            if scale > 1:
                hashes, flipped, quality = _pdqbatch.hash_boxes_reduced(
                    self._luma, array, scale, min_quality=min_quality, mirrored=mirrored,
                    min_blocks=_QUERY_WINDOW_MIN_BLOCKS, means_t=self._block_means(scale))
            else:
                hashes, flipped, quality = _pdqbatch.hash_boxes(self._luma, array, min_quality=min_quality,
                                                                mirrored=mirrored)
            return [(hashes[k], flipped[k] if flipped is not None else None, int(quality[k]))
                    for k in range(len(boxes))]
        out: list[tuple[str, str | None, int]] = []
        for box in boxes:
            if mirrored:
                hashes_of, q = self.dihedral(box)
                out.append((hashes_of["original"], hashes_of["flipy"], q))
            else:
                hexhash, q = self.hash(box)
                out.append((hexhash, None, q))
        return out


# A query's windows (looked up within PDQ's 31 bits, their copies already re-encoded, resized and
# cropped) are hashed from the means of 2 x 2 blocks where PDQ's filter spans at least a block:
# measured on the scan bench's camera photos, 1.7 bits from the exact hash on average (99% within 8),
# screenshots' text further (4 bits, 99% within 26), at a third of the cost (bench/results/scan_speed.md).
# A listed photo's windows are hashed exactly.
_QUERY_WINDOW_SCALE = 2
_QUERY_WINDOW_MIN_BLOCKS = 1.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    """PDQ's luma (ITU-R 601 weights) as float32, for when the fast core is unavailable."""
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return np.asarray(rgb.astype(np.float32) @ weights, np.float32)


# ---------------------------------------------------------------- query side: orientations and trimming
def query_variants(rgb: np.ndarray, boxes: Sequence[Box] | None = None, *,
                   luma: np.ndarray | None = None) -> list[Variant]:
    """The hashes to look up for a photo being checked, against any list.

    First the photo in its eight orientations, named by ``DIHEDRAL_NAMES`` (``"original"`` first;
    :data:`DESCRIPTIONS` says each in words), then for each box :func:`content_boxes` finds, the
    photo trimmed to it, in the eight orientations: ``"trimmed WxH+X+Y"``, ``"trimmed WxH+X+Y
    rotate90"``, ... (a mirrored photo with a caption bar needs both at once). A photo or box under
    :data:`ENLARGE_BELOW` pixels on its long side is also hashed enlarged (``"enlarged"``,
    ``"trimmed WxH+X+Y enlarged rotate90"``, ...): a thumbnail. A variant whose hash equals an
    earlier one is left out: 8 variants for most photos, 8 more for each box and each enlargement. ``boxes``
    saves running :func:`content_boxes` again when the caller already has them, ``luma`` (PDQ's luma
    of ``rgb``: ``pdq.photo_luma``) computing it again. ``rgb`` must be the photo at its own size (or
    a decode reduced no further than to ENLARGE_BELOW a side).
    """
    rgb = _check_rgb(rgb)
    regions = Regions(rgb, luma)
    h, w = rgb.shape[:2]
    variants: list[Variant] = []
    seen: set[str] = set()

    def add(trimmed: Box | None, box: Box) -> None:
        hashes, quality = regions.dihedral(box)
        new(trimmed, False, hashes, quality)
        top, bottom, left, right = box
        if max(bottom - top, right - left) < ENLARGE_BELOW:
            big = _enlarged(rgb[top:bottom, left:right])
            hashes, quality = Regions(big).dihedral(Box(0, big.shape[0], 0, big.shape[1]))
            new(trimmed, True, hashes, quality)

    def new(trimmed: Box | None, enlarged: bool, hashes: dict[str, str], quality: int) -> None:
        for name in DIHEDRAL_NAMES:
            if hashes[name] not in seen:
                seen.add(hashes[name])
                variants.append(Variant(View(name, trimmed, enlarged=enlarged), hashes[name], quality))

    add(None, Box(0, h, 0, w))
    for box in content_boxes(rgb) if boxes is None else boxes:
        add(box, box)
    return variants


# A thumbnail is looked up enlarged, too. PDQ reduces a photo to 64 x 64 with a box filter as wide as
# the photo is large, so a listed photo of ordinary size is smoothed over ~8 pixels and a thumbnail
# of it over 1-2: aliasing and JPEG blocking then decide bits. Enlarged (bicubic) to at least this
# long side, the thumbnail is smoothed as its original was. Measured on 300 listed photos reduced to
# 10-40% (bench corpus, re-saved as JPEG): plain PDQ found 97-99.7%, the two together 99.7-100%.
ENLARGE_BELOW = 512


def _enlarged(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` enlarged by the smallest whole factor that takes its long side to ENLARGE_BELOW or more."""
    h, w = rgb.shape[:2]
    k = -(-ENLARGE_BELOW // max(h, w, 1))
    image = Image.fromarray(np.ascontiguousarray(rgb))
    return np.asarray(image.resize((w * k, h * k), Image.Resampling.BICUBIC))


# Border detection works line by line (rows, then columns) on a reduced copy of the image: a line is
# "flat" when nearly all its pixels are one colour. Three peelers strip lines from each side in turn:
#   border:     lines of the outermost line's colour (letterbox, pillarbox, a frame);
#   one colour: lines of that one canvas colour, and busy bands (text) between them (a caption bar);
#   canvas:     flat lines of any colour, and busy bands between them (a screenshot's bars, text, icons).
_WORK_SIDE = 384  # the reduced copy's long side, at most
_TOLERANCE = 10  # levels a pixel may differ from a colour and still count as it (JPEG noise)
_OUTLIERS = 0.02  # share of a flat line's pixels that may differ (a stray pixel, ringing)
_THIN = 0.03  # a busy band this thin (share of the axis) between canvas lines is text or icons
_CANVAS_SHARE = 0.5  # a thicker busy band is canvas if this share of its pixels is canvas colour
_MIN_SIDE = 0.1  # a content box under this share of the image's width or height is not believed ...
_MIN_AREA = 0.05  # ... nor one under this share of its area
_MIN_TRIM = 0.02  # a trim of less than this share of the area changes PDQ too little to be a variant
_SAME_BOX = 0.01  # boxes whose sides all agree within this share of the image are one box
_MAX_BOXES = 6  # the three peelers' boxes first, then theirs trimmed on the sides of one edge colour (then one
# more: the longest run between lines of the page's colour)


def _reduce(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """Box-filter reduction by a whole factor to at most _WORK_SIDE a side (Pillow's C), and the factor."""
    k = max(1, -(-max(rgb.shape[:2]) // _WORK_SIDE))
    image = Image.fromarray(rgb)
    return np.asarray(image.reduce(k) if k > 1 else image), k


@numba.njit(cache=True, nogil=True)
def _off_share(lines: np.ndarray, colours: np.ndarray, tolerance: int) -> np.ndarray:  # pragma: no cover - jitted
    """Share of each line's pixels further than ``tolerance`` (in any channel) from that line's colour."""
    n, length = lines.shape[0], lines.shape[1]
    out = np.empty(n, np.float64)
    for i in range(n):
        off = 0
        for j in range(length):
            for c in range(3):
                if abs(np.int32(lines[i, j, c]) - np.int32(colours[i, c])) > tolerance:
                    off += 1
                    break
        out[i] = off / max(length, 1)
    return out


@numba.njit(cache=True, nogil=True)
def _line_colours(lines: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """Each line's colour: the per-channel median of up to 31 evenly spaced pixels."""
    n, length = lines.shape[0], lines.shape[1]
    step = max(1, length // 31)
    count = (length + step - 1) // step
    out = np.empty((n, 3), np.uint8)
    sample = np.empty(count, np.uint8)
    for i in range(n):
        for c in range(3):
            for k in range(count):  # insertion sort of at most 31 values
                v = lines[i, k * step, c]
                m = k
                while m > 0 and sample[m - 1] > v:
                    sample[m] = sample[m - 1]
                    m -= 1
                sample[m] = v
            out[i, c] = sample[count // 2]
    return out


@numba.njit(cache=True, nogil=True)
def _canvas_share(lines: np.ndarray, a: np.ndarray, b: np.ndarray, tolerance: int) -> float:  # pragma: no cover
    """Share of the pixels of ``lines`` within ``tolerance`` of colour ``a`` or of colour ``b``."""
    n, length = lines.shape[0], lines.shape[1]
    hits = 0
    for i in range(n):
        for j in range(length):
            near_a = True
            near_b = True
            for c in range(3):
                v = np.int32(lines[i, j, c])
                if abs(v - np.int32(a[c])) > tolerance:
                    near_a = False
                if abs(v - np.int32(b[c])) > tolerance:
                    near_b = False
            if near_a or near_b:
                hits += 1
    return float(hits / max(n * length, 1))


def _flat_lines(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each line's colour, and whether the line (of n x length x 3, contiguous) is nearly that one colour."""
    colours = _line_colours(lines)
    return colours, np.asarray(_off_share(lines, colours, _TOLERANCE) <= _OUTLIERS)


def _near(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether colours (... x 3) are within the tolerance of each other."""
    return np.asarray(np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1) <= _TOLERANCE)


def _peel_border(lines: np.ndarray, outside: np.ndarray | None) -> int:
    """How many leading lines are a uniform border: flat lines of the colour outside them (once a
    first pass has found it), or of the outermost line's colour."""
    lines = np.ascontiguousarray(lines)
    if not len(lines):
        return 0
    colours, flat = _flat_lines(lines)
    if outside is None:
        if not flat[0]:
            return 0
        outside = colours[0]
    same = flat & _near(colours, outside)
    return int(np.argmin(same)) if not same.all() else len(lines)


def _peel_canvas(lines: np.ndarray, outside: np.ndarray | None, one_colour: bool = False) -> int:
    """How many leading lines are canvas: flat lines, and busy bands (text, icons) that flat lines
    separate from what lies further in.

    A busy band counts as canvas when more lies beyond it than its own size (else it is likely the
    photo), and when it is thin or mostly canvas colour. Given ``outside`` (the canvas colour found
    beyond these lines by a first pass) or with ``one_colour`` (a caption bar, a frame), flat lines
    count only in that one colour, so a dark band at the photo's own edge is not taken for canvas;
    otherwise flat lines of any colour count (a screenshot's status bar, app bar and page differ).
    """
    lines = np.ascontiguousarray(lines)
    n = len(lines)
    if not n:
        return 0
    colours, flat = _flat_lines(lines)
    canvas = outside
    if canvas is None and one_colour:
        if not flat[0]:
            return 0
        canvas = colours[0]
    if canvas is not None:
        flat &= _near(colours, canvas)
    i = 0
    while i < n:
        if flat[i]:
            i += 1
            continue
        j = i
        while j < n and not flat[j]:
            j += 1
        if j == n or j - i > n - j:
            break
        if i:
            before = colours[i - 1]
        elif canvas is not None:
            before = canvas
        else:
            break  # a busy first line with nothing known outside it: no border on this side
        # The canvas colour may differ on either side of a band (a navigation bar below a page).
        if j - i > _THIN * n and _canvas_share(lines[i:j], before, colours[j], _TOLERANCE) < _CANVAS_SHARE:
            break
        i = j
    return i


def _peel_one_colour(lines: np.ndarray, outside: np.ndarray | None) -> int:
    return _peel_canvas(lines, outside, one_colour=True)


_Peel = Callable[[np.ndarray, "np.ndarray | None"], int]


def _outside(line: np.ndarray) -> np.ndarray | None:
    """The colour of the line just outside a box, if it is flat (canvas); else None."""
    colour, flat = _flat_lines(np.ascontiguousarray(line[None]))
    return colour[0] if flat[0] else None


def _box_by(image: np.ndarray, peel: _Peel) -> Box:
    """Peel each side in turn until nothing changes: columns peeled restrict the rows, and back."""
    h, w = image.shape[:2]
    top, bottom, left, right = 0, h, 0, w
    for _ in range(3):
        before = (top, bottom, left, right)
        top += peel(image[top:bottom, left:right], _outside(image[top - 1, left:right]) if top else None)
        bottom -= peel(image[top:bottom, left:right][::-1],
                       _outside(image[bottom, left:right]) if bottom < h else None)
        left += peel(image[top:bottom, left:right].transpose(1, 0, 2),
                     _outside(image[top:bottom, left - 1]) if left else None)
        right -= peel(image[top:bottom, left:right].transpose(1, 0, 2)[::-1],
                      _outside(image[top:bottom, right]) if right < w else None)
        if bottom - top < 2 or right - left < 2 or (top, bottom, left, right) == before:
            break
    return Box(top, bottom, left, right)


def _edge(lines: np.ndarray, at: int, reach: int) -> int:
    """The photo's first line near ``at``, lines running from the canvas inward, at full size.

    Canvas here is the colour of the lines just outside, with twice the usual tolerance and a tenth
    of the pixels free: JPEG rings for a few pixels beside the photo's edge.
    """
    lo, hi = max(0, at - reach), min(len(lines), at + reach + 1)
    near = np.ascontiguousarray(lines[lo:hi])
    colours = _line_colours(near)
    outer = np.median(colours[: max(1, at - lo)], axis=0).astype(np.uint8)
    canvas = _off_share(near, np.ascontiguousarray(np.broadcast_to(outer, colours.shape)), 2 * _TOLERANCE) <= 0.1
    k = at - lo
    while k > 0 and not canvas[k - 1]:  # the reduced box began inside the photo
        k -= 1
    while k < len(canvas) - 1 and canvas[k]:  # or in canvas (a reduced pixel half canvas, half photo)
        k += 1
    return lo + k


def _refine(rgb: np.ndarray, box: Box, factor: int) -> Box:
    """Move each trimmed side to the exact pixel: a reduced pixel spans ``factor`` full-size ones."""
    h, w = rgb.shape[:2]
    top, bottom, left, right = box
    reach = factor + 1
    if top > 0:
        top = _edge(rgb[:, left:right], top, reach)
    if bottom < h:
        bottom = h - _edge(rgb[::-1, left:right], h - bottom, reach)
    if left > 0:
        left = _edge(rgb[top:bottom].transpose(1, 0, 2), left, reach)
    if right < w:
        right = w - _edge(rgb[top:bottom, ::-1].transpose(1, 0, 2), w - right, reach)
    return Box(top, bottom, left, right)


def _any_flat_edge(small: np.ndarray) -> bool:
    return any(_outside(line) is not None for line in (small[0], small[-1], small[:, 0], small[:, -1]))


def may_have_border(rgb: np.ndarray) -> bool:
    """Whether :func:`content_boxes` could find a box: some edge line is flat (every peeler starts
    from one). Cheap: one reduction and four lines."""
    rgb = _check_rgb(rgb)
    if min(rgb.shape[:2]) < 16:
        return False
    return _any_flat_edge(_reduce(rgb)[0])


def content_boxes(rgb: np.ndarray) -> list[Box]:
    """Where the photo inside an image probably is, when borders surround it: up to seven boxes.

    Each peeler strips lines from every side of a reduced copy until it meets the photo, and the
    box it leaves is then fitted to the exact pixel. The border peeler strips lines of one colour
    (letterbox and pillarbox bars, a plain frame); the one-colour peeler also strips text in that
    colour's band (a meme's caption); the canvas peeler strips flat lines of any colour and the
    thin or mostly-canvas text and icon bands between them (a phone or desktop screenshot: status
    bar, app bar, caption, like counts, a column of text beside the photo), and its box is also
    tried moved out to the page's colour (:func:`_page_box`). Boxes trimmed on the sides of one edge
    colour only follow (:func:`_one_colour_only`), and last the longest run of lines between lines
    of the page's colour (:func:`_between_page_lines`). Lines count as flat through JPEG noise and a
    stray pixel.

    An image without borders gives none, so does a box under 10% of a side or 5% of the area (the
    "border" is then more likely part of the photo), or one trimming under 2% of the area. Dark or
    flat bands at the photo's own edge can still be taken for border; the whole image is always
    looked up too, so that costs only the extra lookups.
    """
    rgb = _check_rgb(rgb)
    h, w = rgb.shape[:2]
    if min(h, w) < 16:
        return []
    small, k = _reduce(rgb)
    sh, sw = small.shape[:2]
    if not _any_flat_edge(small):
        return []  # every peeler starts from a flat outermost line: none has one to start from
    boxes: list[Box] = []
    tolerance = _SAME_BOX * max(h, w)

    def offer(box: Box) -> None:
        bh, bw = box.bottom - box.top, box.right - box.left
        if bh < _MIN_SIDE * h or bw < _MIN_SIDE * w or bh * bw < _MIN_AREA * h * w:
            return
        if bh * bw > (1 - _MIN_TRIM) * h * w:
            return
        if all(max(abs(a - b) for a, b in zip(box, other, strict=True)) > tolerance for other in boxes):
            boxes.append(box)

    for peel in (_peel_border, _peel_one_colour, _peel_canvas):
        top, bottom, left, right = _box_by(small, peel)
        if (top, bottom, left, right) == (0, sh, 0, sw) or bottom - top < 2 or right - left < 2:
            continue
        found = [Box(top, bottom, left, right)]
        if peel is _peel_canvas:
            found += _page_box(small, found[0])
        for box in found:
            offer(_refine(rgb, Box(box.top * k, min(h, box.bottom * k), box.left * k, min(w, box.right * k)), k))
    for box in list(boxes):
        for kept in _one_colour_only(small, box, k):
            offer(kept)
    del boxes[_MAX_BOXES:]
    between = _between_page_lines(small)  # one more, where no peeler finds a photo in a page
    if between is not None:
        offer(_refine(rgb, Box(between.top * k, min(h, between.bottom * k), between.left * k,
                               min(w, between.right * k)), k))
    return boxes


def _page_colour(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray | None:
    """The colour most flat lines have (within the tolerance), from (colours, flat) of some lines."""
    flat_colours = [colours[flat] for colours, flat in lines]
    if not sum(len(c) for c in flat_colours):
        return None
    colours = np.concatenate(flat_colours)
    votes = _near(colours[:, None, :], colours[None, :, :]).sum(axis=1)
    return np.asarray(colours[int(np.argmax(votes))])


def _between_page_lines(small: np.ndarray) -> Box | None:
    """The longest run of rows with no flat row of the page's colour, then within it the longest such
    run of columns: a photo on a page whose lines of text, bars and margins all show the page's colour
    between them. Found even where the canvas peeler takes the whole image for canvas (a landscape of
    flat bands of hills and sky looks to it like a page of text). None without a page colour."""
    rows = _flat_lines(np.ascontiguousarray(small))
    page = _page_colour([rows])
    if page is None:
        return None
    top, bottom = _longest_run(~(rows[1] & _near(rows[0], page)))
    if bottom - top < 2:
        return None
    cols = _flat_lines(np.ascontiguousarray(small[top:bottom].transpose(1, 0, 2)))
    left, right = _longest_run(~(cols[1] & _near(cols[0], page)))
    box = Box(top, bottom, left, right)
    return box if right - left >= 2 and box != Box(0, small.shape[0], 0, small.shape[1]) else None


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """Start and end (exclusive) of the longest run of True in ``mask`` (0, 0 if none)."""
    best, start = (0, 0), None
    for i, value in enumerate(np.append(mask, False)):
        if value and start is None:
            start = i
        elif not value and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def _page_box(small: np.ndarray, box: Box) -> list[Box]:
    """The canvas peeler's box moved out, on each side, to just inside the last line of the page's
    colour: the colour of most flat lines it peeled (the gaps between lines of text, the margins).

    The canvas peeler takes flat lines of any colour for canvas (a screenshot's status bar, app bar
    and page differ), so it also takes a sky or a calm sea at a photo's edge, and a landscape's
    ridges between flat bands of hills look to it like lines of text. A photo in a page is framed by
    the page's own colour, though, and its content starts where that colour ends. One box, if it
    differs from ``box``; when the page colour is not the frame's, the box is only a wasted lookup.
    """
    top, bottom, left, right = box
    h, w = small.shape[:2]
    outside = {  # each side's peeled lines, from the frame's edge inward
        "top": small[:top, left:right],
        "bottom": small[bottom:, left:right][::-1],
        "left": small[top:bottom, :left].transpose(1, 0, 2),
        "right": small[top:bottom, right:][:, ::-1].transpose(1, 0, 2),
    }
    found = {side: _flat_lines(np.ascontiguousarray(lines)) if len(lines) else None for side, lines in outside.items()}
    page = _page_colour([f for f in found.values() if f is not None])
    if page is None:
        return []
    moved = {}
    for side, f in found.items():
        if f is None:
            continue
        colours_here, flat = f
        is_page = flat & _near(colours_here, page)
        if is_page.any():
            moved[side] = int(np.flatnonzero(is_page)[-1]) + 1  # lines peeled up to the last of the page's colour
    if not moved:
        return []
    new = Box(moved.get("top", top), bottom if "bottom" not in moved else h - moved["bottom"],
              moved.get("left", left), right if "right" not in moved else w - moved["right"])
    return [new] if new != box else []


def _one_colour_only(small: np.ndarray, box: Box, k: int) -> list[Box]:
    """``box`` trimmed only on the sides whose edges are one colour, for each such colour, when its
    trimmed sides' edges are of more than one: a caption bar beside a photo whose own top and bottom
    are flat sky and grass is peeled on three sides, but white, blue and green are not one border."""
    h, w = small.shape[:2]
    edges = {"top": small[0], "bottom": small[-1], "left": small[:, 0], "right": small[:, -1]}
    full = {"top": 0, "bottom": h * k, "left": 0, "right": w * k}
    trimmed = [side for side in edges if getattr(box, side) != full[side]]
    colours = {side: _outside(np.ascontiguousarray(edges[side])) for side in trimmed}
    groups: list[list[str]] = []
    for side in trimmed:
        colour = colours[side]
        for group in groups:
            other = colours[group[0]]
            if colour is not None and other is not None and bool(_near(colour, other)):
                group.append(side)
                break
        else:
            groups.append([side])
    if len(groups) < 2:
        return []
    return [Box(*(getattr(box, side) if side in group else full[side] for side in ("top", "bottom", "left", "right")))
            for group in groups]


# ---------------------------------------------------------------- media-backed lists: anchored windows
# Crops defeat PDQ: its 16x16 DCT moves past the threshold once one side moves by about 1% of the
# photo, so a fixed set of crops would need hundreds per photo. Windows spanned by pairs of the
# photo's own corners move with the scene instead of the frame: a crop keeps every window whose two
# corners it keeps, at the same pixels, whatever was cut.
_ANCHOR_SIDE = 256  # corners are found on the luma reduced to this long side
# The strongest corners kept: a listed photo keeps more than a query looks at, because a crop cuts
# away some of the strongest and the query's strongest then rank lower among the listed photo's.
# Measured on 12% crops of abstract and gradient scenes (78 copies): 14 and 14 found 59, 20 listed
# and 14 query 68, 20 and 20 71 at twice the query's cost.
_LISTED_ANCHORS = 20  # up to 190 pairs a scale
_QUERY_ANCHORS = 14  # up to 91
_ANCHOR_SPACING = 0.06  # of the long side: a corner this close to a stronger one is dropped
_ANCHOR_FLOOR = 0.001  # a corner weaker than this share of the strongest is dropped (flat: none)
_ANCHOR_MARGIN = 3  # reduced pixels at the image's edge where corners are the frame's, not the scene's
_WINDOW_WIDE = 0.3  # a window spans at least this share of the width or of the height ...
_WINDOW_MIN = 0.15  # ... and at least this share of both (smaller ones match too loosely)
_LISTED_SPACING = 4.0  # percent of the frame: a listed window this close to a kept one on every side is dropped
WINDOW_SIDE = 1024  # windows are hashed on the photo reduced to at most this long side
# A window's PDQ quality measures its contrast, not its content: windows of smooth photos (sky,
# gradients, soft abstract shapes) fall under PDQ's floor of 50, yet measured on such photos, windows
# of quality 20-50 matched their cropped copies as often as stronger ones (76-80% against 87%), and
# random windows of distinct photos never came within 58 bits of each other. A near-flat window can
# still come within a few bits of an unrelated one (seen among 10,000 decoys), so a window never
# matches alone: other, different windows must agree (windows_agree).
WINDOW_MIN_QUALITY = 20
# Corners are found at a fixed reduction, so a copy shown at another scale (a crop enlarged to the same
# size) has some others, and the rest a pixel or two off. The listed photo's corners are also found as
# a copy cropped about 6% and 12% a side shows them (enlarged: 291 and 337 px for 256), and the query's
# as they would be if it were such a crop (reduced: 225 and 195 px); the same again at half the size
# (128 px), where blurred shapes (soft abstract art, hazy hills, clouds) have corners that a finer scale
# smooths away. Windows are spanned by two corners of one scale. Measured on 80 textured and 80 smooth
# photos cropped 12% a side: one scale found 51-76% of textured and 65% of smooth ones; three
# scales a side 89-100% and 88-90% (sky, landscape), 43-50% of abstract and gradient art; six 94-100%,
# 92-95% and 57-88%, at twice the windows.
#
# The listed photo's corners "as a crop shows them" are found in that crop of it (its middle, cut 6% or
# 12% a side, reduced to 256 or 128 px): a crop ranks its own corners, so the strongest ones of the
# whole photo, often at its edges, no longer crowd out those a copy cropped there finds. Measured on
# 160 low-texture photos (another seed than the bench's) and 800 decoys: 12% crops found 137 -> 142,
# 12% crops at half size 125 -> 130, 5% crops 150 -> 154, 0 false positives, windows 119 -> 133 a
# photo; cutting 9% and 15% too added 1, 3 and 1 more at 145 windows a photo, and was left out.
_LISTED_SIDES = (_ANCHOR_SIDE, 291, 337, 128, 146, 168)
_QUERY_SIDES = (_ANCHOR_SIDE, 225, 195, 128, 112, 98)
_BASE_SIDES = (128, _ANCHOR_SIDE)
# A video's frames (``frame=True``): a cropped video has every frame cropped alike and needs only some
# of them to match, so a listed frame keeps windows of one scale and a checked frame looks at three.
_FRAME_SIDES = (_ANCHOR_SIDE,)
_QUERY_FRAME_SIDES = (_ANCHOR_SIDE, 225, 195)


def _vertex(three: np.ndarray) -> float:
    """Where the parabola through three samples peaks, as an offset from the middle one (-0.5..0.5)."""
    left, mid, right = (float(v) for v in three)
    curve = left - 2 * mid + right
    return 0.0 if curve >= 0 else max(-0.5, min(0.5, 0.5 * (left - right) / curve))


def _anchors(image: Image.Image, side: int, count: int) -> np.ndarray:
    """The photo's strongest well-spaced corners, as (x, y) in full-size pixels, to a fraction of one.

    Found on a reduction to a fixed size, so a copy of another size has the same ones; a crop loses
    only those it cuts away (and may gain a few of its own as stronger ones go). ``image``: the luma as
    a Pillow image of mode "F" (made once for the several sizes corners are found at).
    """
    w, h = image.size
    scale = side / max(h, w)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    if min(sw, sh) < 4 * _ANCHOR_MARGIN:
        return np.zeros((0, 2))
    small = np.asarray(image.resize((sw, sh), Image.Resampling.BOX), np.float32)
    strength = _corners.corner_strength(small)
    peak = float(strength.max())
    if peak <= 1e-3:  # flat: no corners
        return np.zeros((0, 2))
    ys, xs = np.nonzero(_corners.local_maxima(strength, _ANCHOR_FLOOR * peak, _ANCHOR_MARGIN))
    order = np.argsort(-strength[ys, xs], kind="stable")
    chosen: list[tuple[float, float]] = []
    spacing2 = (_ANCHOR_SPACING * side) ** 2
    for k in order:
        y, x = int(ys[k]), int(xs[k])
        if all((x - cx) ** 2 + (y - cy) ** 2 >= spacing2 for cx, cy in chosen):
            chosen.append((x + _vertex(strength[y, x - 1 : x + 2]), y + _vertex(strength[y - 1 : y + 2, x])))
            if len(chosen) == count:
                break
    # Reduced pixel i covers full-size pixels [i, i + 1) / scale: its centre is (i + 0.5) / scale.
    return np.asarray((np.array(chosen).reshape(-1, 2) + 0.5) * np.array([w / sw, h / sh]))


def window_luma(luma: np.ndarray) -> np.ndarray:
    """The luma windows are hashed on: reduced to at most :data:`WINDOW_SIDE` a side (box filter).
    Windows span 15% of a side or more: a reduced photo gives the same hashes much sooner."""
    h, w = luma.shape
    if max(h, w) <= WINDOW_SIDE:
        return luma
    scale = WINDOW_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(luma, "F").resize(size, Image.Resampling.BOX), np.float32)


class _WindowMaker:
    """The anchored windows of one photo (or of one trimmed box of it), as (window, hash, quality), for
    whichever anchor scales are asked: anchors, and each window's hash, computed once however often
    they are asked for (a query's windows come in two steps, :class:`QueryWindows`)."""

    def __init__(self, regions: Regions, mirrored: bool) -> None:
        self.regions = regions
        self.mirrored = mirrored
        self._anchors: dict[int, np.ndarray] = {}
        self._hashed: dict[Box, tuple[str, str | None, int]] = {}
        self._image: Image.Image | None = None
        self._reduced: Regions | None = None

    def _find(self, image: Image.Image, side: int) -> np.ndarray:
        """The anchors of one scale: a query's on the whole photo; a listed photo's of a scale larger than
        its base scale (256 or 128 px, :data:`_LISTED_SIDES`) in the middle crop that scale stands for."""
        base = max((s for s in _BASE_SIDES if s <= side), default=side)
        if self.mirrored or side == base:
            return _anchors(image, side, _QUERY_ANCHORS if self.mirrored else _LISTED_ANCHORS)
        w, h = image.size
        cut = (1 - base / side) / 2  # 291 for 256: 6% a side; 337: 12%
        left, top = round(cut * w), round(cut * h)
        found = _anchors(image.crop((left, top, w - left, h - top)), base, _LISTED_ANCHORS)
        return found + np.array([left, top], np.float64) if len(found) else found

    def windows(self, sides: Sequence[int]) -> list[tuple[Window, str, int]]:
        """(window, hash, quality) of each window between two anchors of one of ``sides``, and its mirror
        image's if asked; anchors found at each of ``sides`` (windows between anchors of one side only)."""
        luma = self.regions.luma
        h, w = luma.shape
        for side in sides:
            if side not in self._anchors:
                if self._image is None:
                    self._image = Image.fromarray(np.ascontiguousarray(luma, np.float32), "F")
                self._anchors[side] = self._find(self._image, side)
        sets = [self._anchors[side] for side in sides]
        regions = self.regions
        if max(h, w) > WINDOW_SIDE:
            if self._reduced is None:
                self._reduced = Regions.from_luma(window_luma(luma))
            regions = self._reduced
            small = regions.luma
            sets = [points * np.array([small.shape[1] / w, small.shape[0] / h]) for points in sets]
            h, w = small.shape
        boxes: dict[Box, Window] = {}
        for points in sets:
            for a in range(len(points)):
                for b in range(a + 1, len(points)):
                    x0, x1 = sorted((float(points[a, 0]), float(points[b, 0])))
                    y0, y1 = sorted((float(points[a, 1]), float(points[b, 1])))
                    dx, dy = (x1 - x0) / w, (y1 - y0) / h
                    if max(dx, dy) < _WINDOW_WIDE or min(dx, dy) < _WINDOW_MIN:
                        continue
                    box = Box(round(y0), round(y1), round(x0), round(x1))
                    if box not in boxes:  # a strong corner is found at every scale: its windows are hashed once
                        boxes[box] = Window.cut(100 * x0 / w, 100 * y0 / h, 100 - 100 * x1 / w, 100 - 100 * y1 / h)
        # Every window not hashed yet in one call, the mirror image's hash from the same DCT.
        todo = [box for box in boxes if box not in self._hashed]
        self._hashed.update(zip(todo, regions.hash_many(todo, self.mirrored, WINDOW_MIN_QUALITY,
                                                        _QUERY_WINDOW_SCALE if self.mirrored else 1), strict=True))
        out: list[tuple[Window, str, int]] = []
        hashed: set[str] = set()
        for box, window in boxes.items():
            hexhash, flipped, quality = self._hashed[box]
            # Corners a pixel apart at two scales span windows with one hash: it is kept once.
            if quality < WINDOW_MIN_QUALITY or hexhash in hashed:
                continue
            hashed.add(hexhash)
            out.append((window, hexhash, quality))
            if flipped is not None:
                out.append((window.mirror(), flipped, quality))
        return out


def _windows(rgb: np.ndarray, mirrored: bool, sides: Sequence[int],
             regions: Regions | None = None) -> list[tuple[Window, str, int]]:
    """(window, hash, quality) of each anchored window of a photo, and of its mirror image if asked;
    anchors found at each of ``sides`` (windows between anchors of one side only). ``regions``: the
    photo's, when the caller has them (its luma computed already)."""
    return _WindowMaker(Regions(rgb) if regions is None else regions, mirrored).windows(sides)


def media_signals(rgb: np.ndarray, *, frame: bool = False, luma: np.ndarray | None = None) -> list[DerivedHash]:
    """Extra hashes to store for a photo in a list made from media: PDQ of windows anchored on its
    corners, as is and mirrored left to right.

    Each window is the rectangle two of the photo's 20 strongest corners span (at least 30% of the
    width or height and 15% of both), corners found at six scales (as copies cropped 0, 6 and 12%
    a side show them, and the same at half the size). Corners belong to the scene, not the frame, so
    a cropped, re-encoded or resized copy has the same corners and windows, less those the crop cut
    away: :func:`query_windows` finds them in the copy, and they match these by PDQ's distance rule.
    Mirrored crops are found by the query windows' mirror images, so a list keeps each window once.

    A video's frame (``frame``) keeps the windows of one scale: a cropped video has many frames to
    match by.

    Typically 80-200 windows (bench corpus: 143 on average, at most 282); windows under
    :data:`WINDOW_MIN_QUALITY` are left out, and so is a window within 4% of a kept one on every
    side; a flat photo has none. A match through windows needs three of them where one crop puts
    them (``guided.confirm`` with the photo at hand, else ``agreement.windows_agree``; two for a
    video's frame). Labels say where each window lies as the
    percent cut from each side of the photo: "window l12.5 t3.1 r40.0 b22.7" (lists made before
    query windows were mirrored also keep "... mirrored" ones). Windows are hashed on the photo
    reduced to at most 1024 px a side. ``luma``: PDQ's luma of ``rgb``, if the caller has it.
    """
    rgb = _check_rgb(rgb)
    return [DerivedHash(window, hexhash, quality)
            for window, hexhash, quality in _spaced(_windows(rgb, False, _FRAME_SIDES if frame else _LISTED_SIDES,
                                                             Regions(rgb, luma)))]


def _spaced(windows: list[tuple[Window, str, int]]) -> list[tuple[Window, str, int]]:
    """The listed windows less those within :data:`_LISTED_SPACING` of an earlier one on every side.

    Anchors found at six scales, and neighbouring corners, span many windows a pixel or two apart:
    a query window that matches one matches its neighbours too, and two of them cannot confirm each
    other (:data:`_DISTINCT`), so a list keeps the first (the strongest corners of the first scale
    come first). Measured on 12% crops of low-texture photos: a third of the windows go, recall stays.
    """
    kept: list[tuple[Window, str, int]] = []
    sides = np.zeros((len(windows), 4), np.float32)
    for window, hexhash, quality in windows:
        here = np.array((window.left, window.top, window.right, window.bottom), np.float32)
        n = len(kept)
        if n and bool((np.abs(sides[:n] - here).max(axis=1) < _LISTED_SPACING).any()):
            continue
        sides[n] = here
        kept.append((window, hexhash, quality))
    return kept


def query_windows(rgb: np.ndarray, boxes: Sequence[Box] | None = None, *, frame: bool = False,
                  luma: np.ndarray | None = None) -> list[Variant]:
    """The anchored windows of a photo being checked, to look up among the windows of lists made
    from media (only there: a window is a part of a photo, not a photo).

    Windows of the whole photo ("window l.. t.. r.. b..", corners found at six scales, as if the
    photo were a crop of 0, 6 or 12% a side of a listed one, and at half those sizes), then of the
    photo trimmed to each box :func:`content_boxes` finds ("trimmed WxH+X+Y window ...", at one
    scale), so a crop that was then screenshotted or captioned is found too. Each window comes with
    its mirror image's hash from the same DCT ("window ... flipy"): it finds a mirrored crop.
    ``boxes`` saves running :func:`content_boxes` again when the caller already has them. A video
    frame (``frame``) is looked at on fewer scales (see :func:`media_signals`). ``luma``: PDQ's luma
    of ``rgb``, if the caller has it. The same as ``QueryWindows(...).complete()``.
    """
    return QueryWindows(rgb, boxes, frame=frame, luma=luma).complete()


# A query's windows in two steps (QueryWindows): first the anchors of three of the six scales (and the
# trimmed boxes' one), then, only where one of those windows came within PDQ's distance of a listed
# window, all six. Most photos on a drive are no copy of a listed one and stop after the first step.
# In process (160 listed photos, textured and low-texture; 1,120 copies cropped, captioned,
# screenshotted, mirrored and halved; 660 decoys): of the copies with three windows or more within
# 31 bits of their listed photo, 8 had none among the first step's with scales 256 and 128, 3 with
# 256, 195 and 128; 1-2% of decoys went on. The 10,000-decoy bench (bench/results/edit_recall.md):
# every single edit found as before, 3 of 5,400 double-edited copies lost (low-texture crops
# re-encoded at quality 40 or halved; 7 with two scales), 2% of decoys went on; a camera JPEG's
# first step costs 10.6 ms of CPU where all its windows cost 19.2.
_FIRST_SIDES = (_ANCHOR_SIDE, 195, 128)


class QueryWindows:
    """A photo's query windows (:func:`query_windows`), in two steps: :meth:`first` hashes the windows
    of the anchor scales in ``_FIRST_SIDES`` and of the trimmed boxes; :meth:`complete` all of them,
    reusing what the first step hashed, exactly as :func:`query_windows` makes them. A matcher asks for
    the complete set only when a first window came near a listed one (``matching.Matcher``)."""

    def __init__(self, rgb: np.ndarray, boxes: Sequence[Box] | None = None, *, frame: bool = False,
                 luma: np.ndarray | None = None) -> None:
        rgb = _check_rgb(rgb)
        regions = Regions(rgb, luma)
        self._sides = _QUERY_FRAME_SIDES if frame else _QUERY_SIDES
        self._whole = _WindowMaker(regions, mirrored=True)
        self._trimmed = [(box, _WindowMaker(regions.crop(box), mirrored=True))
                         for box in (content_boxes(rgb) if boxes is None else boxes)]

    def first(self) -> list[Variant]:
        """The first step's windows: anchors of the first scales only, and the trimmed boxes' windows."""
        return self._variants([side for side in self._sides if side in _FIRST_SIDES])

    def complete(self) -> list[Variant]:
        """Every window, as :func:`query_windows` gives them."""
        return self._variants(self._sides)

    def _variants(self, sides: Sequence[int]) -> list[Variant]:
        variants = [_query_window(None, window, hexhash, quality)
                    for window, hexhash, quality in self._whole.windows(sides)]
        for box, maker in self._trimmed:  # one scale: a crop, then trimmed
            variants += [_query_window(box, window, hexhash, quality)
                         for window, hexhash, quality in maker.windows((_ANCHOR_SIDE,))]
        return variants


def _query_window(trimmed: Box | None, window: Window, hexhash: str, quality: int) -> Variant:
    """A query window; one of the mirror image is named as the window mirrored left to right ("flipy")."""
    if window.mirrored:
        return Variant(View("flipy", trimmed, window.mirror()), hexhash, quality)
    return Variant(View(trimmed=trimmed, window=window), hexhash, quality)
