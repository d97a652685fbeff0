"""Derived windows between signals and the store's packed form (``vigil.store.windows``).

A media-backed entry's windows are signals like any other in a :class:`Record` (type ``pdq``,
the hash, its quality, a label such as "window l12.5 t3.1 r40.0 b22.7" or "frame 30 window ...").
In the store they are packed: the label is kept as the typed value it names (four cuts, mirrored
or not, the frame) and rendered again when read. A derived signal is packed only when that gives
back exactly what it was (the label renders to the same text, the hash is lower-case hex, the
quality 0-100 or unknown); any other stays a JSON item, so nothing a list holds is ever changed.

The windows come back after the entry's other signals, in their own order: the order add-media
gives them (the media's own hashes first), whatever order a record gave.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..signals import PDQ
from ..signals.views import Window, frame_window_label, parse_frame_window
from ..store.windows import CUT_MAX, NO_FRAME, QUALITY_UNKNOWN, WindowArrays, pack, unpack
from .model import Signal

__all__ = ["cuts_of", "split_windows", "window_of", "window_signals"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def cuts_of(window: Window) -> tuple[int, int, int, int] | None:
    """A window's cuts in tenths of a percent, when the packed form holds them exactly."""
    cuts = tuple(round(v * 10) for v in (window.left, window.top, window.right, window.bottom))
    if not all(0 <= c <= CUT_MAX for c in cuts):
        return None
    return cuts  # type: ignore[return-value]


def window_of(cuts: Sequence[int], mirrored: bool) -> Window:
    """The window of packed cuts (tenths of a percent): the same floats a label parses to."""
    return Window(cuts[0] / 10, cuts[1] / 10, cuts[2] / 10, cuts[3] / 10, bool(mirrored))


def _packable(s: Signal) -> tuple[int, tuple[int, int, int, int], bool] | None:
    """(frame or NO_FRAME, cuts, mirrored) of a derived window signal that packs exactly, else None."""
    label = s.derived
    if label is None or s.type != PDQ.name or not _HEX64.fullmatch(s.value):
        return None
    if s.quality is not None and not (isinstance(s.quality, int) and 0 <= s.quality <= 100):
        return None
    frame = NO_FRAME
    if label.startswith("frame "):
        found = parse_frame_window(label)
        if found is None or found[0] >= 1 << 31:
            return None
        frame, window = found
    else:
        parsed = Window.parse(label)
        if parsed is None:
            return None
        window = parsed
    cuts = cuts_of(window)
    if cuts is None:
        return None
    again = window_of(cuts, window.mirrored)
    if (again.label if frame == NO_FRAME else frame_window_label(frame, again)) != label:
        return None
    return frame, cuts, window.mirrored


def split_windows(signals: Sequence[Signal]) -> tuple[list[Signal], bytes | None]:
    """(the signals kept as JSON items, the derived windows packed, or None when there are none)."""
    if not any(s.derived is not None for s in signals):
        return list(signals), None
    kept: list[Signal] = []
    hashes: list[str] = []
    quality: list[int] = []
    cuts: list[tuple[int, int, int, int]] = []
    mirrored: list[bool] = []
    frames: list[int] = []
    for s in signals:
        packable = _packable(s)
        if packable is None:
            kept.append(s)
            continue
        hashes.append(s.value)
        quality.append(QUALITY_UNKNOWN if s.quality is None else s.quality)
        frames.append(packable[0])
        cuts.append(packable[1])
        mirrored.append(packable[2])
    if not hashes:
        return kept, None
    n = len(hashes)
    arrays = WindowArrays(np.frombuffer(bytes.fromhex("".join(hashes)), np.uint8).reshape(n, 32),
                          np.asarray(quality, np.int16), np.asarray(cuts, np.uint16).reshape(n, 4),
                          np.asarray(mirrored, bool), np.asarray(frames, np.int64))
    return kept, pack(arrays)


def window_signals(blob: bytes | memoryview | None) -> list[Signal]:
    """The derived window signals a packed value holds, labels rendered as they were given."""
    if blob is None:
        return []
    w = unpack(blob)
    out: list[Signal] = []
    hexes = w.hashes.tobytes().hex()
    for k, (cuts, mirrored, quality, frame) in enumerate(zip(w.cuts.tolist(), w.mirrored.tolist(),
                                                             w.quality.tolist(), w.frame.tolist(), strict=True)):
        window = window_of(cuts, mirrored)
        label = window.label if frame == NO_FRAME else frame_window_label(frame, window)
        out.append(Signal(PDQ.name, hexes[64 * k:64 * k + 64], None if quality == QUALITY_UNKNOWN else quality,
                          label))
    return out
