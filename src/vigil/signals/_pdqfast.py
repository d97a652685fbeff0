"""Fast-mode PDQ: the 64x64 PDQ buffer from a photo decoded at 1/2, 1/4 or 1/8 size.

PDQ's downscale (two Jarosz box passes per axis, then sampling 64 centres) is
linear, so its 64x64 output is ``Ky @ L @ Kx.T`` for the full-size luma ``L`` and
two 64-row weight matrices fixed by the image size. A photo decoded at 1/s of its
size (JPEG DCT scaling, or a box reduction) gives the means of s x s blocks of
``L``; summing each weight row over the s columns of a block turns ``Kx`` into
weights on those means. The only error left is the variation inside each block,
which the wide PDQ filter barely sees: hashes stay within a few bits of exact
(BENCHMARKS.md), while decoding costs a fraction of a full decode.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

from ..errors import InvalidValue
from ._pdqcore import _centers, _window

__all__ = ["reduction_for", "buffer64_from_reduced"]

_OUT = 64


# Blocks must be well inside PDQ's box window, or the detail within them moves the
# hash: measured on photos of many sizes, a window 1.5 blocks wide or more keeps the
# 99th percentile within 4-6 bits of exact; at 1 block it grows to 6, at 0.5 to 14.
_MIN_WINDOW_IN_BLOCKS = 1.5


def reduction_for(width: int, height: int) -> int:
    """The coarsest decode scale (1, 2, 4 or 8) whose blocks fit well inside PDQ's
    filter window; 1 (a full decode) for photos too small to gain from it."""
    limit = min(min(_window(width, _OUT), _window(height, _OUT)) / _MIN_WINDOW_IN_BLOCKS, 8)
    s = 1
    while s * 2 <= limit:
        s *= 2
    return s


@numba.njit(cache=True, nogil=True)
def _banded_weights(n: int, scale: int, m: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - jitted
    w = _window(n, _OUT)
    half = (w + 2) // 2
    left, right = w - half, half - 1  # the box at i spans [i - left, i + right], clipped
    starts = np.empty(_OUT, np.int64)
    ends = np.empty(_OUT, np.int64)
    centres = _centers(n)
    for k in range(_OUT):
        c = centres[k]
        # Row c of box∘box reaches from the box of its first sample to that of its last.
        starts[k] = max(max(c - left, 0) - left, 0) // scale
        ends[k] = min(min(c + right, n - 1) + right, n - 1) // scale + 1
    width = 0
    for k in range(_OUT):
        width = max(width, ends[k] - starts[k])
    band = np.zeros((_OUT, width))
    for k in range(_OUT):
        starts[k] = min(starts[k], m - width)
        c = centres[k]
        lo_c = max(c - left, 0)
        hi_c = min(c + right, n - 1)
        for i in range(lo_c, hi_c + 1):  # mean over the box of c of box rows B[i, :]
            lo_i = max(i - left, 0)
            hi_i = min(i + right, n - 1)
            weight = 1.0 / ((hi_c - lo_c + 1) * (hi_i - lo_i + 1))
            for j in range(lo_i, hi_i + 1):
                band[k, j // scale - starts[k]] += weight
    return starts, band


@lru_cache(maxsize=256)
def _weights(n: int, scale: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """64 x m weights: PDQ's two box passes and centre sampling over ``n`` samples,
    applied to ``m`` block means of ``scale`` samples each (the last may be partial).
    Returned banded: each row's first column, and the rows' non-zero bands."""
    starts, band = _banded_weights(n, scale, m)
    starts.setflags(write=False)
    band.setflags(write=False)
    return starts, band


@numba.njit(cache=True, nogil=True)
def _apply(starts_y: np.ndarray, band_y: np.ndarray, luma: np.ndarray,
           starts_x: np.ndarray, band_x: np.ndarray) -> np.ndarray:  # pragma: no cover - jitted
    """``Ay @ luma @ Ax.T`` with banded ``Ay`` and ``Ax``."""
    h = luma.shape[0]
    bx = band_x.shape[1]
    by = band_y.shape[1]
    rows = np.empty((h, _OUT))
    for i in range(h):
        for k in range(_OUT):
            acc = 0.0
            j0 = starts_x[k]
            for j in range(bx):
                acc += luma[i, j0 + j] * band_x[k, j]
            rows[i, k] = acc
    out = np.empty((_OUT, _OUT), np.float32)
    for r in range(_OUT):
        i0 = starts_y[r]
        for k in range(_OUT):
            acc = 0.0
            for i in range(by):
                acc += band_y[r, i] * rows[i0 + i, k]
            out[r, k] = acc
    return out


def buffer64_from_reduced(luma: np.ndarray, full_width: int, full_height: int, scale: int) -> np.ndarray:
    """PDQ's 64x64 buffer for a ``full_width`` x ``full_height`` photo from its luma at 1/``scale``."""
    h, w = luma.shape
    if -(-full_width // scale) != w or -(-full_height // scale) != h:
        raise InvalidValue(f"{w}x{h} is not {full_width}x{full_height} reduced by {scale}")
    sy, by = _weights(full_height, scale, h)
    sx, bx = _weights(full_width, scale, w)
    return _apply(sy, by, np.ascontiguousarray(luma, np.float32), sx, bx)
