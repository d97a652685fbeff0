"""md5, sha1 and sha256 in one streaming pass, in constant memory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

__all__ = ["Digests", "DigestAccumulator", "digest_stream", "digest_bytes", "NAMES", "CHUNK"]

NAMES = ("md5", "sha1", "sha256")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Digests:
    md5: str
    sha1: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, str]:
        return {"md5": self.md5, "sha1": self.sha1, "sha256": self.sha256}


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
