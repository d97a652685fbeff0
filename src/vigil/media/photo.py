"""Photo decoding with Pillow (+ pillow-heif for phone photos), limits first.

The pixel count is read from the header and checked before a single pixel is
decoded, so a 30000x30000 PNG costs a few kilobytes of reading, not gigabytes.

Vigil's limit (``Limits.max_pixels``, per call) replaces Pillow's own, which is a process-wide
setting (``Image.MAX_IMAGE_PIXELS``): it is switched off once, here, when this module is imported.
Setting it around each call, as before, raced once threads decode: one thread's restore could undo
another's, so Pillow's check fired or not by timing, and the setting could stay changed.

pillow-heif joins Pillow when the first photo Pillow cannot identify turns up (a HEIF, an AVIF),
not at import: most runs never see one.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import CorruptMedia, InvalidValue, MediaTooLarge
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["open_photo", "load_rgb", "decode_rgb", "pillow_errors"]

Image.MAX_IMAGE_PIXELS = None  # Limits.max_pixels applies instead (above)

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError,
                  EOFError, IndexError, TypeError, KeyError, ZeroDivisionError)


@contextmanager
def pillow_errors() -> Iterator[None]:
    """Pillow's complaints while it decodes, as Vigil's: a photo that Pillow cannot decode is
    CorruptMedia, one that does not fit in memory MediaTooLarge; Pillow's own exceptions never
    reach the caller (they are many, and say nothing of the file)."""
    try:
        yield
    except MemoryError as exc:
        raise MediaTooLarge("photo does not fit in memory") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"photo cannot be decoded: {exc}") from exc


@functools.cache
def _register_heif() -> bool:
    """Teach Pillow HEIF/HEIC (phones) and AVIF, once per process; True once done."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return True


def _open(source: str | os.PathLike[str] | BinaryIO) -> Image.Image:
    try:
        return Image.open(source)
    except UnidentifiedImageError:
        if _register_heif.cache_info().currsize:
            raise  # pillow-heif had its say already
        _register_heif()
        return Image.open(source)  # Pillow reads a stream from its start again


def open_photo(source: str | os.PathLike[str] | BinaryIO, limits: Limits = DEFAULT_LIMITS) -> Image.Image:
    """Open a photo and check its size from the header; nothing is decoded yet."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = _open(source)
    except Image.DecompressionBombError as exc:  # only if the process set Pillow's limit again
        raise MediaTooLarge(f"Pillow's own pixel limit (set in this process) refused the photo: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise CorruptMedia(f"cannot read photo header: {exc}") from exc
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


def _png_fast(image: Image.Image, reduce: int) -> np.ndarray | None:
    """8-bit RGB(A) PNGs without Pillow: the same pixels (reduced as ``Image.reduce`` reduces them),
    two to three times as fast.

    Only where the decoders agree by construction (8 bits per channel, RGB or RGBA, whose alpha
    ``convert("RGB")`` drops). Once numba is loaded (a scan, a long run: ``signals.pdq.warm_up``),
    libdeflate and a numba kernel decode and reduce in one pass (``_png``); else, or where that path
    declines, libspng decodes. Anything else, or any complaint, returns None and Pillow decodes (and
    reports damage in its usual words).
    """
    fp = getattr(image, "fp", None)  # the file Pillow opened (still open until load)
    if image.format != "PNG" or image.mode not in ("RGB", "RGBA") or fp is None:
        return None
    fp.seek(0)
    data = fp.read()
    if "numba" in sys.modules:  # a lone PNG does not wait 0.4 s for numba to load
        from ._png import decode_png_rgb

        pixels = decode_png_rgb(data, reduce)
        if pixels is not None:
            return pixels
    pixels = _png_with_spng(data, image.width, image.height)
    if pixels is None or reduce == 1:
        return pixels
    return np.asarray(Image.fromarray(pixels).reduce(reduce))


def _png_with_spng(data: bytes, width: int, height: int) -> np.ndarray | None:
    """The RGB pixels of an 8-bit RGB(A) PNG through libspng, or None when it complains."""
    try:
        import pyspng  # with the first PNG: most runs are JPEGs
    except ImportError:  # pragma: no cover - a declared dependency; Pillow decodes PNGs without it
        return None
    try:
        pixels = pyspng.load(data)
    except (RuntimeError, ValueError, OSError):  # libspng says little; Pillow gives the verdict
        return None
    if pixels.ndim != 3 or pixels.shape[:2] != (height, width) or pixels.dtype != np.uint8:
        return None
    return np.ascontiguousarray(pixels[:, :, :3])


def _convert_reduced(image: Image.Image, reduce: int) -> Image.Image:
    """RGB at ceil(W/reduce) x ceil(H/reduce): JPEG DCT scaling where it applies (the
    costly full-size inverse DCT and colour conversion are skipped), then box means."""
    width, height = image.size
    if reduce > 1 and image.format == "JPEG":
        # Pillow picks the largest DCT scale whose output is at least the size asked for.
        image.draft("RGB", (max(1, width // reduce), max(1, height // reduce)))
    image.load()
    rgb = image if image.mode == "RGB" else image.convert("RGB")  # no needless copy
    done = next((k for k in (8, 4, 2) if -(-width // k) == rgb.width and -(-height // k) == rgb.height), 1)
    rest = reduce // done
    return rgb.reduce(rest) if rest > 1 else rgb


def load_rgb(
    source: str | os.PathLike[str] | BinaryIO | bytes,
    limits: Limits = DEFAULT_LIMITS,
    *,
    reduce: int = 1,
) -> np.ndarray:
    """Decode a photo's first frame to an RGB uint8 array (height x width x 3).

    Like the PDQ reference, the pixels are Pillow's ``convert("RGB")`` of the stored
    image, without applying EXIF orientation. See :func:`decode_rgb` for ``reduce``.
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    return decode_rgb(open_photo(source, limits), reduce=reduce)


def decode_rgb(image: Image.Image, *, reduce: int = 1) -> np.ndarray:
    """Decode a photo from :func:`open_photo` (and close it).

    ``reduce`` (1, 2, 4 or 8) returns the photo at ceil(W/reduce) x ceil(H/reduce),
    each pixel the mean of a block, decoding JPEGs at that scale directly.
    """
    if reduce not in (1, 2, 4, 8):
        image.close()
        raise InvalidValue(f"reduce must be 1, 2, 4 or 8, not {reduce}")
    try:
        with pillow_errors():
            fast_png = _png_fast(image, reduce)
            if fast_png is not None:
                return fast_png
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # palette transparency notes and the like
                rgb = _convert_reduced(image, reduce)
            return np.asarray(rgb)
    finally:
        image.close()
