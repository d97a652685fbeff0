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

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..errors import UsageError
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.video import VideoFrame, VideoInfo, VideoSource, decoded_frames, keyframes
from ..run import default_jobs
from . import _pdqcheck, _pdqcpp, _pdqfast
from .mode import Mode
from .vpdq_type import VPDQ, VpdqFeature, format_lines, parse_line

__all__ = ["VpdqFeature", "hash_video", "format_lines", "parse_line", "NAME"]

NAME = VPDQ.name


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
        b64 = _pdqfast.buffer64_from_reduced(_pdqfast.luma_like_cpp(rgb), full_width, full_height, scale)
        hexhash, quality = _pdqcpp.hash_from_buffer64(b64)
    elif _pdqcheck.AVAILABLE:
        from . import _pdqcore  # numba: for frames hashed at full size

        hexhash, quality = _pdqcore.hash_from_luma(_pdqcore.luma_like_cpp(rgb))
    else:
        # Fallback through pdqhash's public API: its float64 luma can differ from the
        # C++ float32 luma vPDQ uses in the last bit, so a rare hash bit may differ.
        hexhash, quality = _pdqcpp.reference_hex(rgb)
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
    source: VideoSource,
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
        frames: Iterable[VideoFrame] = decoded_frames(source, _frame_selector(seconds_per_hash), limits,
                                                      frame_threads=threads > 1)
    else:
        frames = _due_keyframes(source, seconds_per_hash, limits, frame_threads=threads > 1)
    for feature in _in_order(frames, threads):
        keep(feature)
    return out


def _due_keyframes(source: VideoSource, seconds_per_hash: float, limits: Limits, *,
                   frame_threads: bool) -> Iterator[VideoFrame]:
    """The first key frame at or after each sampling point."""
    due = 0.0
    reduce = _pdqfast.reduction_for if _pdqcheck.AVAILABLE else (lambda w, h: 1)
    for frame in keyframes(source, reduce, limits, frame_threads=frame_threads):
        if frame.time + 1e-6 < due:
            continue
        yield frame
        due = frame.time + seconds_per_hash if seconds_per_hash else frame.time
