"""Compressed streams (gzip, bzip2, xz): a tar inside is read as a tar (:mod:`.tar`); a stream that
holds no tar (``notes.txt.gz``) is one member, the stream decompressed, named after the container.

Whether a tar is inside cannot be told from the first bytes of the compressed stream, so tarfile
is asked first, as it reads the stream; only when it cannot open it is the stream one member.
The formats keep the names reports have always given them ("tar.gz" …): they say the stream
may hold a tar.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Callable, Iterator
from typing import BinaryIO, ClassVar

from .base import SEP, ArchiveLimits, Budget, Member, counted, member_path
from .tar import NOT_A_TAR, open_tar, tar_members

__all__ = ["CompressedContainer"]


def _gzip(stream: BinaryIO) -> BinaryIO:
    return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]


def _bzip2(stream: BinaryIO) -> BinaryIO:
    return bz2.BZ2File(stream)  # type: ignore[return-value]


def _xz(stream: BinaryIO) -> BinaryIO:
    return lzma.LZMAFile(stream)  # type: ignore[return-value]


# Per format: its decompressing reader, and the endings of a compressed file's name: the member is
# the name without it (".tgz" and the like stand for ".tar.gz": the member is then named ".tar").
_FORMATS: dict[str, tuple[Callable[[BinaryIO], BinaryIO], tuple[str, ...]]] = {
    "tar.gz": (_gzip, (".gz", ".tgz")),
    "tar.bz2": (_bzip2, (".bz2", ".tbz2", ".tbz")),
    "tar.xz": (_xz, (".xz", ".txz")),
}


class CompressedContainer:
    name: ClassVar[str] = "compressed"
    formats: ClassVar[tuple[str, ...]] = tuple(_FORMATS)
    needs_seek: ClassVar[bool] = False  # a tar inside streams; a single member needs a rewind (else a row)

    def recognise(self, head: bytes) -> str | None:
        if head.startswith(b"\x1f\x8b"):
            return "tar.gz"
        if head.startswith(b"BZh") and head[3:4].isdigit():
            return "tar.bz2"
        if head.startswith(b"\xfd7zXZ\x00"):
            return "tar.xz"
        return None

    def members(self, container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
        try:
            archive = open_tar(stream)
        except NOT_A_TAR as exc:
            if stream.seekable():
                yield _single_member(container, stream, fmt, limits, depth, budget)
            else:
                yield Member(container, 0, 0, depth, error=f"not a readable {fmt} archive: {exc}")
            return
        yield from tar_members(container, archive, limits, depth, budget)


def _single_member(container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                   budget: Budget) -> Member:
    base = container.rsplit(SEP, 1)[-1].rsplit("/", 1)[-1]
    name = base
    decompressed, suffixes = _FORMATS[fmt]
    for suffix in suffixes:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            name = base[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        name = base + ".decompressed"
    path = member_path(container, name)
    compressed = _stream_size(stream)

    def opener() -> BinaryIO:
        stream.seek(0)
        return counted(decompressed(stream), path, compressed, limits, budget)

    return Member(path, 0, compressed, depth, opener)


def _stream_size(stream: BinaryIO) -> int:
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end
