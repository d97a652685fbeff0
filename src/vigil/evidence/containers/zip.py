"""Zip archives: members listed from the central directory (at the archive's end: the stream must seek)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from .base import ArchiveLimits, Budget, Member, counted, member_path, too_big, too_many

__all__ = ["ZipContainer"]


class ZipContainer:
    name: ClassVar[str] = "zip"
    formats: ClassVar[tuple[str, ...]] = ("zip",)
    needs_seek: ClassVar[bool] = True

    def recognise(self, head: bytes) -> str | None:
        # A local file header, an empty archive's end record, or a spanned archive's marker.
        return "zip" if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")) else None

    def members(self, container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            yield Member(container, 0, 0, depth, error=f"not a readable zip archive: {exc}")
            return
        with archive:
            for count, info in enumerate(archive.infolist(), 1):
                if info.is_dir():
                    continue
                path = member_path(container, info.filename)
                if count > limits.max_members:
                    yield too_many(container, depth, limits)
                    return
                if info.flag_bits & 0x1:
                    yield Member(path, info.file_size, info.compress_size, depth,
                                 error="encrypted: cannot be read without its password")
                    continue
                if info.file_size > limits.max_member_bytes:
                    yield too_big(path, info.file_size, info.compress_size, depth, limits)
                    continue

                def opener(info: zipfile.ZipInfo = info, path: str = path) -> BinaryIO:
                    return counted(archive.open(info), path, info.compress_size, limits, budget)  # type: ignore[arg-type]

                yield Member(path, info.file_size, info.compress_size, depth, opener)
