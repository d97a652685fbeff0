"""Photo decoding with Pillow (+ pillow-heif for phone photos), limits first.

The pixel count is read from the header and checked before a single pixel is
decoded, so a 30000x30000 PNG costs a few kilobytes of reading, not gigabytes.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import CorruptMedia, MediaTooLarge
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["open_photo", "load_rgb", "FAST_MIN_SIDE"]

import pillow_heif

pillow_heif.register_heif_opener()  # HEIF/HEIC (phones) and AVIF

FAST_MIN_SIDE = 256  # fast mode decodes until the shorter side is at least this

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
                  EOFError, IndexError, TypeError, KeyError, ZeroDivisionError)


def open_photo(source: str | os.PathLike[str] | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Image.Image:
    """Open a photo and check its size from the header; nothing is decoded yet."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    try:
        # Our own limit applies (below), with a message that names the size.
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(source)
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"cannot read photo header: {exc}") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptMedia(f"photo has no pixels ({width}x{height})")
    if width * height > limits.max_pixels:
        image.close()
        raise MediaTooLarge(
            f"photo {width}x{height} ({width * height / 1e6:.0f} MP) is over the limit of "
            f"{limits.max_pixels / 1e6:.0f} MP; refused before decoding"
        )
    return image


def _reduced(image: Image.Image, min_side: int) -> Image.Image:
    """Decode at reduced size: JPEG DCT scaling (1/2, 1/4, 1/8), else a box reduction."""
    width, height = image.size
    if min(width, height) < 2 * min_side:
        return image
    factor = min(width, height) / min_side
    if image.format == "JPEG":
        image.draft("RGB", (int(width / factor) + 1, int(height / factor) + 1))
        return image
    k = int(factor)
    rgb = image.convert("RGB")  # reduce() needs a continuous-tone mode (not palette or 1-bit)
    return rgb.reduce(k) if k >= 2 else rgb


def load_rgb(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    min_side: int | None = None,
) -> np.ndarray:
    """Decode a photo's first frame to an RGB uint8 array (height x width x 3).

    Like the PDQ reference, the pixels are Pillow's ``convert("RGB")`` of the stored
    image, without applying EXIF orientation. ``min_side`` asks for a reduced-size
    decode whose shorter side stays at least that long (fast mode).
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    image = open_photo(source, limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # palette transparency notes and the like
            if min_side is not None:
                image = _reduced(image, min_side)
            rgb = image.convert("RGB")
        return np.asarray(rgb)
    except MemoryError as exc:
        raise MediaTooLarge("photo does not fit in memory") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"photo cannot be decoded: {exc}") from exc
    finally:
        image.close()
