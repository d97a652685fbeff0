"""Fast-mode PDQ: the 64x64 PDQ buffer from a photo decoded at 1/2, 1/4 or 1/8 size.

PDQ's downscale (two Jarosz box passes per axis, then sampling 64 centres) is
linear, so its 64x64 output is ``Ky @ L @ Kx.T`` for the full-size luma ``L`` and
two 64-row weight matrices fixed by the image size. A photo decoded at 1/s of its
size (JPEG DCT scaling, or a box reduction) gives the means of s x s blocks of
``L``; summing each weight row over the s columns of a block turns ``Kx`` into
weights on those means. The only error left is the variation inside each block,
which the wide PDQ filter barely sees: hashes stay within a few bits of exact
(BENCHMARKS.md), while decoding costs a fraction of a full decode.

Two engines, the same numbers to the bit (the same float operations in the same order; tested):
numpy, and the numba kernels of ``_pdqcore`` once that module is loaded in the process (it
registers them here with :func:`use_kernels`). Numba costs 0.4 s to start and then about
2 ms less per photo than numpy (a 12 MP JPEG decodes to 504x378 here): a few photos hashed
from the command line never load it; a run that hashes many (or needs the kernels anyway:
exact mode, query variants) loads it before its workers fork, and they use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InvalidValue

__all__ = ["Kernels", "buffer64_from_reduced", "centers", "luma_like_cpp", "luma_like_pdqhash", "reduction_for",
           "use_kernels", "window"]

_OUT = 64


def window(old: int, new: int) -> int:
    """PDQ's Jarosz box width for scaling ``old`` samples to ``new``."""
    return (old + 2 * new - 1) // (2 * new)


def centers(n: int) -> np.ndarray:
    """The 64 samples PDQ keeps of ``n`` (the centres of its 64 output cells)."""
    out = np.empty(64, np.int64)
    for k in range(64):
        out[k] = int(((k + 0.5) * n) / 64)
    return out


# Luma by table: each channel's products are the kernels' (``_pdqcore``) float64 or float32
# products of 0..255, summed in the same order, so the result is the same to the bit.
_LEVELS = np.arange(256)
_R64, _G64, _B64 = (_LEVELS * c for c in (0.299, 0.587, 0.114))
_R32, _G32, _B32 = (np.float32(c) * _LEVELS.astype(np.float32) for c in (0.299, 0.587, 0.114))


def _luma64_numpy(rgb: np.ndarray) -> np.ndarray:
    luma = np.take(_R64, rgb[..., 0])
    luma += np.take(_G64, rgb[..., 1])
    luma += np.take(_B64, rgb[..., 2])
    out: np.ndarray = luma.astype(np.float32)
    return out


def _luma32_numpy(rgb: np.ndarray) -> np.ndarray:
    luma: np.ndarray = np.take(_R32, rgb[..., 0])
    luma += np.take(_G32, rgb[..., 1])
    luma += np.take(_B32, rgb[..., 2])
    return luma


@dataclass(frozen=True)
class Kernels:
    """The numba versions of this module's per-photo work (``_pdqcore``)."""

    luma_like_pdqhash: Callable[[np.ndarray], np.ndarray]
    luma_like_cpp: Callable[[np.ndarray], np.ndarray]
    apply: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


_kernels: Kernels | None = None


def use_kernels(kernels: Kernels) -> None:
    """From now on in this process, the numba kernels do the per-photo work (``_pdqcore`` calls this
    when it loads: whoever loaded numba has paid its start-up already)."""
    global _kernels
    _kernels = kernels


def luma_like_pdqhash(rgb: np.ndarray) -> np.ndarray:
    """Luma exactly as ``pdqhash.compute`` makes it (float64 sum, then float32), of a reduced decode."""
    return _kernels.luma_like_pdqhash(rgb) if _kernels is not None else _luma64_numpy(rgb)


def luma_like_cpp(rgb: np.ndarray) -> np.ndarray:
    """Luma exactly as PDQ's C++ (and so vPDQ) makes it, in float32, of a reduced frame."""
    return _kernels.luma_like_cpp(rgb) if _kernels is not None else _luma32_numpy(rgb)


# Blocks must be well inside PDQ's box window, or the detail within them moves the
# hash: measured on photos of many sizes, a window 1.5 blocks wide or more keeps the
# 99th percentile within 4-6 bits of exact; at 1 block it grows to 6, at 0.5 to 14.
_MIN_WINDOW_IN_BLOCKS = 1.5


def reduction_for(width: int, height: int) -> int:
    """The coarsest decode scale (1, 2, 4 or 8) whose blocks fit well inside PDQ's
    filter window; 1 (a full decode) for photos too small to gain from it."""
    limit = min(min(window(width, _OUT), window(height, _OUT)) / _MIN_WINDOW_IN_BLOCKS, 8)
    s = 1
    while s * 2 <= limit:
        s *= 2
    return s


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``first[t], first[t] + 1, …`` (``count[t]`` values) for every t, one run after another."""
    return np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))


def _banded_weights(n: int, scale: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    w = window(n, _OUT)
    half = (w + 2) // 2
    left, right = w - half, half - 1  # the box at i spans [i - left, i + right], clipped
    c = centers(n)
    lo_c = np.maximum(c - left, 0)
    hi_c = np.minimum(c + right, n - 1)
    # Row c of box∘box reaches from the box of its first sample to that of its last.
    starts = np.maximum(lo_c - left, 0) // scale
    ends = np.minimum(hi_c + right, n - 1) // scale + 1
    width = int((ends - starts).max())
    starts = np.minimum(starts, m - width)
    # Every (k, i, j) in the order of the loops "for k: for i in the box of centre k: for j in the
    # box of i", each adding the mean weight 1 / (|box of c| * |box of i|) to its block: bincount
    # adds its weights in input order from 0.0, so each sum is made in the loops' order, to the
    # same float64 bits.
    span_c = hi_c - lo_c + 1
    k = np.repeat(np.arange(_OUT), span_c)
    i = _ranges(lo_c, span_c)
    lo_i = np.maximum(i - left, 0)
    span_i = np.minimum(i + right, n - 1) - lo_i + 1
    weight = 1.0 / (span_c[k] * span_i)
    k = np.repeat(k, span_i)
    j = _ranges(lo_i, span_i)
    cell = k * width + (j // scale - starts[k])
    band = np.bincount(cell, np.repeat(weight, span_i), minlength=_OUT * width).reshape(_OUT, width)
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


def _apply_numpy(starts_y: np.ndarray, band_y: np.ndarray, luma: np.ndarray,
                 starts_x: np.ndarray, band_x: np.ndarray) -> np.ndarray:
    """``Ay @ luma @ Ax.T`` with banded ``Ay`` and ``Ax``: each output a float64 sum of
    products taken left to right from 0.0 (a matrix product would sum in another order)."""
    rows = np.zeros((luma.shape[0], _OUT))
    for j in range(band_x.shape[1]):
        rows += luma[:, starts_x + j] * band_x[:, j]
    out = np.zeros((_OUT, _OUT))
    for i in range(band_y.shape[1]):
        out += band_y[:, i, None] * rows[starts_y + i, :]
    return out.astype(np.float32)


def buffer64_from_reduced(luma: np.ndarray, full_width: int, full_height: int, scale: int) -> np.ndarray:
    """PDQ's 64x64 buffer for a ``full_width`` x ``full_height`` photo from its luma at 1/``scale``."""
    h, w = luma.shape
    if -(-full_width // scale) != w or -(-full_height // scale) != h:
        raise InvalidValue(f"{w}x{h} is not {full_width}x{full_height} reduced by {scale}")
    sy, by = _weights(full_height, scale, h)
    sx, bx = _weights(full_width, scale, w)
    apply = _kernels.apply if _kernels is not None else _apply_numpy
    return apply(sy, by, np.ascontiguousarray(luma, np.float32), sx, bx)
