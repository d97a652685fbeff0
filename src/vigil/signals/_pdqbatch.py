"""PDQ of many boxes of one luma image in one call, bit for bit as ``_pdqcore.hash_from_luma`` of each.

Anchored windows hash dozens of boxes of the same photo. One at a time, each paid for a copy of
its box, a ctypes call into Meta's C++ DCT (about 60 us: its loops are not vectorised), the bit
packing and Python's bookkeeping: more than the Jarosz downscale itself on a 1,000-pixel photo. Here
the downscale (``_pdqcore``'s kernel), the quality metric, the 64-to-16 DCT, the
median and the bits are one numba call for every box, and a box under ``min_quality`` skips its DCT.

The DCT matrix is read out of the C++ core itself (its intermediate 16x64 product of unit images),
and the sums run in the C++ order in float32, so the hashes are the C++ core's. :func:`agrees`
checks that once per process on random boxes; callers fall back to the per-box path if not.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from . import _pdqcpp
from ._pdqcore import MIN_HASHABLE_DIM, dihedral_from_luma, downscale64_kernel, hash_from_luma

__all__ = ["agrees", "block_means_t", "hash_boxes", "hash_boxes_reduced"]


@numba.njit(cache=True, nogil=True)
def _quality(b64: np.ndarray) -> int:  # pragma: no cover - jitted
    """PDQ's image-domain quality metric, as its C++ computes it (float32 steps, truncation to int)."""
    hundred, scale = np.float32(100.0), np.float32(255.0)
    total = 0
    for i in range(63):
        for j in range(64):
            total += abs(int((np.float32(b64[i, j] - b64[i + 1, j]) * hundred) / scale))
    for i in range(64):
        for j in range(63):
            total += abs(int((np.float32(b64[i, j] - b64[i, j + 1]) * hundred) / scale))
    return min(100, total // 90)


@numba.njit(cache=True, nogil=True)
def _dct16(b64: np.ndarray, dct: np.ndarray, t: np.ndarray, b16: np.ndarray) -> None:  # pragma: no cover
    """B = D A D^T keeping only 16x16, each sum over k in the C++ order (vectorised across j)."""
    t[:, :] = 0.0
    for i in range(16):
        for k in range(64):
            d = dct[i, k]
            for j in range(64):
                t[i, j] += d * b64[k, j]
    for i in range(16):
        for j in range(16):
            acc = np.float32(0.0)
            for k in range(64):
                acc += t[i, k] * dct[j, k]
            b16[i, j] = acc


@numba.njit(cache=True, nogil=True)
def _bits(b16: np.ndarray, flip_y: bool, words: np.ndarray) -> None:  # pragma: no cover - jitted
    """PDQ's bits: each coefficient above the median (the 128th smallest, as Torben's method gives),
    of the DCT as is or of the mirror image's (odd columns keep their sign, even ones flip)."""
    values = np.empty(256, np.float32)
    for i in range(16):
        for j in range(16):
            v = b16[i, j]
            values[i * 16 + j] = v if not flip_y or j & 1 else -v
    median = np.sort(values)[127]
    for w in range(16):
        word = 0
        for bit in range(16):
            if values[w * 16 + bit] > median:
                word |= 1 << bit
        words[w] = word


@numba.njit(cache=True, nogil=True)
def _downscale_box(luma: np.ndarray, top: int, bottom: int, left: int, right: int, region: np.ndarray,
                   a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """PDQ's 64x64 buffer of one box of ``luma``, through ``region`` and the scratch ``a`` and ``b``
    (each of the box's shape)."""
    for i in range(bottom - top):  # row by row: the kernels want a contiguous image (vectorised along rows)
        region[i, :] = luma[top + i, left:right]
    return downscale64_kernel(region, a, b)


@numba.njit(cache=True, nogil=True)
def _finish(b64: np.ndarray, min_quality: int, mirrored: bool, dct: np.ndarray, t: np.ndarray, b16: np.ndarray,
            words: np.ndarray) -> int:  # pragma: no cover - jitted
    """A box's quality from its 64x64 buffer and, unless under ``min_quality``, its bits into
    ``words[0]`` (and its mirror image's into ``words[1]``)."""
    quality = _quality(b64)
    if quality >= min_quality:
        _dct16(b64, dct, t, b16)
        _bits(b16, False, words[0])
        if mirrored:
            _bits(b16, True, words[1])
    return quality


@numba.njit(cache=True, nogil=True)
def _hash_boxes(luma: np.ndarray, boxes: np.ndarray, min_quality: int, mirrored: bool, dct: np.ndarray,
                words: np.ndarray, quality: np.ndarray) -> None:  # pragma: no cover - jitted
    n = boxes.shape[0]
    largest = 1
    for k in range(n):
        largest = max(largest, (boxes[k, 1] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 2]))
    scratch_a = np.empty(largest, np.float32)
    scratch_b = np.empty(largest, np.float32)
    scratch_c = np.empty(largest, np.float32)
    t = np.empty((16, 64), np.float32)
    b16 = np.empty((16, 16), np.float32)
    for k in range(n):
        top, bottom, left, right = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
        h, w = bottom - top, right - left
        if h < MIN_HASHABLE_DIM or w < MIN_HASHABLE_DIM:
            quality[k] = 0  # PDQ's zero hash: words stay 0
            continue
        b64 = _downscale_box(luma, top, bottom, left, right, scratch_c[: h * w].reshape((h, w)),
                             scratch_a[: h * w].reshape((h, w)), scratch_b[: h * w].reshape((h, w)))
        quality[k] = _finish(b64, min_quality, mirrored, dct, t, b16, words[k])


@numba.njit(cache=True, nogil=True)
def _axis_weights(n: int, offset: int, scale: int, m: int, band: np.ndarray) -> int:  # pragma: no cover
    """PDQ's two box passes and centre sampling over ``n`` samples starting at ``offset``, as weights
    on the means of ``scale`` samples (``m`` of them, the last maybe partial): each output's weights
    go into its row of ``band`` after the first column, which holds the index of the row's first mean
    (``_pdqfast._banded_weights``, with an offset, one axis of one box). Returns the widest row's
    width, or -1 when ``band`` is too narrow."""
    w = (n + 127) // 128
    half = (w + 2) // 2
    left, right = w - half, half - 1
    width = band.shape[1] - 1
    used = 0
    band[:, :] = 0.0
    for k in range(64):
        c = int(((k + 0.5) * n) / 64)
        lo_c, hi_c = max(c - left, 0), min(c + right, n - 1)
        start = (max(lo_c - left, 0) + offset) // scale
        end = (min(hi_c + right, n - 1) + offset) // scale + 1
        if end - start > width:
            return -1
        used = max(used, end - start)
        band[k, 0] = start
        span_c = hi_c - lo_c + 1
        for i in range(lo_c, hi_c + 1):
            lo_i, hi_i = max(i - left, 0), min(i + right, n - 1)
            weight = 1.0 / (span_c * (hi_i - lo_i + 1))
            for j in range(lo_i, hi_i + 1):
                band[k, 1 + (j + offset) // scale - start] += weight
    return used


@numba.njit(cache=True, nogil=True)
def _buffer64_reduced(means_t: np.ndarray, scale: int, top: int, bottom: int, left: int, right: int,  # pragma: no cover
                      band_y: np.ndarray, band_x: np.ndarray, rows_t: np.ndarray, out: np.ndarray) -> bool:
    """PDQ's 64x64 buffer of a box of the full-size luma, from the means of its ``scale`` x ``scale``
    blocks (``means_t``: transposed, so the first pass runs along contiguous columns of means, vectorised):
    fast mode's mapping (``_pdqfast``). False when the weights do not fit the scratch."""
    m_x, m_y = means_t.shape
    by = _axis_weights(bottom - top, top, scale, m_y, band_y)
    bx = _axis_weights(right - left, left, scale, m_x, band_x)
    if by < 0 or bx < 0:
        return False
    r0 = int(band_y[0, 0])
    r1 = min(int(band_y[63, 0]) + by, m_y)
    for k in range(64):
        acc = rows_t[k]
        for i in range(r0, r1):
            acc[i] = 0.0
        j0 = int(band_x[k, 0])
        for j in range(min(bx, m_x - j0)):
            weight = band_x[k, 1 + j]
            src = means_t[j0 + j]
            for i in range(r0, r1):
                acc[i] += weight * src[i]
    for r in range(64):
        i0 = int(band_y[r, 0])
        n = min(by, r1 - i0)
        for k in range(64):
            acc = 0.0
            for i in range(n):
                acc += band_y[r, 1 + i] * rows_t[k, i0 + i]
            out[r, k] = acc
    return True


@numba.njit(cache=True, nogil=True)
def _hash_reduced(luma: np.ndarray, means_t: np.ndarray, scale: int, boxes: np.ndarray, min_quality: int,
                  mirrored: bool, dct: np.ndarray, words: np.ndarray, quality: np.ndarray,
                  min_half_blocks: int) -> None:  # pragma: no cover
    """``_hash_boxes``, but a box whose PDQ filter spans at least ``min_half_blocks`` / 2 blocks of
    ``scale`` pixels on both axes gets its 64x64 buffer from the block ``means`` (as fast mode's photos do); smaller
    boxes are hashed from the full-size ``luma``, exactly."""
    n = boxes.shape[0]
    small = np.zeros(n, np.bool_)
    largest = 1
    for k in range(n):
        h, w = boxes[k, 1] - boxes[k, 0], boxes[k, 3] - boxes[k, 2]
        small[k] = 2 * ((h + 127) // 128) < min_half_blocks * scale or 2 * ((w + 127) // 128) < min_half_blocks * scale
        if small[k]:
            largest = max(largest, h * w)
    scratch_a = np.empty(largest, np.float32)
    scratch_b = np.empty(largest, np.float32)
    scratch_c = np.empty(largest, np.float32)
    width = 64 // scale + 4  # a filter of w samples reaches 2w - 1 of them: (2w - 1) / scale + 2 means
    band_y = np.empty((64, 1 + width), np.float64)
    band_x = np.empty((64, 1 + width), np.float64)
    rows_t = np.empty((64, means_t.shape[1]), np.float64)
    b64 = np.empty((64, 64), np.float32)
    t = np.empty((16, 64), np.float32)
    b16 = np.empty((16, 16), np.float32)
    for k in range(n):
        top, bottom, left, right = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
        h, w = bottom - top, right - left
        if h < MIN_HASHABLE_DIM or w < MIN_HASHABLE_DIM:
            quality[k] = 0
            continue
        done = not small[k] and _buffer64_reduced(means_t, scale, top, bottom, left, right, band_y, band_x, rows_t, b64)
        if not done:
            region = scratch_c[: h * w].reshape((h, w)) if small[k] else np.empty((h, w), np.float32)
            a = scratch_a[: h * w].reshape((h, w)) if small[k] else np.empty((h, w), np.float32)
            bb = scratch_b[: h * w].reshape((h, w)) if small[k] else np.empty((h, w), np.float32)
            b64[:, :] = _downscale_box(luma, top, bottom, left, right, region, a, bb)
        quality[k] = _finish(b64, min_quality, mirrored, dct, t, b16, words[k])


@numba.njit(cache=True, nogil=True)
def _block_means(luma: np.ndarray, scale: int) -> np.ndarray:  # pragma: no cover - jitted
    """The means of ``scale`` x ``scale`` blocks of ``luma`` (those at the far edges over what is there)."""
    h, w = luma.shape
    m_y, m_x = (h + scale - 1) // scale, (w + scale - 1) // scale
    out = np.zeros((m_y, m_x), np.float32)
    for i in range(h):
        for j in range(w):
            out[i // scale, j // scale] += luma[i, j]
    for i in range(m_y):
        ny = min(scale, h - i * scale)
        for j in range(m_x):
            out[i, j] /= ny * min(scale, w - j * scale)
    return out


def block_means_t(luma: np.ndarray, scale: int) -> np.ndarray:
    """The means of ``scale`` x ``scale`` blocks of a float32 luma, transposed (what
    :func:`hash_boxes_reduced` hashes from; a caller hashing boxes of one luma in several calls keeps them)."""
    return np.ascontiguousarray(_block_means(np.ascontiguousarray(luma, np.float32), scale).T)


def hash_boxes_reduced(luma: np.ndarray, boxes: np.ndarray, scale: int, *, min_quality: int = 0, mirrored: bool = False,
                       min_blocks: float = 1.0, means_t: np.ndarray | None = None,
                       ) -> tuple[list[str], list[str] | None, np.ndarray]:
    """As :func:`hash_boxes`, but boxes large enough (PDQ's filter at least ``min_blocks`` blocks
    wide on both axes) hashed from the means of ``scale`` x ``scale`` blocks of ``luma`` with PDQ's
    filter mapped onto them: fast mode's approximation (``_pdqfast``), a few bits from exact (tested;
    measured in ``variants``), at a fraction of the cost. Smaller boxes are hashed exactly.
    ``means_t``: :func:`block_means_t` of the luma at this scale, if the caller kept them."""
    luma, boxes, words, quality = _arrays(luma, boxes)
    if len(boxes):
        if means_t is None:
            means_t = block_means_t(luma, scale)
        _hash_reduced(luma, means_t, scale, boxes, min_quality, mirrored, _dct_matrix(), words, quality,
                      round(2 * min_blocks))
    return _hex(words[:, 0]), _hex(words[:, 1]) if mirrored else None, quality


@functools.cache
def _dct_matrix() -> np.ndarray:
    """The C++ core's 16x64 DCT matrix, exactly: column k of its product D A for A = the unit image e_k0."""
    matrix = np.empty((16, 64), np.float32)
    for k in range(64):
        unit = np.zeros((64, 64), np.float32)
        unit[k, 0] = 1.0
        matrix[:, k] = _pdqcpp.dct_rows(unit)[:, 0]
    return matrix


def _hex(words: np.ndarray) -> list[str]:
    """PDQ's text form of each row of 16 words (most significant word first)."""
    text = np.ascontiguousarray(words[:, ::-1]).astype(">u2").tobytes().hex()
    return [text[i : i + 64] for i in range(0, len(text), 64)]


def hash_boxes(luma: np.ndarray, boxes: np.ndarray, *, min_quality: int = 0,
               mirrored: bool = False) -> tuple[list[str], list[str] | None, np.ndarray]:
    """PDQ hashes and qualities of ``boxes`` (n x 4 ints: top, bottom, left, right) of a float32
    luma image, each as ``hash_from_luma(luma[top:bottom, left:right])`` gives it; with
    ``mirrored``, also the hash of each box mirrored left to right (PDQ's "flipy").

    A box whose quality is under ``min_quality`` gets only its quality (its hashes are PDQ's zero
    hash): callers drop such boxes anyway, and their DCT is most of a small box's cost. Returns
    (hashes, mirrored hashes or None, qualities as an int array).
    """
    luma, boxes, words, quality = _arrays(luma, boxes)
    if len(boxes):
        _hash_boxes(luma, boxes, min_quality, mirrored, _dct_matrix(), words, quality)
    return _hex(words[:, 0]), _hex(words[:, 1]) if mirrored else None, quality


def _arrays(luma: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernels' inputs (contiguous float32 luma, n x 4 int64 boxes) and zeroed outputs (words, qualities)."""
    boxes = np.ascontiguousarray(boxes, np.int64).reshape(-1, 4)
    n = len(boxes)
    return (np.ascontiguousarray(luma, np.float32), boxes, np.zeros((n, 2, 16), np.uint16),
            np.zeros(n, np.int64))


@functools.cache
def agrees() -> bool:
    """Whether :func:`hash_boxes` gives the per-box path's hashes (and mirrored hashes) bit for bit,
    on random boxes of random and smooth images; checked once per process."""
    if not _pdqcpp.BOUND:
        return False
    rng = np.random.default_rng(20261130)
    noise = rng.random((173, 260)).astype(np.float32) * 255
    smooth = np.add.outer(np.linspace(0, 90, 173), np.linspace(0, 60, 260)).astype(np.float32)
    for luma in (noise, smooth + noise * 0.05):
        boxes = np.array([[0, 173, 0, 260], [3, 170, 11, 200], [40, 120, 5, 9], [10, 150, 64, 128],
                          [0, 64, 0, 64], [17, 140, 31, 259]])
        hashes, flipped, quality = hash_boxes(luma, boxes, mirrored=True)
        for k, (top, bottom, left, right) in enumerate(boxes):
            region = luma[top:bottom, left:right]
            want = dihedral_from_luma(region)
            assert flipped is not None
            if (hashes[k], int(quality[k])) != hash_from_luma(region) or flipped[k] != want[0]["flipy"]:
                return False
    return True

