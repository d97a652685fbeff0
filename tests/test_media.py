"""Kind by content; every photo format the hashing core promises decodes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BUNDLED_REFDATA
from vigil import Kind, Mode, hash_file
from vigil.errors import CorruptMedia, MediaTooLarge
from vigil.media.limits import Limits
from vigil.media.photo import load_rgb
from vigil.media.sniff import sniff
from vigil.signals import pdq

PHOTO = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"


@pytest.mark.parametrize(
    "head,kind,fmt",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", Kind.IMAGE, "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", Kind.IMAGE, "png"),
        (b"GIF89a\x01\x00", Kind.IMAGE, "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", Kind.IMAGE, "webp"),
        (b"BM" + bytes(40), Kind.IMAGE, "bmp"),
        (b"II*\x00\x08\x00\x00\x00", Kind.IMAGE, "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", Kind.IMAGE, "tiff"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", Kind.IMAGE, "heif"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", Kind.IMAGE, "heif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00", Kind.VIDEO, "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", Kind.VIDEO, "quicktime"),
        (b"\x1a\x45\xdf\xa3\x01\x00", Kind.VIDEO, "matroska"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", Kind.VIDEO, "avi"),
        (b"hello, world\n", Kind.OTHER, "text"),
        (b"\x00\x01\x02\x03\xfe\xff", Kind.OTHER, "data"),
        (b"", Kind.OTHER, "empty"),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, kind: Kind, fmt: str) -> None:
    got = sniff(head)
    assert (got.kind, got.format) == (kind, fmt)


def test_jpeg_with_a_misleading_name_is_a_photo(tmp_path: Path) -> None:
    target = tmp_path / "invoice.dat"
    target.write_bytes(PHOTO.read_bytes())
    result = hash_file(str(target))
    assert result.kind is Kind.IMAGE and result.error is None
    assert result.pdq == pdq.hash_photo(PHOTO, mode=Mode.FAST)


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF"])
def test_each_photo_format_hashes_close_to_the_jpeg_original(tmp_path: Path, fmt: str) -> None:
    original = Image.open(PHOTO).convert("RGB")
    if fmt == "HEIF":  # to write the sample; Vigil loads pillow-heif itself when a HEIF turns up
        import pillow_heif

        pillow_heif.register_heif_opener()
    kwargs: dict[str, object] = {"quality": 95} if fmt in ("WEBP", "HEIF") else {}
    path = tmp_path / "photo.bin"  # no extension: the content decides
    path.write_bytes(_encode(original, fmt, **kwargs))
    result = hash_file(str(path))
    assert result.kind is Kind.IMAGE and result.error is None, result.error
    assert result.pdq is not None
    reference = pdq.hash_rgb(np.asarray(original))
    assert pdq.distance(result.pdq.hash, reference.hash) <= 24, fmt


def test_animated_gif_hashes_its_first_frame(tmp_path: Path) -> None:
    first = Image.open(PHOTO).convert("RGB")
    second = first.transpose(Image.Transpose.ROTATE_180)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    got = hash_file(str(path)).pdq
    assert got is not None
    assert pdq.distance(got.hash, pdq.hash_rgb(np.asarray(first)).hash) < pdq.distance(
        got.hash, pdq.hash_rgb(np.asarray(second)).hash)


def test_pixel_limit_applies_before_decoding() -> None:
    with pytest.raises(MediaTooLarge, match="512x512"):
        load_rgb(PHOTO, Limits(max_pixels=512 * 511))


def test_garbage_after_a_jpeg_header_is_corrupt_media() -> None:
    with pytest.raises(CorruptMedia):
        load_rgb(PHOTO.read_bytes()[:400] + bytes(200))


@pytest.mark.parametrize("reduce", [2, 4, 8])
def test_reduced_decoding_gives_block_means(reduce: int) -> None:
    path = BUNDLED_REFDATA / "pdq-images/bridge-mods/blur-a-lot.jpg"  # 1600x1004 JPEG: DCT scaling
    rgb = load_rgb(path, reduce=reduce)
    assert rgb.shape == (-(-1004 // reduce), -(-1600 // reduce), 3)
    full = load_rgb(path).astype(np.float64)
    means = full[: 1000 // reduce * reduce, : 1600 // reduce * reduce].reshape(
        1000 // reduce, reduce, 1600 // reduce, reduce, 3).mean(axis=(1, 3))
    assert np.abs(rgb[: 1000 // reduce, : 1600 // reduce] - means).mean() < 3.0
    png = io.BytesIO()
    Image.fromarray(full.astype(np.uint8)).save(png, "PNG")  # no DCT scaling: box reduction
    assert load_rgb(png.getvalue(), reduce=reduce).shape == rgb.shape


def test_reduce_must_be_a_dct_scale() -> None:
    with pytest.raises(ValueError):
        load_rgb(PHOTO, reduce=3)


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        Limits(max_pixels=0)


def test_a_fifo_is_not_opened_for_reading(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = hash_file(str(fifo))  # must not block waiting for a writer
    assert result.kind is Kind.ERROR and result.error == "not a regular file"


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
@pytest.mark.parametrize("reduce", [1, 4])
def test_png_decoding_paths_agree_with_pillow(mode: str, reduce: int) -> None:
    """8-bit RGB(A) PNGs go through libspng; every PNG must decode to Pillow's pixels."""
    original = Image.open(PHOTO).convert("RGB").resize((700, 500))
    image = original.convert(mode) if mode != "RGBA" else original.copy()
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    data = _encode(image, "PNG")
    expected = Image.open(io.BytesIO(data)).convert("RGB")
    if reduce > 1:
        expected = expected.reduce(reduce)
    assert np.array_equal(load_rgb(data, reduce=reduce), np.asarray(expected))


def test_truncated_png_is_corrupt_media_whichever_decoder_sees_it() -> None:
    data = _encode(Image.open(PHOTO).convert("RGB"), "PNG")
    with pytest.raises(CorruptMedia, match="truncated"):
        load_rgb(data[: len(data) // 2])


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((side, side, 3), 50, np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("data", [PHOTO.read_bytes()[:5000], _png(300)[:200]], ids=["jpeg", "png"])
def test_a_thumbnail_of_a_truncated_photo_is_a_media_error_not_pillows(data: bytes) -> None:
    from vigil.media.thumbs import photo_thumbnail

    with pytest.raises(CorruptMedia, match="photo cannot be decoded: image file is truncated"):
        photo_thumbnail(data, Limits())


def test_a_video_frame_pyav_cannot_convert_is_a_media_error() -> None:
    import av.error

    from vigil.media.video import VideoFrame

    class Frame:
        def to_ndarray(self, **_: object) -> np.ndarray:
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    with pytest.raises(CorruptMedia, match="video frame 7 cannot be converted to RGB: Invalid data found"):
        VideoFrame(7, 0.25, Frame()).rgb()


def test_threads_opening_photos_with_different_limits_each_get_their_own_answer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pillow's pixel limit is one setting for the whole process: open_photo never changes it, so two
    threads inside Image.open at once (held there together) each get the answer of their own limit."""
    import threading

    from helpers import write_huge_png
    from vigil.media import photo

    big = tmp_path / "big.png"
    write_huge_png(big, 15_000, 15_000)  # 225 MP: over twice Pillow's default limit, which would refuse it
    before = Image.MAX_IMAGE_PIXELS
    both_inside = threading.Barrier(2, timeout=10)
    seen: list[int | None] = []
    real_open = Image.open

    def held_open(*args: object, **kwargs: object) -> Image.Image:
        seen.append(Image.MAX_IMAGE_PIXELS)
        both_inside.wait()
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(photo.Image, "open", held_open)
    answers: dict[str, object] = {}

    def open_with(name: str, limit: int) -> None:
        try:
            with photo.open_photo(big, Limits(max_pixels=limit)) as image:
                answers[name] = image.size
        except MediaTooLarge as exc:
            answers[name] = exc

    threads = [threading.Thread(target=open_with, args=("strict", 1_000_000)),
               threading.Thread(target=open_with, args=("generous", 300_000_000))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(answers["strict"], MediaTooLarge) and "over the limit of 1 MP" in str(answers["strict"])
    assert answers["generous"] == (15_000, 15_000)
    assert seen == [before, before] and before == Image.MAX_IMAGE_PIXELS
