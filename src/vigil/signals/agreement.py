"""Whether windows that matched one listed photo confirm each other: the one crop and scale that
made a copy explains where all of its windows lie (:func:`windows_agree`).

Windows are found and hashed in ``variants`` (``media_signals`` for a listed photo, ``query_windows``
for a photo being checked); ``guided`` looks for more of them where one match puts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from .views import Box, View, Window

__all__ = ["FRAME_WINDOWS", "PHOTO_WINDOWS", "Placed", "apart", "extent", "place", "windows_agree"]

_AGREE = 0.02  # windows agree when one's crop-and-scale puts the other within this share of the frame
# Two windows confirm each other only when they are different windows: some side at least this share
# of the frame apart, in the listed photo and in the query alike. Windows of one pair of corners found
# at two scales differ by a pixel and match alike: an unrelated smooth photo matched through such a
# near-twin pair (measured: 1 in 640 queries before this rule, none after).
_DISTINCT = 0.05


class Placed(NamedTuple):
    frame: Box | None  # which part of the query the window is in: the whole photo, or a trimmed box
    mirrored: bool
    listed: tuple[float, float, float, float]  # x0, x1, y0, y1 in the listed photo (0..1), as the copy shows it
    query: tuple[float, float, float, float]  # the same in the query's frame


def extent(window: Window) -> tuple[float, float, float, float]:
    return window.left / 100, 1 - window.right / 100, window.top / 100, 1 - window.bottom / 100


def place(query: View, listed: Window) -> Placed | None:
    if query.window is None:
        return None
    x0, x1, y0, y1 = extent(listed)
    # A listed window kept mirrored (lists made before query windows were mirrored), or a query
    # window's mirror image matching: the copy shows the listed photo mirrored, and the window's x
    # runs the other way.
    mirrored = listed.mirrored != (query.orientation == "flipy")
    if mirrored:
        x0, x1 = 1 - x1, 1 - x0
    return Placed(query.trimmed, mirrored, (x0, x1, y0, y1), extent(query.window))


def apart(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return max(abs(p - q) for p, q in zip(a, b, strict=True)) >= _DISTINCT


def _agree(a: Placed, b: Placed) -> bool:
    """Whether the crop and scale taking a's listed window to its query window also takes b's."""
    if a.frame != b.frame or a.mirrored != b.mirrored:
        return False
    if not (apart(a.listed, b.listed) and apart(a.query, b.query)):
        return False  # one window found at two scales a pixel apart is still one window
    for axis in (0, 2):
        span = a.listed[axis + 1] - a.listed[axis]
        if span <= 0:
            return False
        scale = (a.query[axis + 1] - a.query[axis]) / span
        shift = a.query[axis] - scale * a.listed[axis]
        for k in (axis, axis + 1):
            if abs(scale * b.listed[k] + shift - b.query[k]) > _AGREE:
                return False
    return True


# A photo matches through windows when this many different windows agree on one crop and scale.
# Two were enough on 160 photos and not on 1,500 decoys: among low-texture scenes, two nested windows
# of near-flat regions (a sky's corner, an abstract blur) lined up by chance for 3 decoys and 6 copies
# of other listed photos, where three never did; on 12% crops of low-texture photos three cost 4
# points of recall (93% -> 89%), textured photos none.
PHOTO_WINDOWS = 3
# A video's frame matches through two (a video matches when half its frames do: see the matcher).
FRAME_WINDOWS = 2


def windows_agree(matches: Iterable[tuple[View, Window]], need: int = PHOTO_WINDOWS) -> bool:
    """Whether window matches with one listed photo confirm each other, so that it is a match.

    ``matches`` pairs the view of a query window (from :func:`query_windows`) with the listed window
    it matched (from :func:`media_signals`). A single window can match by chance: a window mostly of
    two flat areas and an edge looks like many others, and so, among thousands of photos, can two.
    The windows of a real copy are related by the one crop and scale that made it, so this asks for
    ``need`` different windows (each some 5% of the frame from the others) in the same part of the
    query whose positions that same crop and scale explain (to 2% of the frame); chance matches
    almost never line up.
    """
    placed = [p for p in (place(q, lst) for q, lst in matches) if p is not None]
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if not _agree(a, b):
                continue
            group = [a, b]
            for c in placed:
                if len(group) >= need:
                    break
                if all(apart(c.listed, g.listed) and apart(c.query, g.query) for g in group) and _agree(a, c):
                    group.append(c)
            if len(group) >= need:
                return True
    return False
