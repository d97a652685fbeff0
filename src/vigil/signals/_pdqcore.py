"""Bit-exact, faster PDQ: our own luma and Jarosz downscale (numba), Meta's C++ for the rest.

``pdqhash`` (Meta's C++ PDQ core) spends most of its time in the full-resolution
Jarosz box filter, walking columns with a stride, and computes luma with several
float64 numpy passes. Only 64x64 filtered samples are ever used, so we compute the
same box-filter running sums in the same float32 operation order (making the result
bit-identical), vectorised across independent lines and skipping outputs that
decimation throws away. The DCT, quality metric, median and bit packing are the
C++ functions exported by pdqhash's own extension module, called through ctypes
(``_pdqcpp``, re-exported here).

If those symbols cannot be bound (another pdqhash build), or these kernels disagree
with ``pdqhash.compute`` (:func:`agrees_with_pdqhash`, run once per install by
``_pdqcheck``), ``_pdqcheck.AVAILABLE`` is False and callers fall back to the public
pdqhash API. This module loads numba (0.4 s with its first kernel): only callers that
decode at full size import it.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from . import _pdqfast
from ._pdqcpp import (
    BOUND,
    DIHEDRAL_NAMES,
    ZERO_HASH,
    bits_to_hex,
    dihedral_from_buffer64,
    hash_from_buffer64,
    reference_hex,
    words_to_hex,
)
from ._pdqfast import centers, window

__all__ = [
    "BOUND",
    "DIHEDRAL_NAMES",
    "agrees_with_pdqhash",
    "hash_from_luma",
    "hash_from_buffer64",
    "dihedral_from_buffer64",
    "hashable",
    "ZERO_HASH",
    "dihedral_from_luma",
    "luma_like_pdqhash",
    "luma_like_cpp",
    "words_to_hex",
    "bits_to_hex",
    "reference_hex",
    "downscale64",
    "downscale64_kernel",
    "MIN_HASHABLE_DIM",
]

MIN_HASHABLE_DIM = 5


# ---------------------------------------------------------------- luma
# Both walk the pixels as one flat run of bytes: with a single index the compiler
# vectorises the interleaved R, G, B loads (3.5x faster than a row/column loop).
@numba.njit(cache=True, nogil=True)
def _luma_f64(flat: np.ndarray, n: int) -> np.ndarray:  # pragma: no cover - jitted
    out = np.empty(n, np.float32)
    for k in range(n):
        out[k] = np.float32(
            np.float64(flat[3 * k]) * 0.299 + np.float64(flat[3 * k + 1]) * 0.587 + np.float64(flat[3 * k + 2]) * 0.114
        )
    return out


@numba.njit(cache=True, nogil=True)
def _luma_f32(flat: np.ndarray, n: int) -> np.ndarray:  # pragma: no cover - jitted
    cr = np.float32(0.299)
    cg = np.float32(0.587)
    cb = np.float32(0.114)
    out = np.empty(n, np.float32)
    for k in range(n):
        out[k] = (cr * np.float32(flat[3 * k]) + cg * np.float32(flat[3 * k + 1])) + cb * np.float32(flat[3 * k + 2])
    return out


def luma_like_pdqhash(rgb: np.ndarray) -> np.ndarray:
    """Luma exactly as ``pdqhash.compute`` makes it: float64 sum, then float32."""
    h, w = rgb.shape[0], rgb.shape[1]
    flat: np.ndarray = _luma_f64(np.ascontiguousarray(rgb).reshape(-1), h * w)
    return flat.reshape(h, w)


def luma_like_cpp(rgb: np.ndarray) -> np.ndarray:
    """Luma exactly as PDQ's C++ ``fillFloatLumaFromRGB`` (used by vPDQ): float32 math."""
    h, w = rgb.shape[0], rgb.shape[1]
    flat: np.ndarray = _luma_f32(np.ascontiguousarray(rgb).reshape(-1), h * w)
    return flat.reshape(h, w)


# ---------------------------------------------------------------- Jarosz
@numba.njit(cache=True, nogil=True)
def _box_lines(src: np.ndarray, dst: np.ndarray, window: int, rows: np.ndarray) -> None:  # pragma: no cover
    """One box pass along axis 0 of ``src`` for every column at once.

    Reproduces PDQ's ``box1DFloat`` arithmetic (float32 running sum: add the
    entering sample, subtract the leaving one, divide by the current window) for
    each column independently. ``rows`` marks which output rows are written.
    """
    n, m = src.shape[0], src.shape[1]
    half = (window + 2) // 2
    p1 = half - 1
    p2 = window - half + 1
    p3 = n - window
    p4 = half - 1
    acc = np.zeros(m, np.float32)
    ri = 0
    li = 0
    oi = 0
    cur = 0
    for _ in range(p1):
        for j in range(m):
            acc[j] = acc[j] + src[ri, j]
        cur += 1
        ri += 1
    for _ in range(p2):
        for j in range(m):
            acc[j] = acc[j] + src[ri, j]
        cur += 1
        if rows[oi]:
            c = np.float32(cur)
            for j in range(m):
                dst[oi, j] = acc[j] / c
        ri += 1
        oi += 1
    for _ in range(p3):
        for j in range(m):
            acc[j] = acc[j] + src[ri, j]
            acc[j] = acc[j] - src[li, j]
        if rows[oi]:
            c = np.float32(cur)
            for j in range(m):
                dst[oi, j] = acc[j] / c
        li += 1
        ri += 1
        oi += 1
    for _ in range(p4):
        for j in range(m):
            acc[j] = acc[j] - src[li, j]
        cur -= 1
        if rows[oi]:
            c = np.float32(cur)
            for j in range(m):
                dst[oi, j] = acc[j] / c
        li += 1
        oi += 1


@numba.njit(cache=True, nogil=True, inline="always")
def _add8(a: tuple, src: np.ndarray, r0: int, j: int) -> tuple:  # type: ignore[type-arg]  # pragma: no cover
    return (a[0] + src[r0, j], a[1] + src[r0 + 1, j], a[2] + src[r0 + 2, j], a[3] + src[r0 + 3, j],
            a[4] + src[r0 + 4, j], a[5] + src[r0 + 5, j], a[6] + src[r0 + 6, j], a[7] + src[r0 + 7, j])


@numba.njit(cache=True, nogil=True, inline="always")
def _sub8(a: tuple, src: np.ndarray, r0: int, j: int) -> tuple:  # type: ignore[type-arg]  # pragma: no cover
    return (a[0] - src[r0, j], a[1] - src[r0 + 1, j], a[2] - src[r0 + 2, j], a[3] - src[r0 + 3, j],
            a[4] - src[r0 + 4, j], a[5] - src[r0 + 5, j], a[6] - src[r0 + 6, j], a[7] - src[r0 + 7, j])


@numba.njit(cache=True, nogil=True, inline="always")
def _put8(dst: np.ndarray, r0: int, j: int, a: tuple, count: int) -> None:  # type: ignore[type-arg]  # pragma: no cover
    c = np.float32(count)
    for r in range(8):
        dst[r0 + r, j] = a[r] / c


@numba.njit(cache=True, nogil=True)
def _box_rows8(src: np.ndarray, dst: np.ndarray, r0: int, window: int, cols: np.ndarray) -> None:  # pragma: no cover
    """The box pass along rows r0..r0+7, their running sums kept in registers.

    Eight independent chains hide the add latency; holding them in a tuple, not an
    array, lets the compiler see they cannot alias ``dst`` (a third faster).
    """
    m = src.shape[1]
    half = (window + 2) // 2
    z = np.float32(0.0)
    a = (z, z, z, z, z, z, z, z)
    ri = 0
    li = 0
    cur = 0
    for _ in range(half - 1):
        a = _add8(a, src, r0, ri)
        cur += 1
        ri += 1
    oi = 0
    for _ in range(window - half + 1):
        a = _add8(a, src, r0, ri)
        cur += 1
        if cols[oi]:
            _put8(dst, r0, oi, a, cur)
        ri += 1
        oi += 1
    for _ in range(m - window):
        a = _sub8(_add8(a, src, r0, ri), src, r0, li)
        if cols[oi]:
            _put8(dst, r0, oi, a, cur)
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        a = _sub8(a, src, r0, li)
        cur -= 1
        if cols[oi]:
            _put8(dst, r0, oi, a, cur)
        li += 1
        oi += 1


@numba.njit(cache=True, nogil=True)
def _box_rows(src: np.ndarray, dst: np.ndarray, window: int, cols: np.ndarray) -> None:  # pragma: no cover
    """PDQ's ``box1DFloat`` along each row of ``src``: eight rows at a time, the
    last few (fewer than eight) one by one."""
    n = src.shape[0]
    full = n - n % 8
    for r0 in range(0, full, 8):
        _box_rows8(src, dst, r0, window, cols)
    m = src.shape[1]
    for r in range(full, n):  # a row is a one-column image to the column pass
        _box_lines(src[r].reshape((m, 1)), dst[r].reshape((m, 1)), window, cols)


# PDQ's window and sampling centres: one definition (in _pdqfast, which runs it in plain Python),
# compiled here for the kernels.
_window = numba.njit(cache=True, nogil=True)(window)
_centers = numba.njit(cache=True, nogil=True)(centers)


@numba.njit(cache=True, nogil=True)
def _downscale64(luma: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """PDQ's two Jarosz X/Y passes and centre decimation to 64x64, bit for bit.

    ``a`` and ``b`` are scratch images of the same shape (reused: fresh ones would
    cost page faults worth a third of the work).
    """
    h, w = luma.shape
    out = np.empty((64, 64), np.float32)
    if h == 64 and w == 64:
        out[:, :] = luma
        return out
    wr = _window(w, 64)  # along rows (horizontal)
    wc = _window(h, 64)  # along columns (vertical)
    ri = _centers(h)
    ci = _centers(w)
    all_h = np.ones(h, np.bool_)
    all_w = np.ones(w, np.bool_)
    need_w = np.zeros(w, np.bool_)
    for k in range(64):
        need_w[ci[k]] = True
    need_h = np.zeros(h, np.bool_)
    for k in range(64):
        need_h[ri[k]] = True
    _box_rows(luma, a, wr, all_w)  # pass 1 along rows
    _box_lines(a, b, wc, all_h)  # pass 1 along columns
    # Pass 2 along rows: only the decimated columns are read afterwards.
    _box_rows(b, a, wr, need_w)
    sub = np.empty((h, 64), np.float32)
    for i in range(h):
        for k in range(64):
            sub[i, k] = a[i, ci[k]]
    sub2 = np.empty_like(sub)
    _box_lines(sub, sub2, wc, need_h)  # pass 2 along columns, decimated rows only
    for k in range(64):
        out[k, :] = sub2[ri[k], :]
    return out


# The jitted kernel itself, for other kernels to call (nopython code cannot call a Python wrapper):
# downscale64_kernel(luma, a, b) with scratch images a and b of luma's shape (signals/_pdqbatch.py).
downscale64_kernel = _downscale64

_scratch_store = threading.local()


def _scratch(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 h x w scratch images, kept per thread and grown as needed."""
    n = h * w
    bufs: tuple[np.ndarray, np.ndarray] | None = getattr(_scratch_store, "bufs", None)
    if bufs is None or bufs[0].size < n:
        bufs = (np.empty(n, np.float32), np.empty(n, np.float32))
        _scratch_store.bufs = bufs
    return bufs[0][:n].reshape(h, w), bufs[1][:n].reshape(h, w)


def downscale64(luma: np.ndarray) -> np.ndarray:
    """PDQ's Jarosz downscale of a float32 luma image to 64x64, bit for bit."""
    luma = np.ascontiguousarray(luma, np.float32)
    return _downscale64(luma, *_scratch(*luma.shape))


def hashable(luma: np.ndarray) -> bool:
    """PDQ hashes images of at least 5x5 pixels; smaller ones get hash 0, quality 0."""
    return bool(min(luma.shape) >= MIN_HASHABLE_DIM)


def hash_from_luma(luma: np.ndarray) -> tuple[str, int]:
    """PDQ hash (hex) and quality of a float32 luma image, bit for bit as pdqhash."""
    if not hashable(luma):
        return ZERO_HASH, 0
    return hash_from_buffer64(downscale64(luma))


def dihedral_from_luma(luma: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral PDQ hashes of a float32 luma image, bit for bit as pdqhash."""
    if not hashable(luma):
        return {n: ZERO_HASH for n in DIHEDRAL_NAMES}, 0
    return dihedral_from_buffer64(downscale64(luma))


def agrees_with_pdqhash() -> bool:
    """Whether these kernels and the C++ tail give pdqhash's hashes, bit for bit, on random images
    of awkward shapes (``_pdqcheck`` runs this once per install)."""
    if not BOUND:
        return False
    rng = np.random.default_rng(20261123)
    for shape in ((67, 131, 3), (64, 64, 3), (200, 90, 3)):
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        if hash_from_luma(luma_like_pdqhash(img)) != reference_hex(img):
            return False
    return True


# ---------------------------------------------------------------- fast mode's per-photo work
@numba.njit(cache=True, nogil=True)
def _apply(starts_y: np.ndarray, band_y: np.ndarray, luma: np.ndarray,
           starts_x: np.ndarray, band_x: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """``_pdqfast._apply_numpy`` compiled: the same sums in the same order."""
    h = luma.shape[0]
    bx = band_x.shape[1]
    by = band_y.shape[1]
    rows = np.empty((h, 64))
    for i in range(h):
        for k in range(64):
            acc = 0.0
            j0 = starts_x[k]
            for j in range(bx):
                acc += luma[i, j0 + j] * band_x[k, j]
            rows[i, k] = acc
    out = np.empty((64, 64), np.float32)
    for r in range(64):
        i0 = starts_y[r]
        for k in range(64):
            acc = 0.0
            for i in range(by):
                acc += band_y[r, i] * rows[i0 + i, k]
            out[r, k] = acc
    return out


_pdqfast.use_kernels(_pdqfast.Kernels(luma_like_pdqhash, luma_like_cpp, _apply))
