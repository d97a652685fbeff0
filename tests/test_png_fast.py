"""The fast PNG path (media/_png.py): Pillow's pixels, reduced as Pillow reduces them, for every row
filter; and it declines (so that libspng or Pillow decides) whatever it does not handle exactly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from vigil.errors import CorruptMedia
from vigil.media._png import decode_png_rgb
from vigil.media.photo import load_rgb


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _filtered(pixels: np.ndarray, kinds: list[int]) -> bytes:
    """PNG's filtered scanlines of ``pixels`` (h x w x channels), row y filtered with kinds[y % len]."""
    h, w, bpp = pixels.shape
    rows = pixels.reshape(h, w * bpp).astype(np.int64)
    out = bytearray()
    for y in range(h):
        kind = kinds[y % len(kinds)]
        cur = rows[y]
        up = rows[y - 1] if y else np.zeros_like(cur)
        left = np.concatenate([np.zeros(bpp, np.int64), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int64), up[:-bpp]])
        if kind == 0:
            pred = np.zeros_like(cur)
        elif kind == 1:
            pred = left
        elif kind == 2:
            pred = up
        elif kind == 3:
            pred = (left + up) // 2
        else:
            pred = np.array([_paeth(int(a), int(b), int(c)) for a, b, c in zip(left, up, upleft, strict=True)])
        out.append(kind)
        out += ((cur - pred) % 256).astype(np.uint8).tobytes()
    return bytes(out)


def _png(pixels: np.ndarray, kinds: list[int], *, depth: int = 8, interlace: int = 0) -> bytes:
    h, w, bpp = pixels.shape
    colour = {3: 2, 4: 6}[bpp]
    header = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)
    data = zlib.compress(_filtered(pixels, kinds), 6)
    # The stream split over two IDAT chunks, with an ancillary chunk before them, as encoders do.
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"gAMA", struct.pack(">I", 45455))
            + _chunk(b"IDAT", data[:len(data) // 2]) + _chunk(b"IDAT", data[len(data) // 2:]) + _chunk(b"IEND", b""))


def _pillow(data: bytes, reduce: int) -> np.ndarray:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return np.asarray(image.reduce(reduce) if reduce > 1 else image)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("kinds", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4, 4, 2]],
                         ids=lambda k: "f" + "".join(map(str, k)))
def test_every_row_filter_gives_pillows_pixels_at_every_reduction(channels: int, kinds: list[int]) -> None:
    rng = np.random.default_rng(len(kinds) * 10 + kinds[0] + channels)
    # Smooth and noisy parts (filters predict well and badly), and a size no reduction divides.
    h, w = 37, 53
    ramp = (np.add.outer(np.arange(h), 3 * np.arange(w)) % 256).astype(np.uint8)
    pixels = np.stack([ramp, ramp[::-1], rng.integers(0, 256, (h, w), dtype=np.uint8),
                       rng.integers(0, 256, (h, w), dtype=np.uint8)], axis=-1)[..., :channels]
    data = _png(np.ascontiguousarray(pixels), kinds)
    for reduce in (1, 2, 4, 8):
        got = decode_png_rgb(data, reduce)
        assert got is not None
        assert np.array_equal(got, _pillow(data, reduce)), (kinds, channels, reduce)


def test_a_photo_png_from_pillows_encoder_decodes_to_pillows_pixels() -> None:
    rng = np.random.default_rng(3)
    base = np.asarray(Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).resize((401, 299)))
    out = io.BytesIO()
    Image.fromarray(base).save(out, "PNG")
    for reduce in (1, 4):
        assert np.array_equal(decode_png_rgb(out.getvalue(), reduce), _pillow(out.getvalue(), reduce))


def _pixels() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)


def _bad_crc(data: bytes) -> bytes:
    at = data.index(b"IDAT") + 10  # a byte inside the first IDAT payload
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


@pytest.mark.parametrize("make", [
    lambda: _png(_pixels(), [1])[:-30],  # truncated
    lambda: _bad_crc(_png(_pixels(), [1])),  # a chunk's checksum wrong
    lambda: _png(_pixels(), [1], interlace=1),  # Adam7: not this path's
    lambda: _png(_pixels()[:, :20], [1])[:33] + _png(_pixels(), [1])[33:],  # more data than the header says
], ids=["truncated", "bad-crc", "interlaced", "size-mismatch"])
def test_the_fast_path_declines_what_it_does_not_handle_exactly(make: object) -> None:
    assert decode_png_rgb(make()) is None  # type: ignore[operator]


@pytest.mark.parametrize("mode", ["L", "P", "LA", "I;16"])
def test_other_colour_types_are_left_to_the_usual_decoders(mode: str) -> None:
    out = io.BytesIO()
    Image.fromarray(_pixels()).convert(mode).save(out, "PNG")
    assert decode_png_rgb(out.getvalue()) is None
    assert np.array_equal(load_rgb(out.getvalue()), _pillow(out.getvalue(), 1))


def test_a_damaged_png_is_still_corrupt_media_in_pillows_words() -> None:
    import numba  # noqa: F401  (loaded, as in a scan: the fast path is tried first)

    with pytest.raises(CorruptMedia):
        load_rgb(_bad_crc(_png(_pixels(), [1])))
