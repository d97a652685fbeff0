"""Tar archives, read as a stream in one pass (no seeking): plain here, compressed ones through
:mod:`.compressed`, which hands the tar it finds inside to :func:`tar_members`."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from ...errors import MemberUnreadable
from .base import ArchiveLimits, Budget, Member, counted, member_path, too_big, too_many

__all__ = ["NOT_A_TAR", "TarContainer", "open_tar", "tar_members"]

# What tarfile raises for a stream that holds no tar (or a damaged one).
NOT_A_TAR = (tarfile.TarError, OSError, EOFError)


def open_tar(stream: BinaryIO) -> tarfile.TarFile:
    """The tar in ``stream``, any compression, in stream mode ("r|*": one pass, members in order);
    raises one of ``NOT_A_TAR`` when there is none."""
    return tarfile.open(fileobj=stream, mode="r|*")


class TarContainer:
    name: ClassVar[str] = "tar"
    formats: ClassVar[tuple[str, ...]] = ("tar",)
    needs_seek: ClassVar[bool] = False

    def recognise(self, head: bytes) -> str | None:
        return "tar" if len(head) >= 262 and head[257:262] == b"ustar" else None

    def members(self, container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
        try:
            archive = open_tar(stream)
        except NOT_A_TAR as exc:
            yield Member(container, 0, 0, depth, error=f"not a readable {fmt} archive: {exc}")
            return
        yield from tar_members(container, archive, limits, depth, budget)


def tar_members(container: str, archive: tarfile.TarFile, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
    """The members of an open tar (closed at the end); links and special files are rows, not followed."""
    count = 0
    with archive:
        while True:
            try:
                info = archive.next()
            except NOT_A_TAR as exc:
                yield Member(container, 0, 0, depth, error=f"the archive is damaged after {count} members: {exc}")
                return
            if info is None:
                return
            count += 1
            if count > limits.max_members:
                yield too_many(container, depth, limits)
                return
            path = member_path(container, info.name)
            if info.isdir():
                continue
            if info.issym() or info.islnk():
                yield Member(path, 0, 0, depth, error=f"a link inside the archive (to {info.linkname!r}): not followed")
                continue
            if not info.isfile():
                yield Member(path, 0, 0, depth, error="not a regular file inside the archive")
                continue
            if info.size > limits.max_member_bytes:
                yield too_big(path, info.size, info.size, depth, limits)
                continue

            def opener(info: tarfile.TarInfo = info, path: str = path) -> BinaryIO:
                raw = archive.extractfile(info)
                if raw is None:
                    raise MemberUnreadable(path, "has no data (not a regular file inside the archive)")
                # A tar member is stored, not compressed: its declared size bounds it. The whole
                # stream's expansion is bounded by the archive budget.
                return counted(raw, path, 0, limits, budget)  # type: ignore[arg-type]

            yield Member(path, info.size, info.size, depth, opener)
