"""Video matching with the reference vPDQ semantics, over many listed videos at once.

As Meta's brute-force matcher (python-threatexchange ``vpdq_brute_matcher``): both
videos' frames are de-duplicated by exact hash and those under the quality gate are
dropped; the *query percent* is the share of the query's frames within the distance
threshold of some frame of the listed video, the *list percent* the share of the
listed video's frames within it of some query frame. A video matches when both reach
the list's settings (80% and 0% by default).

Candidates come from a PDQ range index over every listed frame, so a query is never
compared with videos that share no frame with it; the percentages are then computed
exactly, frame against frame, for those candidates only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pdq import PdqIndex

__all__ = ["VideoScore", "VideoFrames", "score_candidates", "unique_quality_frames", "pairwise_within"]


@dataclass(frozen=True)
class VideoScore:
    video: int  # the listed video's number in VideoFrames
    query_percent: float
    list_percent: float
    best_distance: int


@dataclass
class VideoFrames:
    """Every listed video's frames, in video order, plus a range index over all of them."""

    bits: np.ndarray  # (M, 32) uint8, frames of video v at offsets[v]:offsets[v+1]
    quality: np.ndarray  # (M,) int16
    offsets: np.ndarray  # (V+1,) int64
    index: PdqIndex  # over the same frames, its rows reordered
    index_frame: np.ndarray  # (M,) int64: index row -> frame number in ``bits``
    frame_video: np.ndarray  # (M,) int32: frame number -> video number


_POP = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def pairwise_within(a: np.ndarray, b: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """For (A,32) and (B,32) uint8 hashes: which rows of a have a row of b within radius,
    which rows of b have one of a, and (as a side effect of the same pass) nothing else."""
    if not len(a) or not len(b):
        return np.zeros(len(a), bool), np.zeros(len(b), bool)
    a_hit = np.zeros(len(a), bool)
    b_hit = np.zeros(len(b), bool)
    step = max(1, 4096 // max(len(b), 1))
    for start in range(0, len(a), step):
        block = a[start:start + step]
        dist = _POP[np.bitwise_xor(block[:, None, :], b[None, :, :])].sum(axis=2, dtype=np.int32)
        close = dist <= radius
        a_hit[start:start + step] |= close.any(axis=1)
        b_hit |= close.any(axis=0)
    return a_hit, b_hit


def unique_quality_frames(bits: np.ndarray, quality: np.ndarray, min_quality: int) -> np.ndarray:
    """Frames at or above the quality gate, de-duplicated by exact hash (first kept)."""
    keep = bits[quality >= min_quality]
    if not len(keep):
        return keep
    _, first = np.unique(keep.view(np.dtype((np.void, 32))).ravel(), return_index=True)
    return keep[np.sort(first)]


def score_candidates(frames: VideoFrames, query: np.ndarray, *, radius: int, min_quality: int) -> list[VideoScore]:
    """Scores of every listed video that shares at least one frame with ``query``.

    ``query`` holds the query's unique frames at or above the quality gate.
    """
    if not len(query) or not len(frames.index):
        return []
    found = frames.index.search(query, radius)
    if not len(found.row):
        return []
    frame_no = frames.index_frame[found.row]
    videos = np.unique(frames.frame_video[frame_no])
    scores = []
    for v in videos.tolist():
        lo, hi = int(frames.offsets[v]), int(frames.offsets[v + 1])
        listed = unique_quality_frames(frames.bits[lo:hi], frames.quality[lo:hi], min_quality)
        if not len(listed):
            continue
        q_hit, l_hit = pairwise_within(query, listed, radius)
        mine = frames.frame_video[frame_no] == v
        best = int(found.distance[mine].min()) if mine.any() else radius
        scores.append(VideoScore(v, 100.0 * q_hit.sum() / len(query), 100.0 * l_hit.sum() / len(listed), best))
    return scores
