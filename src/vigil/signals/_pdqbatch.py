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

__all__ = ["agrees", "hash_boxes"]


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
        region = scratch_c[: h * w].reshape((h, w))
        for i in range(h):  # row by row: the kernels want a contiguous image (vectorised along rows)
            region[i, :] = luma[top + i, left:right]
        b64 = downscale64_kernel(region, scratch_a[: h * w].reshape((h, w)), scratch_b[: h * w].reshape((h, w)))
        quality[k] = _quality(b64)
        if quality[k] < min_quality:
            continue
        _dct16(b64, dct, t, b16)
        _bits(b16, False, words[k, 0])
        if mirrored:
            _bits(b16, True, words[k, 1])


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
    luma = np.ascontiguousarray(luma, np.float32)
    boxes = np.ascontiguousarray(boxes, np.int64).reshape(-1, 4)
    n = len(boxes)
    words = np.zeros((n, 2, 16), np.uint16)
    quality = np.zeros(n, np.int64)
    if n:
        _hash_boxes(luma, boxes, min_quality, mirrored, _dct_matrix(), words, quality)
    return _hex(words[:, 0]), _hex(words[:, 1]) if mirrored else None, quality


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

