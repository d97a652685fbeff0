"""Video decoding with PyAV (its wheels carry FFmpeg: nothing to install system-wide).

Two ways through a video:

* :func:`decoded_frames` decodes every frame in decoder output order, exactly as
  Meta's vPDQ reference does (same frame numbering, same end-of-stream handling),
  so hashes made from it agree bit for bit with the PyPI ``vpdq`` package.
* :func:`keyframes` asks the decoder to skip everything but key frames: a fraction
  of the decoding work, for triage.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import av.error
import numpy as np

from ..errors import CorruptMedia, DecodeTimeout, MediaTooLarge
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["VideoSource", "VideoInfo", "VideoFrame", "open_video", "decoded_frames", "keyframes"]

# A video file: its path, or a seekable stream of its bytes (decoded the same, never spooled to disk).
VideoSource = str | os.PathLike[str] | BinaryIO

av.logging.set_level(None)  # FFmpeg chatter would break progress bars and pipes


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float  # average frame rate, else the stream's base rate (as vPDQ does)
    stream_index: int
    declared_frames: int  # from the container index; 0 when unknown
    duration: float | None  # seconds, when the container says


@dataclass
class VideoFrame:
    """A decoded frame; :meth:`rgb` converts it (thread-safe: PyAV releases the GIL)."""

    number: int
    time: float
    frame: Any  # av.VideoFrame
    # Set when rgb() gives block means: (full width, full height, scale).
    reduced_from: tuple[int, int, int] | None = None

    def rgb(self) -> np.ndarray:
        # SWS_AREA, like vPDQ's converter: the RGB pixels must match its, bit for bit.
        width = height = None
        if self.reduced_from is not None:
            full_width, full_height, scale = self.reduced_from
            width, height = -(-full_width // scale), -(-full_height // scale)
        try:
            return self.frame.to_ndarray(  # type: ignore[no-any-return]
                format="rgb24", width=width, height=height, interpolation="AREA")
        except av.error.FFmpegError as exc:  # PyAV's errors stop here: the caller sees a media error
            raise CorruptMedia(f"video frame {self.number} cannot be converted to RGB: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


@contextmanager
def open_video(source: VideoSource, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[Any, Any, VideoInfo]]:
    """Open the first video stream of a file (a path, or a seekable stream: the same frames);
    refuse oversized frames before any decoding."""
    try:
        where = os.fspath(source) if isinstance(source, str | os.PathLike) else source
        container = av.open(where, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptMedia(f"cannot open video: {_describe(exc)}") from exc
    try:
        if not container.streams.video:
            raise CorruptMedia("no video stream in the container")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise CorruptMedia("video stream has no frame size")
        if width * height > limits.max_frame_pixels:
            raise MediaTooLarge(
                f"video frame {width}x{height} is over the limit of {limits.max_frame_pixels} pixels"
            )
        rate = stream.average_rate
        if not rate:
            rate = stream.base_rate
        if not rate:
            raise CorruptMedia("video frame rate is unknown")
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        info = VideoInfo(width, height, float(rate), stream.index, int(stream.frames or 0), duration)
        yield container, stream, info
    finally:
        container.close()


def _check_deadline(deadline: float, limits: Limits) -> None:
    if time.monotonic() > deadline:
        raise DecodeTimeout(f"decoding took longer than {limits.max_seconds:g} s")


def _decode_all(container: Any, stream: Any, *, flush: bool, limits: Limits) -> Iterator[Any]:
    """Decoded frames in output order; a damaged packet is skipped, a demuxer error ends
    the stream (the frames still in the decoder are flushed out first)."""
    deadline = time.monotonic() + limits.max_seconds
    codec = stream.codec_context
    packets = container.demux(stream)
    problem: str | None = None
    skipped = 0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:
            problem = _describe(exc)
            if flush:
                with contextlib.suppress(av.error.FFmpegError):
                    yield from codec.decode(None)
            break
        if packet.size == 0 and not flush:
            continue
        try:
            yield from codec.decode(packet)
        except av.error.FFmpegError as exc:
            skipped += 1
            problem = _describe(exc)
        _check_deadline(deadline, limits)
    if problem is not None:
        raise _Damaged(problem, skipped)


class _Damaged(Exception):
    def __init__(self, problem: str, skipped: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.skipped = skipped


def _damage_report(exc: _Damaged, count: int, what: str) -> CorruptMedia:
    extra = f", {exc.skipped} damaged packets skipped" if exc.skipped else ""
    return CorruptMedia(f"video is damaged or truncated: stopped after {count} {what}{extra} ({exc.problem})")


def decoded_frames(
    source: VideoSource,
    want: Any,
    limits: Limits = DEFAULT_LIMITS,
    *,
    frame_threads: bool = True,
) -> Iterator[VideoFrame]:
    """Every frame the decoder outputs, numbered from 0 in output order.

    ``want(info)`` returns a predicate on the frame number: only wanted frames are
    yielded (and so converted to RGB). The end-of-stream flush follows vPDQ: it sends its final empty
    packet with stream index 0, so when the video stream is not stream 0 the frames
    still held in the decoder are never output. We reproduce that (with the same
    slice-only threading, so the same number of frames is held back) because lists
    in the field were made that way. ``frame_threads`` lets FFmpeg decode several
    frames at once (same output); leave it off when other processes fill the cores.
    """
    with open_video(source, limits) as (container, stream, info):
        wanted = want(info)
        flush = info.stream_index == 0
        stream.thread_type = "AUTO" if flush and frame_threads else "SLICE"
        number = 0
        try:
            for frame in _decode_all(container, stream, flush=flush, limits=limits):
                if wanted(number):
                    # vPDQ's timestamp: float32 frame number over float32 frame rate.
                    t = float(np.float32(number) / np.float32(info.fps))
                    yield VideoFrame(number, t, frame)
                number += 1
        except _Damaged as exc:
            raise _damage_report(exc, number, "frames") from None
        if number == 0:
            raise CorruptMedia("no frame could be decoded")
        if flush and info.declared_frames and number < info.declared_frames:
            raise CorruptMedia(f"video is truncated: {number} of {info.declared_frames} frames decoded")


def keyframes(
    source: VideoSource,
    reduce: Callable[[int, int], int],
    limits: Limits = DEFAULT_LIMITS,
    *,
    frame_threads: bool = True,
) -> Iterator[VideoFrame]:
    """Key frames only, converted at 1/``reduce(width, height)`` of their size
    (area interpolation: each pixel the mean of a block)."""
    with open_video(source, limits) as (container, stream, info):
        stream.thread_type = "AUTO" if frame_threads else "SLICE"
        stream.codec_context.skip_frame = "NONKEY"
        scale = reduce(info.width, info.height)
        reduced = (info.width, info.height, scale) if scale > 1 else None
        # Number frames from the stream's start, as exact mode (and vPDQ) count them:
        # MPEG-TS and broadcast captures rarely start at time 0.
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
        count = 0
        number = -1
        try:
            for frame in _decode_all(container, stream, flush=True, limits=limits):
                if frame.time is not None:
                    if start is None:
                        start = float(frame.time)
                    number = max(number + 1, round((float(frame.time) - start) * info.fps))
                else:
                    number += 1
                t = float(np.float32(number) / np.float32(info.fps))
                yield VideoFrame(number, t, frame, reduced)
                count += 1
        except _Damaged as exc:
            raise _damage_report(exc, count, "key frames") from None
        if count == 0:
            raise CorruptMedia("no key frame could be decoded")
