"""vPDQ: PDQ of video frames, in Meta's reference form ``frame,quality,hex,timestamp``.

Exact mode reproduces the PyPI ``vpdq`` package bit for bit: every decoded frame is
numbered in output order, a frame is hashed when ``frame % int(seconds_per_hash * fps)
== 0`` (``seconds_per_hash`` 0 means every frame), pixels come from FFmpeg's RGB24
conversion with area interpolation, luma and the Jarosz downscale follow PDQ's C++
float arithmetic, and the timestamp is ``float32(frame) / float32(fps)``.

Fast mode decodes key frames only, at reduced size, and hashes the first key frame
at or after each sampling point: the cost in distance and matching is measured in
BENCHMARKS.md.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from ..errors import InvalidValue, UsageError
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.video import VideoFrame, VideoInfo, decoded_frames, keyframes
from ..run import default_jobs
from . import _pdqcore, _pdqfast
from .mode import Mode

__all__ = ["VpdqFeature", "hash_video", "format_lines", "parse_line"]

NAME = "vpdq"


@dataclass(frozen=True)
class VpdqFeature:
    frame: int
    quality: int
    hash: str
    timestamp: float

    def to_line(self) -> str:
        return f"{self.frame},{self.quality},{self.hash},{self.timestamp:.3f}"

    def to_json(self) -> dict[str, object]:
        return {"frame": self.frame, "quality": self.quality, "hash": self.hash, "timestamp": round(self.timestamp, 3)}


def parse_line(line: str) -> VpdqFeature:
    """Read one ``frame,quality,hex,timestamp`` line (the reference text form)."""
    parts = line.strip().split(",")
    if len(parts) != 4:
        raise InvalidValue(f"not a vPDQ line (want frame,quality,hex,timestamp): {line.strip()[:80]!r}")
    frame, quality, hexhash, ts = parts
    hexhash = hexhash.lower()
    if len(hexhash) != 64 or any(c not in "0123456789abcdef" for c in hexhash):
        raise InvalidValue(f"not a 64-digit PDQ hex hash: {hexhash[:80]!r}")
    try:
        return VpdqFeature(int(frame), int(quality), hexhash, float(ts))
    except ValueError:
        raise InvalidValue(f"not a vPDQ line (frame and quality are integers, timestamp a number): "
                           f"{line.strip()[:80]!r}") from None


def format_lines(features: Iterable[VpdqFeature]) -> str:
    return "".join(f.to_line() + "\n" for f in features)


def _check_spacing(seconds_per_hash: float) -> None:
    if not seconds_per_hash >= 0:
        raise UsageError(f"seconds per hash must be 0 (every frame) or more, not {seconds_per_hash}")


def _frame_selector(seconds_per_hash: float) -> Callable[[VideoInfo], Callable[[int], bool]]:
    def want(info: VideoInfo) -> Callable[[int], bool]:
        mod = int(seconds_per_hash * info.fps) or 1
        return lambda n: n % mod == 0

    return want


def _hash_frame(frame: VideoFrame) -> VpdqFeature:
    rgb = frame.rgb()
    if frame.reduced_from is not None:  # fast mode: PDQ's filter mapped onto block means
        full_width, full_height, scale = frame.reduced_from
        b64 = _pdqfast.buffer64_from_reduced(_pdqcore.luma_like_cpp(rgb), full_width, full_height, scale)
        hexhash, quality = _pdqcore.hash_from_buffer64(b64)
    elif _pdqcore.AVAILABLE:
        hexhash, quality = _pdqcore.hash_from_luma(_pdqcore.luma_like_cpp(rgb))
    else:
        # Fallback through pdqhash's public API: its float64 luma can differ from the
        # C++ float32 luma vPDQ uses in the last bit, so a rare hash bit may differ.
        hexhash, quality = _pdqcore.reference_hex(rgb)
    return VpdqFeature(frame.number, quality, hexhash, frame.time)


def _in_order(frames: Iterable[VideoFrame], threads: int) -> Iterator[VpdqFeature]:
    """Hash frames on ``threads`` threads while the decoder goes on; order kept.

    RGB conversion (PyAV), luma and downscale (numba, nogil) and the C++ tail
    (ctypes) all release the GIL, so threads really run in parallel.
    """
    if threads <= 1:
        for frame in frames:
            yield _hash_frame(frame)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vpdq") as pool:
        pending: deque[Future[VpdqFeature]] = deque()
        for frame in frames:
            pending.append(pool.submit(_hash_frame, frame))
            while len(pending) > 2 * threads:  # bounded: decoded frames are large
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def hash_video(
    path: str | os.PathLike[str],
    *,
    seconds_per_hash: float = 1.0,
    mode: Mode = Mode.EXACT,
    limits: Limits = DEFAULT_LIMITS,
    threads: int | None = None,
    on_feature: Callable[[VpdqFeature], None] | None = None,
) -> list[VpdqFeature]:
    """vPDQ features of a video file, in frame order.

    ``threads`` hash frames in parallel with decoding (default: one per core); with
    1, decoding is single-threaded too (for callers that run videos in parallel).
    ``on_feature`` sees each feature as it is made (so a caller can keep what was
    hashed before a damaged stream stops the decoder).
    """
    _check_spacing(seconds_per_hash)
    out: list[VpdqFeature] = []

    def keep(feature: VpdqFeature) -> None:
        out.append(feature)
        if on_feature is not None:
            on_feature(feature)

    threads = default_jobs() if threads is None else threads
    if mode is Mode.EXACT:
        frames: Iterable[VideoFrame] = decoded_frames(path, _frame_selector(seconds_per_hash), limits,
                                                      frame_threads=threads > 1)
    else:
        frames = _due_keyframes(path, seconds_per_hash, limits, frame_threads=threads > 1)
    for feature in _in_order(frames, threads):
        keep(feature)
    return out


def _due_keyframes(path: str | os.PathLike[str], seconds_per_hash: float, limits: Limits, *,
                   frame_threads: bool) -> Iterator[VideoFrame]:
    """The first key frame at or after each sampling point."""
    due = 0.0
    reduce = _pdqfast.reduction_for if _pdqcore.AVAILABLE else (lambda w, h: 1)
    for frame in keyframes(path, reduce, limits, frame_threads=frame_threads):
        if frame.time + 1e-6 < due:
            continue
        yield frame
        due = frame.time + seconds_per_hash if seconds_per_hash else frame.time
