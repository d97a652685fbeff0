"""Guided windows: where windows of a listed photo matched, look for its others where those
matches put them.

Anchored windows (``variants.media_signals`` and ``query_windows``) find a crop where the copy and
the listed photo share corners that each finds at the same places, and three that agree on one crop
and scale make a match (``agreement.windows_agree``). Among thousands of low-texture photos, though,
three near-flat windows of soft round shapes can line up by chance. One matched window fixes the crop
and scale that would make the copy (its four sides in the listed photo and in the copy), so every
other window of the listed photo has a place in the copy: the copy is hashed there and compared with
what the list holds. A real copy has them within a few bits (no corner has to be found again); a
chance match mostly does not. :func:`confirm` asks for two more found so; the matcher asks it of
every listed photo whose windows agree, when the photo being checked is at hand
(:class:`WindowProbe` keeps its luma).

Used alone with the confirming rule (one matched window and two found where it puts them, without
anchored agreement), this found more crops of low-texture photos (12% crops: 92.7% against 86.0%)
but matched one decoy of 10,000 (BENCHMARKS.md): soft shapes of an unrelated photo came within 4-18
bits where a chance match put them. So :func:`confirm` asks two more of windows that agree, and
:func:`find`, for windows that do not, four more, each of about the listed window's contrast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from ..errors import UsageError
from .agreement import PHOTO_WINDOWS, Placed, apart, extent, place
from .variants import WINDOW_MIN_QUALITY, Regions, Variant, window_luma
from .views import Box, View, Window

__all__ = ["FIND_WINDOWS", "GUIDED_RADIUS", "Found", "WindowProbe", "confirm", "find", "look"]

# The crops a seed may stand for: a copy shows the listed photo's windows between half and two and
# a half times their share of its frame (a 12% crop a side: 1.32), and stretched by at most this much
# more along one axis than along the other (a crop of one side only, a change of aspect).
_SCALES = (0.5, 2.5)
_STRETCH = 1.7
_EDGE = 0.005  # share of the frame a predicted window may run past its edge (then cut at it)
_SEEDS = 3  # matched windows of one listed photo tried as seeds, closest first
_CHUNK = 24  # windows hashed at a time, until enough are found
_BLOCKS = 2  # guided windows are hashed from the means of blocks this wide, as query windows are
# How close a window looked for where a seed puts it must be to the listed one. Hashed at the very
# place, a copy's windows come within a few bits: 12% crops of 200 listed photos (in-process study of
# 300 low-texture and 100 textured photos, 3,000 decoys), 0-10 bits for most, 8-20 when also shrunk to
# half the size. Windows of an unrelated photo where a chance match put them came within 20-24 bits
# there (soft round shapes), one decoy of 3,000 had three anchored windows agreeing, and none had two
# more within 18; in the 10,000-decoy bench, one came within 4-18 bits (see the module's docstring).
GUIDED_RADIUS = 18
# Guided windows also find a copy whose anchored windows do not agree (few corners survive a crop of a
# low-texture photo, and each needs two): a seed and four more where it puts them. In-process study
# (another seed than the bench's: 160 listed low-texture photos, their 5% and 12% crops and 12% crops
# at half size, 1,720 decoys of which 960 of the same style): with the anchored rule alone 143 / 155 /
# 133 of 160; finding with a seed and two more (the confirming rule) 148 / 157 / 138 with 6 false
# positives; a seed and four more 147 / 157 / 138 and none.
FIND_WINDOWS = 5
# Every window found must have about the listed window's PDQ quality (its contrast: an unrelated soft
# shape of the same form in the same place has another), to this share of the larger of the two: the
# chance matches of near-flat windows came within 8-18 bits at quality 20-29 where the listed ones
# had 26-42. A found copy has one seed to vouch for it and is held to the closer tolerance; a
# confirmed one has three windows that agree. Studied on 250 listed photos (150 low-texture) with 8
# edits each and 6,000 decoys (4,550 fresh low-texture; seed 7), and the bench's three false
# positives of 10,000 with the tolerance 0.3 for finding and none for confirming: finding at 0.3
# matched 1 decoy and the bench's 2, confirming without a check the bench's third; 0.15 and 0.3
# matched none and found every copy those did (a decoy's best: 4 of 5). Contrast edits of a copy
# beyond the tolerance lose what only guided windows find.
_FIND_TOLERANCE = 0.15
_CONFIRM_TOLERANCE = 0.3


class WindowProbe:
    """A photo being checked, kept for hashing windows of it where a match predicts them.

    ``luma`` is PDQ's luma of the pixels the photo was hashed from (a fast-mode decode may be
    reduced); ``size`` is (width, height) in the units the query's views name boxes in (the photo's
    own pixels; the luma's shape when not given). Kept as windows are hashed
    (``variants.window_luma``). ``rest``: where the photo's query windows were hashed in two steps
    and only the first is in its query, what makes them all (in the process that hashed it).
    """

    def __init__(self, luma: np.ndarray, size: tuple[int, int] | None = None,
                 rest: Callable[[], list[Variant]] | None = None) -> None:
        h, w = luma.shape
        self.size = size if size is not None else (w, h)
        self.luma = np.ascontiguousarray(window_luma(luma), np.float32)
        self._rest = rest
        self._regions: Regions | None = None
        self._complete: list[Variant] | None = None

    @property
    def in_steps(self) -> bool:
        """Whether only the first step of the photo's query windows was hashed (``variants.QueryWindows``):
        :meth:`complete_windows` makes the rest when a matcher asks."""
        return self._rest is not None

    def complete_windows(self) -> list[Variant]:
        """Every query window of the photo (made once, when first asked; only where :attr:`in_steps`)."""
        if self._complete is None:
            if self._rest is None:
                raise UsageError("this probe's photo had all its windows hashed at once")
            self._complete = self._rest()
        return self._complete

    def frame(self, trimmed: Box | None) -> tuple[float, float, float, float]:
        """(left, top, width, height) in the luma's pixels of the whole photo or of a trimmed box."""
        h, w = self.luma.shape
        if trimmed is None:
            return 0.0, 0.0, float(w), float(h)
        sx, sy = w / self.size[0], h / self.size[1]
        return (trimmed.left * sx, trimmed.top * sy, (trimmed.right - trimmed.left) * sx,
                (trimmed.bottom - trimmed.top) * sy)

    def hash(self, trimmed: Box | None, extents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bits, bits of the mirror image, quality) of each window ``extents`` gives as (x0, x1, y0, y1)
        shares of the frame (the whole photo, or the ``trimmed`` box); bits are (n, 32) uint8, as a
        list's index holds them. Hashed as query windows are: from the means of 2 x 2 blocks where
        PDQ's filter spans a block or more (``Regions.hash_many``), a third of the exact cost; in the
        in-process study and the 10,000-decoy bench, exactly hashed guided windows found the same."""
        left, top, width, height = self.frame(trimmed)
        rows, cols = self.luma.shape
        boxes = [Box(max(0, round(top + y0 * height)), min(rows, round(top + y1 * height)),
                     max(0, round(left + x0 * width)), min(cols, round(left + x1 * width)))
                 for x0, x1, y0, y1 in extents.tolist()]
        if self._regions is None:
            self._regions = Regions.from_luma(self.luma)  # kept: its block means serve every chunk
        found = self._regions.hash_many(boxes, True, WINDOW_MIN_QUALITY, _BLOCKS)
        bits = np.frombuffer(bytes.fromhex("".join(h for h, _, _ in found)), np.uint8).reshape(-1, 32)
        flipped = np.frombuffer(bytes.fromhex("".join(f or h for h, f, _ in found)), np.uint8).reshape(-1, 32)
        return bits, flipped, np.array([q for _, _, q in found], np.int32)


class Found(NamedTuple):
    """A listed window looked for in the copy where a seed put it: how far the copy's hash there is."""

    distance: int
    quality: int
    listed: tuple[float, float, float, float]  # x0, x1, y0, y1 in the listed photo, as the copy shows it
    query: tuple[float, float, float, float]  # the same in the copy's frame
    listed_quality: int = -1  # the listed window's PDQ quality, where the caller gave it (-1: not known)


def _transform(seed: Placed) -> tuple[np.ndarray, np.ndarray] | None:
    """(scale, shift) per axis (x, y) taking the listed photo's shares to the copy's, if plausible."""
    lx0, lx1, ly0, ly1 = seed.listed
    qx0, qx1, qy0, qy1 = seed.query
    if lx1 <= lx0 or ly1 <= ly0:
        return None
    scale = np.array([(qx1 - qx0) / (lx1 - lx0), (qy1 - qy0) / (ly1 - ly0)])
    if not (_SCALES[0] <= scale.min() and scale.max() <= _SCALES[1]) or scale.max() > _STRETCH * scale.min():
        return None
    return scale, np.array([qx0, qy0]) - scale * np.array([lx0, ly0])


def look(probe: WindowProbe, seed_view: View, seed_window: Window, listed: Sequence[Window],
         listed_bits: np.ndarray, listed_quality: np.ndarray | None = None) -> list[Found]:
    """Each of the ``listed`` windows (with their hashes, ``listed_bits``: (n, 32) uint8, and their
    qualities if given) that the crop and scale of one matched window (``seed_view`` of the copy
    matched ``seed_window``) keep in the copy, hashed there; windows not apart from the seed's are
    left out (they are the seed again)."""
    return [f for part in _look(probe, seed_view, seed_window, listed, listed_bits, len(listed), listed_quality)
            for f in part]


def _look(probe: WindowProbe, seed_view: View, seed_window: Window, listed: Sequence[Window],
          listed_bits: np.ndarray, chunk: int, listed_quality: np.ndarray | None = None) -> Iterator[list[Found]]:
    """:func:`look`, ``chunk`` windows at a time (in the list's order: strongest corners first)."""
    seed = place(seed_view, seed_window)
    transform = None if seed is None else _transform(seed)
    if seed is None or transform is None or not len(listed):
        return
    scale, shift = transform
    ext = np.array([extent(w) for w in listed], np.float64)  # x0, x1, y0, y1 as the list keeps each
    # As the copy shows the listed photo: mirrored where the copy is a mirror image of what the list keeps.
    flip = np.array([w.mirrored != seed.mirrored for w in listed])
    ext[flip, 0], ext[flip, 1] = 1 - ext[flip, 1], 1 - ext[flip, 0]
    query = np.empty_like(ext)
    query[:, :2] = ext[:, :2] * scale[0] + shift[0]
    query[:, 2:] = ext[:, 2:] * scale[1] + shift[1]
    inside = (query[:, [0, 2]].min(axis=1) >= -_EDGE) & (query[:, [1, 3]].max(axis=1) <= 1 + _EDGE)
    keep = [k for k in np.flatnonzero(inside).tolist()
            if apart(tuple(ext[k]), seed.listed) and apart(tuple(query[k]), seed.query)]
    for start in range(0, len(keep), max(1, chunk)):
        part = keep[start : start + chunk]
        where = np.clip(query[part], 0.0, 1.0)
        bits, flipped, quality = probe.hash(seed.frame, where)
        # A window the copy shows mirrored is compared with the mirror image of the copy's window.
        seen = np.where(flip[part][:, None], flipped, bits)
        distance = np.unpackbits(seen ^ listed_bits[part], axis=1).sum(axis=1)
        yield [Found(int(distance[n]), int(quality[n]), tuple(ext[k]), tuple(where[n]),
                     -1 if listed_quality is None else int(listed_quality[k]))
               for n, k in enumerate(part)]


def _seeds(matched: Sequence[tuple[View, Window, int]]) -> list[tuple[View, Window, int]]:
    """The seeds :func:`confirm` tries, in order: the closest matched windows, each of another listed
    window. A window of a smooth photo can match several listed windows, and near-twin query windows
    one listed window: the closest matches were often one wrong pairing again and again (a sky's 12%
    crop, three seeds of one listed window, none where the copy has it). Trying the windows that agree
    on a crop first instead lost 9 of 150 textured crops in screenshots (149 -> 140): a window that
    agrees to 2% of the frame can be placed less exactly than the closest one."""
    seeds: list[tuple[View, Window, int]] = []
    for match in sorted(matched, key=lambda m: m[2]):
        if all(match[1] != seed[1] for seed in seeds):
            seeds.append(match)
            if len(seeds) == _SEEDS:
                break
    return seeds


def confirm(probe: WindowProbe, matched: Sequence[tuple[View, Window, int]], listed: Sequence[Window],
            listed_bits: np.ndarray, radius: int = GUIDED_RADIUS, need: int = PHOTO_WINDOWS,
            listed_quality: np.ndarray | None = None) -> tuple[View, int] | None:
    """Whether windows of a copy that matched windows of one listed photo are a match, once the
    listed photo's other windows are looked for in the copy where each of them puts them.

    ``matched``: (query view, listed window, distance) of each window of the copy that matched one of
    the listed photo's; ``listed``, ``listed_bits``: all the listed photo's windows and their hashes.
    A seed confirms when ``need`` - 1 other windows, each apart from the rest, are found within
    ``radius`` bits where it put them, each of about the listed window's PDQ quality where
    ``listed_quality`` gives it (:data:`_CONFIRM_TOLERANCE`). Up to three seeds are tried, the
    closest matches each of another listed window. Returns the confirmed seed's (view, distance),
    else None. The copy is hashed a few windows at a time, and no more once they confirm:
    a real copy's first few are usually enough.
    """
    return _found_around(probe, matched, listed, listed_bits, radius, need, listed_quality, _CONFIRM_TOLERANCE)


def find(probe: WindowProbe, matched: Sequence[tuple[View, Window, int]], listed: Sequence[Window],
         listed_bits: np.ndarray, listed_quality: np.ndarray, radius: int = GUIDED_RADIUS) -> tuple[View, int] | None:
    """Whether windows of a copy that matched windows of one listed photo, without agreeing on a crop
    (``agreement.windows_agree``), are a match all the same: :func:`confirm`, asking a seed for
    :data:`FIND_WINDOWS` - 1 others found where it put them, each of about the listed window's PDQ
    quality (``listed_quality``, as the list keeps it), to the closer :data:`_FIND_TOLERANCE`."""
    return _found_around(probe, matched, listed, listed_bits, radius, FIND_WINDOWS, listed_quality, _FIND_TOLERANCE)


def _alike(found: Found, tolerance: float) -> bool:
    """Whether a window found in the copy has about the listed window's quality (its contrast)."""
    if found.listed_quality < 0:
        return True  # not known
    return abs(found.quality - found.listed_quality) <= tolerance * max(found.quality, found.listed_quality)


def _found_around(probe: WindowProbe, matched: Sequence[tuple[View, Window, int]], listed: Sequence[Window],
                  listed_bits: np.ndarray, radius: int, need: int, listed_quality: np.ndarray | None,
                  tolerance: float) -> tuple[View, int] | None:
    for view, window, distance in _seeds(matched):
        close: list[Found] = []
        for part in _look(probe, view, window, listed, listed_bits, _CHUNK, listed_quality):
            close = sorted(close + [f for f in part if f.distance <= radius and f.quality >= WINDOW_MIN_QUALITY
                                    and _alike(f, tolerance)], key=lambda f: f.distance)
            group: list[Found] = []
            for f in close:
                if all(apart(f.listed, g.listed) and apart(f.query, g.query) for g in group):
                    group.append(f)
                    if len(group) + 1 >= need:
                        return view, distance
    return None
