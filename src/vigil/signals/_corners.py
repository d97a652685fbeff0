"""Corner strength and its local maxima, for the anchors windows are spanned by (``variants``).

One numba pass per step over the reduced luma, in the same float32 operations, in the same order, as
the numpy expressions they replace (``numpy_corner_strength``, kept as the reference the tests compare
with): a smoothing with mirrored borders, central differences, the structure tensor smoothed by a box
and its smaller eigenvalue. Bit for bit the same strengths, so the same corners, windows and hashes,
at a fraction of numpy's cost: each numpy step made a full-size temporary (six reductions of every
photo checked, seven taps a pass).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["GAUSS", "corner_strength", "local_maxima", "numpy_corner_strength"]

_gauss = np.exp(-0.5 * np.arange(-3, 4) ** 2).astype(np.float32)
GAUSS = _gauss / _gauss.sum()  # JPEG blocking and grain make no corners
_BOX = np.full(5, 1 / 5, np.float32)


@numba.njit(cache=True, nogil=True)
def _reflect(i: int, n: int) -> int:  # pragma: no cover - jitted
    """numpy's "reflect" padding: the index ``i`` (which may lie a few outside 0..n-1) mirrored about the edge."""
    if i < 0:
        return -i
    if i >= n:
        return 2 * (n - 1) - i
    return i


@numba.njit(cache=True, nogil=True)
def _smooth(image: np.ndarray, taps: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """The separable filter ``taps`` with mirrored borders: rows, then columns, each sum in float32
    from the first tap to the last."""
    h, w = image.shape
    n = len(taps)
    r = n // 2
    line = np.empty(w + 2 * r, np.float32)
    rows = np.empty((h + 2 * r, w), np.float32)
    for i in range(h + 2 * r):
        src = image[_reflect(i - r, h)]
        for j in range(w + 2 * r):
            line[j] = src[_reflect(j - r, w)]
        out_row = rows[i]
        out_row[:] = 0.0
        for k in range(n):
            t = taps[k]
            for j in range(w):
                out_row[j] += t * line[j + k]
    out = np.zeros((h, w), np.float32)
    for i in range(h):
        out_row = out[i]
        for k in range(n):
            t = taps[k]
            src = rows[i + k]
            for j in range(w):
                out_row[j] += t * src[j]
    return out


@numba.njit(cache=True, nogil=True)
def _strength(luma: np.ndarray, gauss: np.ndarray, box: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    image = _smooth(luma, gauss)
    h, w = image.shape
    half = np.float32(0.5)
    xx = np.empty((h, w), np.float32)
    xy = np.empty((h, w), np.float32)
    yy = np.empty((h, w), np.float32)
    for i in range(h):
        up, down = image[_reflect(i - 1, h)], image[_reflect(i + 1, h)]
        row = image[i]
        for j in range(w):
            left = row[j - 1] if j > 0 else row[1]
            right = row[j + 1] if j < w - 1 else row[w - 2]
            gx = (right - left) * half
            gy = (down[j] - up[j]) * half
            xx[i, j] = gx * gx
            xy[i, j] = gx * gy
            yy[i, j] = gy * gy
    a, b, c = _smooth(xx, box), _smooth(xy, box), _smooth(yy, box)
    two = np.float32(2.0)
    out = np.empty((h, w), np.float32)
    for i in range(h):
        for j in range(w):
            d = (a[i, j] - c[i, j]) / two
            out[i, j] = (a[i, j] + c[i, j]) / two - np.sqrt(d * d + b[i, j] * b[i, j])
    return out


def corner_strength(luma: np.ndarray) -> np.ndarray:
    """Shi-Tomasi corner strength of a float32 image (at least 3 pixels a side): the smaller eigenvalue
    of the local gradient structure tensor, on the image smoothed by :data:`GAUSS`."""
    return _strength(np.ascontiguousarray(luma, np.float32), GAUSS, _BOX)


@numba.njit(cache=True, nogil=True)
def _maxima(strength: np.ndarray, floor: np.float32, margin: int) -> np.ndarray:  # pragma: no cover - jitted
    h, w = strength.shape
    out = np.zeros((h, w), np.bool_)
    for i in range(margin, h - margin):
        for j in range(margin, w - margin):
            v = strength[i, j]
            if not v > floor:
                continue
            best = v
            for di in range(-1, 2):
                row = strength[min(max(i + di, 0), h - 1)]
                for dj in range(-1, 2):
                    best = max(best, row[min(max(j + dj, 0), w - 1)])
            out[i, j] = v >= best
    return out


def local_maxima(strength: np.ndarray, floor: float, margin: int) -> np.ndarray:
    """Where ``strength`` is at least each of its eight neighbours (the edge repeated) and above
    ``floor``, at least ``margin`` pixels from every edge (a bool mask)."""
    return _maxima(np.ascontiguousarray(strength, np.float32), np.float32(floor), margin)


def numpy_corner_strength(luma: np.ndarray) -> np.ndarray:
    """:func:`corner_strength` in numpy: the reference the kernel is tested against."""

    def smooth(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
        r = len(taps) // 2
        padded = np.pad(image, r, mode="reflect")
        h, w = image.shape
        rows = sum(t * padded[:, k : k + w] for k, t in enumerate(taps))
        return np.asarray(sum(t * rows[k : k + h, :] for k, t in enumerate(taps)), np.float32)

    image = smooth(np.asarray(luma, np.float32), GAUSS)
    padded = np.pad(image, 1, mode="reflect")
    gx = (padded[1:-1, 2:] - padded[1:-1, :-2]) * 0.5
    gy = (padded[2:, 1:-1] - padded[:-2, 1:-1]) * 0.5
    a, b, c = smooth(gx * gx, _BOX), smooth(gx * gy, _BOX), smooth(gy * gy, _BOX)
    return np.asarray((a + c) / 2 - np.sqrt(((a - c) / 2) ** 2 + b * b), np.float32)
