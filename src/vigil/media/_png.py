"""A fast path for the common PNG: 8-bit RGB or RGBA, not interlaced, every checksum right.

Screenshots and 4K wallpapers are large PNGs, and decoding one is mostly inflating its zlib
stream: libspng (and Pillow) inflate with zlib, about 90 ms of libspng's 100 for a 4K wallpaper
with grain. libdeflate (the ``deflate`` wheel) inflates the same stream in about half that, into a
buffer of the size the header promises. Undoing PNG's per-row filters, and fast mode's reduction
(``Image.reduce``'s box means, rounded as Pillow rounds them), is one numba pass over the rows:
10-20 ms where libspng and ``Image.reduce`` took 10 and 12. The pixels are those of any PNG decoder
(the format is lossless): the tests check them, reduced or not, against Pillow's.

Anything else (other bit depths and colour types, interlacing, a chunk or stream checksum that is
wrong, data that does not fill the image exactly, a missing wheel) returns None, and libspng or
Pillow decodes as before, damage and all.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

__all__ = ["decode_png_rgb"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at 8 bits: RGB, RGBA


def _chunks(data: bytes, crc32: Callable[[Any, int], int]) -> tuple[bytes, list[memoryview]] | None:
    """The IHDR payload and the IDAT payloads, every chunk's CRC checked; None if anything is off."""
    view = memoryview(data)
    pos, end = len(_SIGNATURE), len(data)
    header: bytes | None = None
    idat: list[memoryview] = []
    while pos + 12 <= end:
        length, kind = struct.unpack_from(">I4s", data, pos)
        stop = pos + 12 + length
        if stop > end or crc32(view[pos + 4 : pos + 8 + length], 0) != struct.unpack_from(">I", data, stop - 4)[0]:
            return None
        if kind == b"IHDR":
            if header is not None or length != 13:
                return None
            header = bytes(view[pos + 8 : pos + 21])
        elif kind == b"IDAT":
            idat.append(view[pos + 8 : pos + 8 + length])
        elif kind == b"IEND":
            return (header, idat) if header is not None and idat else None
        pos = stop
    return None


@numba.njit(cache=True, nogil=True)
def _multiplier(pixels: int) -> int:  # pragma: no cover - jitted
    """Pillow's ``division_UINT32(pixels, 8)``: 2^32 / (256 * pixels) in float32, truncated."""
    return int(np.float32(4294967296.0) / np.float32(256 * pixels))


# The kernels take the row being made and the row above as separate arguments, and index slices
# from 0 (numba cannot then need a check for negative indices): the compiler vectorises what has no
# dependency within a row (Up: 15x faster than with offset indices).
@numba.njit(cache=True, nogil=True)
def _sub(r: np.ndarray, cur: np.ndarray, bpp: int) -> None:  # pragma: no cover - jitted
    n = r.shape[0]
    if bpp == 3:  # the running pixel kept in registers
        out = cur[3:]
        a0, a1, a2 = np.uint8(0), np.uint8(0), np.uint8(0)
        for k in range(0, n, 3):
            a0, a1, a2 = r[k] + a0, r[k + 1] + a1, r[k + 2] + a2
            out[k], out[k + 1], out[k + 2] = a0, a1, a2
    else:
        out, left = cur[bpp:], cur[:n]
        for i in range(n):
            out[i] = r[i] + left[i]


@numba.njit(cache=True, nogil=True)
def _up(r: np.ndarray, cur: np.ndarray, prev: np.ndarray, bpp: int) -> None:  # pragma: no cover - jitted
    out, up = cur[bpp:], prev[bpp:]
    for i in range(r.shape[0]):
        out[i] = r[i] + up[i]


@numba.njit(cache=True, nogil=True)
def _average(r: np.ndarray, cur: np.ndarray, prev: np.ndarray, bpp: int) -> None:  # pragma: no cover - jitted
    n = r.shape[0]
    out, left, up = cur[bpp:], cur[:n], prev[bpp:]
    for i in range(n):
        out[i] = r[i] + np.uint8((np.uint16(left[i]) + np.uint16(up[i])) >> 1)


@numba.njit(cache=True, nogil=True)
def _paeth(r: np.ndarray, cur: np.ndarray, prev: np.ndarray, bpp: int) -> None:  # pragma: no cover - jitted
    n = r.shape[0]
    out, left, up, upleft = cur[bpp:], cur[:n], prev[bpp:], prev[:n]
    for i in range(n):
        a, b, c = np.int16(left[i]), np.int16(up[i]), np.int16(upleft[i])
        pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)  # |p - a|, |p - b|, |p - c| for p = a + b - c
        pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
        out[i] = r[i] + np.uint8(pred)


@numba.njit(cache=True, nogil=True)
def _row(kind: int, r: np.ndarray, cur: np.ndarray, prev: np.ndarray, bpp: int) -> bool:  # pragma: no cover
    """One row's filter undone into ``cur``: it and ``prev`` (the row above) start with bpp zero
    bytes (the pixel left of the first). uint8 arithmetic wraps as PNG's modulo 256 does."""
    if kind == 0:
        cur[bpp:] = r
    elif kind == 1:
        _sub(r, cur, bpp)
    elif kind == 2:
        _up(r, cur, prev, bpp)
    elif kind == 3:
        _average(r, cur, prev, bpp)
    elif kind == 4:
        _paeth(r, cur, prev, bpp)
    else:
        return False
    return True


@numba.njit(cache=True, nogil=True)
def _emit(cur: np.ndarray, y: int, width: int, bpp: int, reduce: int, sums: np.ndarray, rows: int,
          last: bool, out: np.ndarray) -> int:  # pragma: no cover - jitted
    """Write a finished row's R, G, B to ``out``, or add it to the block being reduced (and write
    the block's pixels once it is complete); the rows now in the block."""
    if reduce == 1:
        if bpp == 3:
            out[y].reshape(-1)[:] = cur[3:]
        else:
            for x in range(width):
                for ch in range(3):
                    out[y, x, ch] = cur[bpp + x * bpp + ch]
        return 0
    row = cur[bpp:]
    for i in range(sums.shape[0]):
        sums[i] += row[i]
    rows += 1
    if rows < reduce and not last:
        return rows
    oy = y // reduce
    for ox in range(out.shape[1]):
        x0 = ox * reduce
        cols = min(reduce, width - x0)
        n = rows * cols
        mult = np.uint64(_multiplier(n))
        amend = np.uint64(n // 2)
        for ch in range(3):
            total = np.uint64(0)
            for x in range(x0, x0 + cols):
                total += sums[x * bpp + ch]
            out[oy, ox, ch] = ((total + amend) * mult) >> 24
    sums[:] = 0
    return 0


@numba.njit(cache=True, nogil=True)
def _unfilter(raw: np.ndarray, height: int, width: int, bpp: int, reduce: int,
              out: np.ndarray) -> bool:  # pragma: no cover - jitted
    """Undo each row's filter (None, Sub, Up, Average, Paeth) of ``raw`` (height rows of a filter
    byte and width * bpp bytes) and write R, G, B to ``out``, each output pixel the mean of a
    ``reduce`` x ``reduce`` block rounded as Pillow's ``Image.reduce`` rounds it (blocks at the right
    and bottom edges may be smaller); False on an unknown filter type.

    Two rows of scratch (this one and the one above) keep the work in cache, and ``raw`` is only
    read. A block's rows are summed whole (vectorised), its columns once per ``reduce`` rows.
    """
    stride = width * bpp
    even = np.zeros(stride + bpp, np.uint8)
    odd = np.zeros(stride + bpp, np.uint8)  # zeros: the row above the first
    sums = np.zeros(stride, np.uint32)
    rows = 0
    for y in range(height):
        src = y * (1 + stride)
        r = raw[src + 1 : src + 1 + stride]
        cur, prev = (even, odd) if y % 2 == 0 else (odd, even)
        if not _row(raw[src], r, cur, prev, bpp):
            return False
        rows = _emit(cur, y, width, bpp, reduce, sums, rows, y == height - 1, out)
    return True


def decode_png_rgb(data: bytes, reduce: int = 1) -> np.ndarray | None:
    """The RGB pixels (height x width x 3 uint8) of an 8-bit RGB(A) non-interlaced PNG, or None
    when the fast path does not apply (the caller decodes the usual way). ``reduce`` > 1 gives
    what Pillow's ``Image.reduce(reduce)`` gives of them, without the full-size image in between."""
    if not data.startswith(_SIGNATURE):
        return None
    try:
        import deflate  # libdeflate: a declared dependency; without it the usual decoders do the work
    except ImportError:  # pragma: no cover
        return None
    found = _chunks(data, deflate.crc32)  # libdeflate's CRC: 5x zlib's
    if found is None:
        return None
    header, idat = found
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    bpp = _CHANNELS.get(colour)
    if depth != 8 or bpp is None or compression or filtering or interlace or not width or not height:
        return None
    size = height * (1 + width * bpp)
    try:
        raw = deflate.zlib_decompress(b"".join(idat), size)
    except (deflate.DeflateError, ValueError, MemoryError, OverflowError):
        return None
    if len(raw) != size:
        return None
    out = np.empty((-(-height // reduce), -(-width // reduce), 3), np.uint8)
    return out if _unfilter(np.frombuffer(raw, np.uint8), height, width, bpp, reduce, out) else None
