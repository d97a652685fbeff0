from __future__ import annotations

import hashlib
import io
import os

from vigil.signals.digests import CHUNK, digest_bytes, digest_stream


def test_known_vectors() -> None:
    d = digest_bytes(b"abc")
    assert d.md5 == "900150983cd24fb0d6963f7d28e17f72"
    assert d.sha1 == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert d.size == 3


def test_streaming_equals_one_shot_across_chunk_boundaries() -> None:
    data = os.urandom(3 * CHUNK + 12345)
    d = digest_stream(io.BytesIO(data))
    assert (d.md5, d.sha1, d.sha256, d.size) == (
        hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest(), len(data))


class _CountingReader(io.RawIOBase):
    """A 'file' of many chunks that never exists in memory at once."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        n = min(len(buf), self.left)
        buf[:n] = b"\x5a" * n
        self.left -= n
        self.largest_read = max(self.largest_read, n)
        return n


def test_reads_in_bounded_chunks() -> None:
    reader = _CountingReader(64 * CHUNK)
    d = digest_stream(reader)  # type: ignore[arg-type]
    assert d.size == 64 * CHUNK
    assert reader.largest_read <= CHUNK
    assert d.sha256 == hashlib.sha256(b"\x5a" * (64 * CHUNK)).hexdigest()
