"""Bars around a video's picture, found across its frames, so that a letterboxed, pillarboxed or
window-boxed copy can be hashed trimmed to its picture.

A copy made to fit another aspect ratio gets bars: rows (letterbox) or columns (pillarbox), or
both (window box), of one flat colour, the same in every frame. vPDQ hashes the whole frame, bars
and all, so such a copy matches nothing; trimmed to its picture, its frames hash as the listed
video's do. A single frame cannot tell a bar from a dark band of the scene (a night sky, a black
wall), but a bar holds, unchanged, across frames whose picture changes: that is what
:func:`bars_box` asks for. Each line (row or column) counts as bar when, in nearly every sampled
frame, it is flat (nearly all its pixels one level), and its level stays the same from frame to
frame; the bars are the runs of such lines of one level at the frame's edges, and a box is
believed only when the picture inside it changes between the frames.

The work is on each hashed frame's luma reduced by block means (:func:`reduce_luma`; fast mode's
decodes are such means already), kept as bytes: a 640x360 frame costs 57.6 KB, so the frames
a decision is made from are kept in memory (``signals.vpdq`` decides from the first
:data:`DECIDE_FRAMES` hashed frames, then trims the rest as they come).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .views import Box

__all__ = ["DECIDE_FRAMES", "bars_box", "reduce_luma"]

DECIDE_FRAMES = 120  # the box is decided from the first this many hashed frames (2 minutes at 1 a second)
_FLAT = 4.0  # levels a bar's pixel may differ from its line's level (block means: encoding noise is smoothed)
_OUTLIERS = 0.02  # share of a flat line's pixels that may differ more (a stray pixel, ringing)
_EDGE_LINES = 2  # lines beside a bar's inner edge that may be bar at a looser tolerance ...
_EDGE_OUTLIERS = 0.1  # ... with this share of their pixels further off
_STEADY = 3.0  # levels a bar line's level may change between frames
_HOLDS = 0.9  # share of the frames in which a bar line must be flat and at its level
_SAME_BAR = 6.0  # levels the lines of one bar may differ from its outermost line
_MIN_BAR = 0.02  # a bar thinner than this share of the side is not trimmed (an edge line, a codec's pad)
_MIN_SIDE = 0.3  # a picture under this share of the frame's width or height is not believed
_CHANGES = 6.0  # mean levels two frames' pictures must differ by, for the frames to count as different
_MIN_DIFFERENT = 2  # frames with pictures unlike each other's that a box needs (a still shows no bar)


def reduce_luma(luma: np.ndarray, scale: int) -> np.ndarray:
    """Block means of ``scale`` x ``scale`` pixels (the last row and column of blocks partial, as a
    reduced decode's are), rounded to bytes: what :func:`bars_box` and trimmed hashing work on."""
    if scale <= 1:
        return np.asarray(np.clip(luma + 0.5, 0, 255), np.uint8)
    h, w = luma.shape
    bh, bw = -(-h // scale), -(-w // scale)
    sums = np.add.reduceat(np.add.reduceat(np.asarray(luma, np.float64), np.arange(0, h, scale), axis=0),
                           np.arange(0, w, scale), axis=1)
    rows = np.minimum(np.arange(1, bh + 1) * scale, h) - np.arange(bh) * scale
    cols = np.minimum(np.arange(1, bw + 1) * scale, w) - np.arange(bw) * scale
    return np.asarray(np.clip(sums / (rows[:, None] * cols[None, :]) + 0.5, 0, 255), np.uint8)


def _bar_lines(stack: np.ndarray, tolerance: float = _FLAT, outliers: float = _OUTLIERS,
               ) -> tuple[np.ndarray, np.ndarray]:
    """For frames x lines x pixels: whether each line is bar-like (flat and steady in nearly every
    frame), and its level (the median over frames of its per-frame median)."""
    frames = stack.astype(np.int16)
    level = np.median(frames, axis=2)  # frames x lines
    off = np.abs(frames - level[..., None]) > tolerance
    flat = off.mean(axis=2) <= outliers
    typical = np.median(level, axis=0)
    steady = np.abs(level - typical[None, :]) <= _STEADY
    holds = (flat & steady).mean(axis=0) >= _HOLDS
    return holds, typical


def _peel(stack: np.ndarray) -> int:
    """How many leading lines (axis 1 of frames x lines x pixels) are one bar: flat lines of the
    outermost one's level, then up to :data:`_EDGE_LINES` more at twice the tolerance (the codec
    rings beside the picture's edge, and a reduced line may be part bar, part picture)."""
    holds, level = _bar_lines(stack)
    if not len(holds) or not holds[0]:
        return 0
    same = holds & (np.abs(level - level[0]) <= _SAME_BAR)
    n = int(np.argmin(same)) if not same.all() else len(same)
    edge = stack[:, n:n + _EDGE_LINES]
    if edge.shape[1]:
        loose, edge_level = _bar_lines(edge, 2 * _FLAT, _EDGE_OUTLIERS)
        near = loose & (np.abs(edge_level - level[0]) <= _SAME_BAR)
        n += int(np.argmin(near)) if not near.all() else len(near)
    return n


def _different_frames(pictures: np.ndarray) -> int:
    """How many of the frames differ from every earlier one kept (greedy, by mean level difference)."""
    kept: list[np.ndarray] = []
    for frame in pictures.astype(np.float32):
        if all(float(np.abs(frame - other).mean()) >= _CHANGES for other in kept):
            kept.append(frame)
            if len(kept) >= _MIN_DIFFERENT:
                break
    return len(kept)


def bars_box(lumas: Sequence[np.ndarray]) -> Box | None:
    """The picture inside bars that every one of ``lumas`` (reduced frames of one video, each
    :func:`reduce_luma`'s output, all of one size) shares, in their pixels; None without bars.

    Rows are peeled from the top and the bottom, then columns (of the rows left) from the left and
    the right, and once more each way (a window box). A side's bar is kept when it is at least 2%
    of the side; the picture left must be 30% of the width and of the height, and must change
    between at least two of the frames: a still, or a dark scene that holds still, shows no bar.
    """
    if not lumas:
        return None
    stack = np.stack([np.asarray(f, np.uint8) for f in lumas])
    _, h, w = stack.shape
    if min(h, w) < 8:
        return None
    top, bottom, left, right = 0, h, 0, w
    for _ in range(2):
        before = (top, bottom, left, right)
        region = stack[:, top:bottom, left:right]
        top += _peel(region)
        bottom -= _peel(stack[:, top:bottom, left:right][:, ::-1])
        left += _peel(stack[:, top:bottom, left:right].transpose(0, 2, 1))
        right -= _peel(stack[:, top:bottom, left:right].transpose(0, 2, 1)[:, ::-1])
        if bottom - top < _MIN_SIDE * h or right - left < _MIN_SIDE * w or (top, bottom, left, right) == before:
            break
    if bottom - top < _MIN_SIDE * h or right - left < _MIN_SIDE * w:
        return None
    # A bar thinner than 2% of its side is the frame's edge, not a bar: those sides are left as they are.
    top = top if top >= _MIN_BAR * h else 0
    bottom = bottom if h - bottom >= _MIN_BAR * h else h
    left = left if left >= _MIN_BAR * w else 0
    right = right if w - right >= _MIN_BAR * w else w
    if (top, bottom, left, right) == (0, h, 0, w):
        return None
    if _different_frames(stack[:, top:bottom, left:right]) < _MIN_DIFFERENT:
        return None
    return Box(top, bottom, left, right)
