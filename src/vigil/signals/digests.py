"""md5, sha1 and sha256: their signal types, and all three computed in one streaming pass, in
constant memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

from .base import HexSignalType

__all__ = ["MD5", "SHA1", "SHA256", "Digests", "DigestAccumulator", "digest_stream", "digest_bytes", "NAMES",
           "CHUNK"]

# Examples: the digests of b"" and b"abc".
MD5 = HexSignalType("md5", 32, ("d41d8cd98f00b204e9800998ecf8427e", "900150983cd24fb0d6963f7d28e17f72"))
SHA1 = HexSignalType("sha1", 40, ("da39a3ee5e6b4b0d3255bfef95601890afd80709",
                                  "a9993e364706816aba3e25717850c26c9cd0d89d"))
SHA256 = HexSignalType("sha256", 64, ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                                      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
NAMES = (MD5.name, SHA1.name, SHA256.name)
CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, str]:
        return {MD5.name: self.md5, SHA1.name: self.sha1, SHA256.name: self.sha256}


class DigestAccumulator:
    """Feed bytes in any chunks; read all three digests at the end."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def result(self) -> Digests:
        return Digests(self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest(), self.size)


def digest_stream(stream: IO[bytes]) -> Digests:
    """Read ``stream`` to its end once, in 1 MiB chunks, and return its digests."""
    acc = DigestAccumulator()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = stream.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        acc.update(view[:n])
    return acc.result()


def digest_bytes(data: bytes) -> Digests:
    acc = DigestAccumulator()
    acc.update(data)
    return acc.result()
