"""vPDQ: PDQ of video frames, in Meta's reference form ``frame,quality,hex,timestamp``.

Exact mode reproduces the PyPI ``vpdq`` package bit for bit: every decoded frame is
numbered in output order, a frame is hashed when ``frame % int(seconds_per_hash * fps)
== 0`` (``seconds_per_hash`` 0 means every frame), pixels come from FFmpeg's RGB24
conversion with area interpolation, luma and the Jarosz downscale follow PDQ's C++
float arithmetic, and the timestamp is ``float32(frame) / float32(fps)``.

Fast mode decodes key frames only, at reduced size, and hashes the first key frame
at or after each sampling point: the cost in distance and matching is measured in
BENCHMARKS.md.

:func:`hash_video_views` also gives, from the same decode, what finds edited copies:

* views of a video being checked (``views``): the video mirrored left to right (each frame's
  "flipy" hash, from the same DCT as its own), and, when bars surround the picture in every
  frame (``video_views.bars_box``), the video trimmed to its picture, as is and mirrored. Each
  view is a list of frames matched by the usual vPDQ rule.
* windows of each hashed frame, anchored on its corners (``variants.query_windows`` for a video
  being checked, ``variants.media_signals`` for a video listed from media): a cropped copy keeps
  most of them, and a list made from media stores them (bench/results/video_recall.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..errors import UsageError
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.video import VideoFrame, VideoInfo, VideoSource, decoded_frames, keyframes
from ..run import default_jobs
from . import _pdqcheck, _pdqcpp, _pdqfast
from .mode import Mode
from .video_views import DECIDE_FRAMES, bars_box, reduce_luma
from .views import Box, View, Window, frame_window_label
from .vpdq_type import VPDQ, VpdqFeature, format_lines, parse_line

__all__ = ["VpdqFeature", "VideoHashes", "VideoView", "FrameWindow", "FrameDerived", "hash_video",
           "hash_video_views", "format_lines", "parse_line", "NAME"]

NAME = VPDQ.name


def _check_spacing(seconds_per_hash: float) -> None:
    if not seconds_per_hash >= 0:
        raise UsageError(f"seconds per hash must be 0 (every frame) or more, not {seconds_per_hash}")


def _frame_selector(seconds_per_hash: float) -> Callable[[VideoInfo], Callable[[int], bool]]:
    def want(info: VideoInfo) -> Callable[[int], bool]:
        mod = int(seconds_per_hash * info.fps) or 1
        return lambda n: n % mod == 0

    return want


class VideoView(NamedTuple):
    """The frames of one view of a video being checked (mirrored, trimmed to its picture, or both)."""

    view: View
    features: list[VpdqFeature]

    @property
    def label(self) -> str:
        return self.view.label


class FrameWindow(NamedTuple):
    """A window of one hashed frame of a video being checked (``view.window`` says which)."""

    frame: int
    view: View
    hash: str
    quality: int


class FrameDerived(NamedTuple):
    """A window of one hashed frame of a video listed from media: what the list stores."""

    frame: int
    window: Window
    hash: str
    quality: int

    @property
    def derived(self) -> str:
        """The label a list stores, e.g. "frame 30 window l12.5 t3.1 r40.0 b22.7"."""
        return frame_window_label(self.frame, self.window)


@dataclass
class VideoHashes:
    features: list[VpdqFeature] = field(default_factory=list)  # the video as is: its vPDQ
    views: list[VideoView] = field(default_factory=list)  # "flipy", then "trimmed WxH+X+Y" and its mirror
    windows: list[FrameWindow] = field(default_factory=list)  # a checked video's frame windows
    derived: list[FrameDerived] = field(default_factory=list)  # a listed video's frame windows


@dataclass(frozen=True)
class _Wants:
    views: bool = False
    windows: bool = False
    derived: bool = False


@dataclass
class _Hashed:
    """One hashed frame: its feature and what the views and windows need of it."""

    feature: VpdqFeature
    mirrored: str | None = None
    luma: np.ndarray | None = None  # luma by block means of ``scale`` pixels, as bytes (bars, trimming)
    scale: int = 1
    size: tuple[int, int] = (0, 0)  # the frame's full width and height
    windows: list[FrameWindow] = field(default_factory=list)
    derived: list[FrameDerived] = field(default_factory=list)


_BOTH = ("original", "flipy")


def _hash_frame(frame: VideoFrame, wants: _Wants = _Wants()) -> _Hashed:
    rgb = frame.rgb()
    mirrored: str | None = None
    luma: np.ndarray | None = None
    scale = 1
    if frame.reduced_from is not None:  # fast mode: PDQ's filter mapped onto block means
        full_width, full_height, scale = frame.reduced_from
        reduced = _pdqfast.luma_like_cpp(rgb)
        b64 = _pdqfast.buffer64_from_reduced(reduced, full_width, full_height, scale)
        if wants.views:
            hashes, quality = _pdqcpp.orientations_from_buffer64(b64, _BOTH)
            hexhash, mirrored = hashes["original"], hashes["flipy"]
            luma = reduce_luma(reduced, 1)
        else:
            hexhash, quality = _pdqcpp.hash_from_buffer64(b64)
    elif _pdqcheck.AVAILABLE:
        from . import _pdqcore  # numba: for frames hashed at full size

        full = _pdqcore.luma_like_cpp(rgb)
        full_height, full_width = full.shape
        if not wants.views:
            hexhash, quality = _pdqcore.hash_from_luma(full)
        elif not _pdqcore.hashable(full):
            hexhash = mirrored = _pdqcpp.ZERO_HASH
            quality = 0
        else:
            hashes, quality = _pdqcpp.orientations_from_buffer64(_pdqcore.downscale64(full), _BOTH)
            hexhash, mirrored = hashes["original"], hashes["flipy"]
        if wants.views:
            scale = _pdqfast.reduction_for(full_width, full_height)
            luma = reduce_luma(full, scale)
    else:
        # Fallback through pdqhash's public API: its float64 luma can differ from the
        # C++ float32 luma vPDQ uses in the last bit, so a rare hash bit may differ.
        hexhash, quality = _pdqcpp.reference_hex(rgb)
        full_height, full_width = rgb.shape[:2]
        if wants.views:
            mirrored = _pdqcpp.reference_hex(np.ascontiguousarray(rgb[:, ::-1]))[0]
            scale = _pdqfast.reduction_for(full_width, full_height)
            luma = reduce_luma(_pdqfast.luma_like_cpp(rgb), scale)
    out = _Hashed(VpdqFeature(frame.number, quality, hexhash, frame.time), mirrored, luma, scale,
                  (full_width, full_height))
    if wants.windows or wants.derived:
        from .variants import media_signals, query_windows  # numba and Pillow: only when windows are wanted

        if wants.windows:
            out.windows = [FrameWindow(frame.number, v.view, v.hash, v.quality)
                           for v in query_windows(rgb, [], frame=True)]
        if wants.derived:
            out.derived = [FrameDerived(frame.number, d.window, d.hash, d.quality)
                           for d in media_signals(rgb, frame=True)]
    return out


def _in_order(frames: Iterable[VideoFrame], threads: int, wants: _Wants) -> Iterator[_Hashed]:
    """Hash frames on ``threads`` threads while the decoder goes on; order kept.

    RGB conversion (PyAV), luma and downscale (numba, nogil) and the C++ tail
    (ctypes) all release the GIL, so threads really run in parallel.
    """
    if threads <= 1:
        for frame in frames:
            yield _hash_frame(frame, wants)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vpdq") as pool:
        pending: deque[Future[_Hashed]] = deque()
        for frame in frames:
            pending.append(pool.submit(_hash_frame, frame, wants))
            while len(pending) > 2 * threads:  # bounded: decoded frames are large
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Views:
    """The views of a video as its frames come: mirrored at once; trimmed once the bars are known.

    The bars are decided from the first ``DECIDE_FRAMES`` hashed frames (their reduced luma kept
    meanwhile, 57.6 KB a 640x360 frame), and later frames are trimmed as they come: memory stays
    bounded whatever the video's length.
    """

    def __init__(self) -> None:
        self.mirrored: list[VpdqFeature] = []
        self.trimmed: list[VpdqFeature] = []
        self.trimmed_mirrored: list[VpdqFeature] = []
        self.pending: list[_Hashed] = []
        self.decided = False
        self.box: Box | None = None  # in the reduced frames' pixels
        self.full_box: Box | None = None

    def add(self, h: _Hashed) -> None:
        if h.mirrored is None:
            return
        f = h.feature
        self.mirrored.append(VpdqFeature(f.frame, f.quality, h.mirrored, f.timestamp))
        if not self.decided:
            self.pending.append(h)
            if len(self.pending) >= DECIDE_FRAMES:
                self._decide()
        elif self.box is not None:
            self._trim(h)

    def _decide(self) -> None:
        self.decided = True
        frames = [h for h in self.pending if h.luma is not None]
        if frames:
            shape = frames[0].luma.shape  # type: ignore[union-attr]
            frames = [h for h in frames if h.luma is not None and h.luma.shape == shape]
            self.box = bars_box([h.luma for h in frames if h.luma is not None])
        if self.box is not None:
            first = frames[0]
            s = first.scale
            width, height = first.size
            b = self.box
            self.full_box = Box(b.top * s, min(height, b.bottom * s), b.left * s, min(width, b.right * s))
            for h in frames:
                self._trim(h)
        self.pending = []

    def _trim(self, h: _Hashed) -> None:
        assert self.box is not None and self.full_box is not None
        if h.luma is None or h.luma.shape[0] < self.box.bottom or h.luma.shape[1] < self.box.right:
            return  # a frame of another size (the stream changed size): no trimmed hash
        b, fb = self.box, self.full_box
        part = np.ascontiguousarray(h.luma[b.top:b.bottom, b.left:b.right], np.float32)
        width, height = fb.right - fb.left, fb.bottom - fb.top
        if h.scale > 1:
            b64 = _pdqfast.buffer64_from_reduced(part, width, height, h.scale)
            hashes, quality = _pdqcpp.orientations_from_buffer64(b64, _BOTH)
        elif _pdqcheck.AVAILABLE:
            from . import _pdqcore

            hashes, quality = _pdqcpp.orientations_from_buffer64(_pdqcore.downscale64(part), _BOTH)
        else:
            rgb = np.repeat(h.luma[b.top:b.bottom, b.left:b.right, None], 3, axis=2)
            hexhash, quality = _pdqcpp.reference_hex(rgb)
            hashes = {"original": hexhash, "flipy": _pdqcpp.reference_hex(np.ascontiguousarray(rgb[:, ::-1]))[0]}
        f = h.feature
        self.trimmed.append(VpdqFeature(f.frame, quality, hashes["original"], f.timestamp))
        self.trimmed_mirrored.append(VpdqFeature(f.frame, quality, hashes["flipy"], f.timestamp))

    def finish(self) -> list[VideoView]:
        if not self.decided:
            self._decide()
        if not self.mirrored:
            return []
        out = [VideoView(View("flipy"), self.mirrored)]
        if self.full_box is not None and self.trimmed:
            out += [VideoView(View("original", self.full_box), self.trimmed),
                    VideoView(View("flipy", self.full_box), self.trimmed_mirrored)]
        return out


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
    return hash_video_views(source, seconds_per_hash=seconds_per_hash, mode=mode, limits=limits, threads=threads,
                            on_feature=on_feature).features


def hash_video_views(
    source: VideoSource,
    *,
    seconds_per_hash: float = 1.0,
    mode: Mode = Mode.EXACT,
    limits: Limits = DEFAULT_LIMITS,
    threads: int | None = None,
    views: bool = False,
    windows: bool = False,
    derived: bool = False,
    on_feature: Callable[[VpdqFeature], None] | None = None,
    into: VideoHashes | None = None,
) -> VideoHashes:
    """vPDQ of a video (as :func:`hash_video`) and, from the same decode, its ``views`` (mirrored,
    trimmed to the picture inside bars), the ``windows`` of its frames for checking it against
    lists made from media, and the ``derived`` windows such a list stores for it.

    ``into`` is filled as frames are hashed (features at once, views and windows as they are
    made): a caller keeps what was hashed before a damaged stream stops the decoder.
    """
    _check_spacing(seconds_per_hash)
    out = into if into is not None else VideoHashes()
    wants = _Wants(views, windows, derived)
    threads = default_jobs() if threads is None else threads
    if mode is Mode.EXACT:
        frames: Iterable[VideoFrame] = decoded_frames(source, _frame_selector(seconds_per_hash), limits,
                                                      frame_threads=threads > 1)
    else:
        frames = _due_keyframes(source, seconds_per_hash, limits, frame_threads=threads > 1)
    building = _Views()
    try:
        for hashed in _in_order(frames, threads, wants):
            out.features.append(hashed.feature)
            if on_feature is not None:
                on_feature(hashed.feature)
            building.add(hashed)
            out.windows += hashed.windows
            out.derived += hashed.derived
    finally:
        out.views = building.finish()
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
