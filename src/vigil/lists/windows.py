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
from ..signals.views import Window, frame_window_label
from ..store.windows import CUT_MAX, NO_FRAME, QUALITY_UNKNOWN, WindowArrays, pack, unpack
from .model import Signal

__all__ = ["parse_labels", "split_windows", "window_of", "window_signals"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def window_of(cuts: Sequence[int], mirrored: bool) -> Window:
    """The window of packed cuts (tenths of a percent): the same floats a label parses to."""
    return Window(cuts[0] / 10, cuts[1] / 10, cuts[2] / 10, cuts[3] / 10, bool(mirrored))


# The labels :class:`Window` and :func:`frame_window_label` render, and only those: no leading zeros,
# one decimal (what ``f"{x:.1f}"`` gives for 0 <= x). A label that matches gives back the same text from
# its cuts; any other (say "l12.50") is kept as it is. tests/test_lists_windows.py holds the two together.
_CANONICAL = re.compile(r"(?:frame (0|[1-9]\d{0,9}) )?window l(0|[1-9]\d{0,2})\.(\d) t(0|[1-9]\d{0,2})\.(\d) "
                        r"r(0|[1-9]\d{0,2})\.(\d) b(0|[1-9]\d{0,2})\.(\d)( mirrored)?")


_LINES = re.compile(f"^{_CANONICAL.pattern}$", re.MULTILINE)


def parse_labels(labels: Sequence[str]) -> list[tuple[int, tuple[int, int, int, int], bool] | None]:
    """(frame or NO_FRAME, cuts, mirrored) of each window label the packed layout gives back exactly,
    else None (one regular-expression pass over all of them: an entry has a few hundred)."""
    text = "\n".join(labels)
    found: list[tuple[str, ...] | None] = []
    if labels and text.count("\n") == len(labels) - 1:
        found = list(_LINES.findall(text))
    if len(found) != len(labels):  # some label is not one Vigil renders (or holds a line break): one at a time
        found = [None if m is None else m.groups(default="") for m in map(_CANONICAL.fullmatch, labels)]
    out: list[tuple[int, tuple[int, int, int, int], bool] | None] = []
    for g in found:
        if g is None:
            out.append(None)
            continue
        cuts = (int(g[1] + g[2]), int(g[3] + g[4]), int(g[5] + g[6]), int(g[7] + g[8]))
        frame = int(g[0]) if g[0] else NO_FRAME
        out.append((frame, cuts, g[9] != "") if max(cuts) <= CUT_MAX and frame < 1 << 31 else None)
    return out


def _candidate(s: Signal) -> bool:
    """A derived PDQ hash the packed layout can hold, if its label is one of a window."""
    return (s.derived is not None and s.type == PDQ.name and _HEX64.fullmatch(s.value) is not None
            and (s.quality is None or (type(s.quality) is int and 0 <= s.quality <= 100)))


def split_windows(signals: Sequence[Signal]) -> tuple[list[Signal], bytes | None]:
    """(the signals kept as JSON items, the derived windows packed, or None when there are none)."""
    if not any(s.derived is not None for s in signals):
        return list(signals), None
    candidates = [s for s in signals if _candidate(s)]
    parsed = parse_labels([s.derived or "" for s in candidates])
    chosen = [(s, p) for s, p in zip(candidates, parsed, strict=True) if p is not None]
    if not chosen:
        return list(signals), None
    packed = {id(s) for s, _ in chosen}
    kept = [s for s in signals if id(s) not in packed] if len(chosen) < len(signals) else []
    n = len(chosen)
    arrays = WindowArrays(np.frombuffer(bytes.fromhex("".join(s.value for s, _ in chosen)), np.uint8).reshape(n, 32),
                          np.array([QUALITY_UNKNOWN if s.quality is None else s.quality for s, _ in chosen], np.int16),
                          np.array([p[1] for _, p in chosen], np.uint16).reshape(n, 4),
                          np.array([p[2] for _, p in chosen], bool), np.array([p[0] for _, p in chosen], np.int64))
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
