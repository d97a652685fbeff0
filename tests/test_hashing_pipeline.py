"""The one hashing pipeline: a photo or video given as bytes or a stream hashes exactly as from a path."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from PIL import Image

import vigil.evidence.blobs as blobs
from conftest import BUNDLED_REFDATA
from vigil.hashing import FileResult, HashOptions, hash_bytes, hash_file, hash_stream
from vigil.media.sniff import Kind
from vigil.signals.mode import Mode

PHOTO = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"
VIDEO = BUNDLED_REFDATA / "videos/pattern-sd-grey-bar.mp4"


def _same(a: FileResult, b: FileResult) -> None:
    """Every signal, kind, size and error equal (the name aside)."""
    assert dataclasses.replace(a, path="") == dataclasses.replace(b, path="")
    assert a.format == b.format


def _framed_png(tmp_path: Path) -> Path:
    with Image.open(PHOTO) as im:
        framed = Image.new("RGB", (im.width + 200, im.height + 120), "black")
        framed.paste(im.convert("RGB"), (100, 60))
    path = tmp_path / "framed.png"
    framed.save(path)
    return path


@pytest.mark.parametrize("mode", [Mode.EXACT, Mode.FAST])
def test_a_photo_as_bytes_or_a_stream_hashes_as_from_its_path(tmp_path: Path, mode: Mode) -> None:
    options = HashOptions(mode=mode, dihedral=True, variants=True, windows=True, derived=mode is Mode.EXACT)
    for path in (PHOTO, _framed_png(tmp_path)):
        data = path.read_bytes()
        from_path = hash_file(str(path), options)
        assert from_path.kind is Kind.IMAGE and from_path.error is None and from_path.pdq is not None
        assert from_path.pdq_variants and from_path.pdq_windows is not None
        _same(from_path, hash_bytes(data, options, name="upload"))
        _same(from_path, hash_stream(io.BytesIO(data), options, name="upload"))


@pytest.mark.parametrize("mode", [Mode.EXACT, Mode.FAST])
def test_a_video_as_bytes_or_a_stream_hashes_as_from_its_path(mode: Mode) -> None:
    options = HashOptions(mode=mode, video_threads=1)
    data = VIDEO.read_bytes()
    from_path = hash_file(str(VIDEO), options)
    assert from_path.kind is Kind.VIDEO and from_path.error is None and from_path.vpdq
    from_bytes = hash_bytes(data, options)
    assert from_bytes.path == ""
    _same(from_path, from_bytes)
    _same(from_path, hash_stream(io.BytesIO(data), options))


def test_a_stream_too_big_for_memory_is_spooled_and_hashes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs, "IN_MEMORY", 1000)  # the test video is ~100 KB: it goes through a spool file
    options = HashOptions(mode=Mode.EXACT, video_threads=1)
    _same(hash_file(str(VIDEO), options), hash_stream(io.BytesIO(VIDEO.read_bytes()), options))


def test_damaged_content_gives_the_same_rows_whichever_way_it_came(tmp_path: Path) -> None:
    cut_video = VIDEO.read_bytes()[: len(VIDEO.read_bytes()) * 2 // 3]
    cut_photo = PHOTO.read_bytes()[:3000]
    for data in (cut_video, cut_photo, b"", b"just some text\n"):
        path = tmp_path / "x"
        path.write_bytes(data)
        from_path = hash_file(str(path), HashOptions(video_threads=1))
        _same(from_path, hash_bytes(data, HashOptions(video_threads=1)))
        _same(from_path, hash_stream(io.BytesIO(data), HashOptions(video_threads=1)))
        assert from_path.error is not None
    kept = hash_bytes(cut_video, HashOptions(mode=Mode.EXACT, video_threads=1))
    assert kept.vpdq, "the frames hashed before the damage are kept"


def test_a_stream_that_fails_to_read_is_a_row() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            raise OSError(5, "Input/output error")

    result = hash_stream(io.BufferedReader(Broken()), name="upload")
    assert result.kind is Kind.ERROR and result.error == "cannot read: Input/output error"
    assert result.path == "upload"
