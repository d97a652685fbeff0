"""The derived windows of a media-backed entry, packed into one binary value (``entries.windows``).

A photo listed from media keeps the PDQ of 100-250 windows of itself, and a video the windows of
its frames. As JSON items (``["pdq", "<64 hex>", 87, "window l12.5 t3.1 r40.0 b22.7"]``) a window
cost 115 B in SQLite and 77 B in PostgreSQL (bench/results/lists_storage.md); packed, 38 B: the
hash as 32 bytes, one byte for its quality and whether the window is mirrored, and five for the
four cuts (the percent cut from each side, in tenths, 10 bits each). A video's frame numbers come
as runs (frame, how many windows), since a frame's windows follow one another.

Layout, version 1 (little-endian)::

    u8 version | u32 n | n x 32 B hash | n x u8 (quality 0-100, 127 unknown; bit 7 mirrored)
    | n x 5 B cuts (left | top << 10 | right << 20 | bottom << 30) | u32 runs | runs x (i32 frame, u32 count)

A frame of -1 marks windows of the photo itself. The store knows the layout, not what a window
means: ``vigil.lists`` turns these arrays into signals and their labels and back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidValue, StoreUnusable

__all__ = ["CUT_MAX", "NO_FRAME", "QUALITY_UNKNOWN", "WindowArrays", "pack", "unpack"]

_VERSION = 1
CUT_MAX = (1 << 10) - 1  # tenths of a percent: 102.3% is more than any side can lose
NO_FRAME = -1
QUALITY_UNKNOWN = -1
_QUALITY_NONE_BYTE = 127
_MIRRORED = 0x80
_HEAD = np.dtype([("version", "u1"), ("n", "<u4")])
_RUN = np.dtype([("frame", "<i4"), ("count", "<u4")])


@dataclass(frozen=True)
class WindowArrays:
    """n windows as parallel arrays."""

    hashes: np.ndarray  # (n, 32) uint8: each PDQ hash's bytes
    quality: np.ndarray  # (n,) int16: 0-100, or QUALITY_UNKNOWN
    cuts: np.ndarray  # (n, 4) uint16: tenths of a percent cut from the left, top, right, bottom (<= CUT_MAX)
    mirrored: np.ndarray  # (n,) bool
    frame: np.ndarray  # (n,) int64: the video frame's number, or NO_FRAME for a window of a photo

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    @classmethod
    def empty(cls) -> WindowArrays:
        return cls(np.empty((0, 32), np.uint8), np.empty(0, np.int16), np.empty((0, 4), np.uint16),
                   np.empty(0, bool), np.empty(0, np.int64))


def pack(w: WindowArrays) -> bytes:
    """The windows as one value (see the module docstring); InvalidValue for values the layout cannot hold."""
    n = len(w)
    hashes = np.ascontiguousarray(w.hashes, dtype=np.uint8)
    quality = np.asarray(w.quality, dtype=np.int64)
    cuts = np.asarray(w.cuts, dtype=np.int64)
    frame = np.asarray(w.frame, dtype=np.int64)
    if hashes.shape != (n, 32) or quality.shape != (n,) or cuts.shape != (n, 4) or frame.shape != (n,) \
            or np.shape(w.mirrored) != (n,):
        raise InvalidValue("window arrays of different lengths")
    if n and (cuts.min() < 0 or cuts.max() > CUT_MAX):
        raise InvalidValue(f"a window's cut is outside 0-{CUT_MAX} tenths of a percent")
    known = quality != QUALITY_UNKNOWN
    if n and (quality[known].min(initial=0) < 0 or quality[known].max(initial=0) > 100):
        raise InvalidValue("a window's quality is outside 0-100")
    if n and (frame.min() < NO_FRAME or frame.max() >= 1 << 31):
        raise InvalidValue("a frame number is outside 0-2**31")
    qbyte = np.where(known, quality, _QUALITY_NONE_BYTE).astype(np.uint8)
    qbyte |= np.where(np.asarray(w.mirrored, dtype=bool), _MIRRORED, 0).astype(np.uint8)
    packed = (cuts[:, 0] | cuts[:, 1] << 10 | cuts[:, 2] << 20 | cuts[:, 3] << 30).astype("<u8")
    cut_bytes = packed.view(np.uint8).reshape(n, 8)[:, :5]
    starts = np.flatnonzero(np.diff(frame, prepend=frame[:1] - 1)) if n else np.empty(0, np.int64)
    runs = np.empty(len(starts), _RUN)
    runs["frame"] = frame[starts]
    runs["count"] = np.diff(np.append(starts, n))
    head = np.array([(_VERSION, n)], _HEAD)
    return b"".join((head.tobytes(), hashes.tobytes(), qbyte.tobytes(), np.ascontiguousarray(cut_bytes).tobytes(),
                     np.uint32(len(runs)).astype("<u4").tobytes(), runs.tobytes()))


def unpack(blob: bytes | memoryview) -> WindowArrays:
    """The arrays :func:`pack` packed; StoreUnusable for a value that is not such a layout."""
    data = memoryview(blob).cast("B")
    try:
        head = np.frombuffer(data, _HEAD, count=1)[0]
        if int(head["version"]) != _VERSION:
            raise StoreUnusable(f"derived windows stored in layout {int(head['version'])}, which this Vigil "
                                f"does not read (it reads {_VERSION}); upgrade Vigil")
        n = int(head["n"])
        at = _HEAD.itemsize
        hashes = np.frombuffer(data, np.uint8, count=32 * n, offset=at).reshape(n, 32)
        at += 32 * n
        qbyte = np.frombuffer(data, np.uint8, count=n, offset=at)
        at += n
        raw = np.zeros((n, 8), np.uint8)
        raw[:, :5] = np.frombuffer(data, np.uint8, count=5 * n, offset=at).reshape(n, 5)
        at += 5 * n
        nruns = int(np.frombuffer(data, "<u4", count=1, offset=at)[0])
        runs = np.frombuffer(data, _RUN, count=nruns, offset=at + 4)
        if at + 4 + nruns * _RUN.itemsize != len(data) or int(runs["count"].sum()) != n:
            raise ValueError("its parts do not add up")
    except (ValueError, IndexError) as exc:
        raise StoreUnusable(f"stored derived windows are damaged ({exc}); re-add the media") from exc
    packed = raw.view("<u8")[:, 0]
    cuts = np.stack([(packed >> np.uint64(s)) & np.uint64(CUT_MAX) for s in (0, 10, 20, 30)], axis=1)
    low = (qbyte & ~np.uint8(_MIRRORED)).astype(np.int16)
    quality = np.where(low == _QUALITY_NONE_BYTE, QUALITY_UNKNOWN, low).astype(np.int16)
    frame = np.repeat(runs["frame"].astype(np.int64), runs["count"].astype(np.int64))
    return WindowArrays(hashes, quality, cuts.astype(np.uint16), (qbyte & _MIRRORED) != 0, frame)
