"""Small pictures of hits, for the people who review them: one per photo, a strip of frames per video.

Made by the worker that found the hit, for hits only (the least media kept): a photo's from the
pixels it decoded to hash them, a video's from its key frames. They are stored in the case
database and embedded in ``report.html``, where they stay blurred and greyscale until the
examiner chooses to reveal one. JPEG at fixed settings, so the same evidence gives
byte-identical pictures.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps

from ..errors import MediaError
from .limits import Limits
from .photo import open_photo, pillow_errors
from .video import VideoSource, keyframes

__all__ = ["photo_thumbnail", "pixels_thumbnail", "video_strip", "STRIP_FRAMES", "FRAME_HEIGHT", "PHOTO_BOX"]

PHOTO_BOX = 320
FRAME_HEIGHT = 120
STRIP_FRAMES = 5


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=70, optimize=False, progressive=False)
    return out.getvalue()


_TRANSPOSE = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
              4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_270],
              7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}


def pixels_thumbnail(pixels: np.ndarray, orientation: int = 1) -> bytes:
    """A thumbnail from pixels already decoded (for hashing), turned as EXIF says a viewer shows them."""
    picture = Image.fromarray(pixels)
    for step in _TRANSPOSE.get(orientation, []):
        picture = picture.transpose(step)
    picture.thumbnail((PHOTO_BOX, PHOTO_BOX), Image.Resampling.LANCZOS)
    return _jpeg(picture)


def photo_thumbnail(source: bytes | str, limits: Limits) -> bytes:
    """A thumbnail of a photo given as its bytes or its path."""
    with open_photo(io.BytesIO(source) if isinstance(source, bytes) else source, limits) as image, pillow_errors():
        image.draft("RGB", (PHOTO_BOX, PHOTO_BOX))  # JPEG: decoded at the smallest scale that still covers the box
        shown = ImageOps.exif_transpose(image) or image
        shown.thumbnail((PHOTO_BOX, PHOTO_BOX), Image.Resampling.LANCZOS)
        return _jpeg(shown)


def video_strip(source: VideoSource, limits: Limits) -> tuple[bytes, int]:
    """A strip of up to STRIP_FRAMES key frames spread over the video, and how many it holds."""
    kept: list[Image.Image] = []
    stride = 1
    frames = keyframes(source, lambda w, h: max(1, min(w, h) // (FRAME_HEIGHT * 2)), limits, frame_threads=False)
    for seen, frame in enumerate(frames):
        if seen % stride == 0:
            picture = Image.fromarray(frame.rgb())
            picture.thumbnail((FRAME_HEIGHT * 4, FRAME_HEIGHT), Image.Resampling.LANCZOS)
            kept.append(picture)
            if len(kept) >= 4 * STRIP_FRAMES:  # keep the memory small: thin out evenly
                kept = kept[::2]
                stride *= 2
    if not kept:
        raise MediaError("no frame could be decoded for the thumbnail")
    step = len(kept) / min(STRIP_FRAMES, len(kept))
    chosen = [kept[int(i * step)] for i in range(min(STRIP_FRAMES, len(kept)))]
    strip = Image.new("RGB", (sum(p.width for p in chosen) + 4 * (len(chosen) - 1), FRAME_HEIGHT), (0, 0, 0))
    x = 0
    for picture in chosen:
        strip.paste(picture, (x, (FRAME_HEIGHT - picture.height) // 2))
        x += picture.width + 4
    return _jpeg(strip), len(chosen)
