"""Archives opened in place: the members of zip, 7z and tar files (plain, gz, bz2, xz), read as streams.

Nothing is ever extracted to disk, so a member named ``../../x`` or ``/etc/passwd`` is only a
name: it is reported under its container's path, ``!/``, and the name as the archive gives it
(``case/backup.zip!/inner/a.jpg``; nesting repeats the separator, DESIGN.md). The kind of a
file is decided from its first bytes, never from its name.

Archives are hostile input. Every member is read through a counter that stops it at the
limits (:class:`ArchiveLimits`): a member may not grow past ``max_member_bytes``, nor past
``max_ratio`` times its compressed size (the usual zip bomb) once it is over
``ratio_floor_bytes``; an archive may not hold more than ``max_members`` members nor expand
past ``max_archive_bytes``; archives nest at most ``max_depth`` deep. A member that breaks a
limit, is encrypted, or cannot be read becomes a :class:`Member` with an ``error`` and the
walk goes on; only an archive that cannot be opened at all ends its own walk (with one such
row).
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = [
    "SEP", "ArchiveLimits", "LimitExceeded", "Member", "MemberError", "MemberUnreadable", "archive_format",
    "iter_members", "member_path",
]

SEP = "!/"


@dataclass(frozen=True)
class ArchiveLimits:
    max_depth: int = 4  # archives inside archives: the outermost is depth 1
    max_member_bytes: int = 64 << 30
    max_ratio: float = 200.0  # expanded / compressed, for members past ratio_floor_bytes
    ratio_floor_bytes: int = 16 << 20
    max_members: int = 1_000_000
    max_archive_bytes: int = 1 << 40


class MemberError(Exception):
    """Reading a member failed; the message names the member and why. The walk can go on."""


class LimitExceeded(MemberError):
    """A member or archive expanded past a limit (the message says which)."""


class MemberUnreadable(MemberError):
    """A member's data is damaged or cut short."""


# What the standard library's archive and decompression readers raise on damaged data.
_DAMAGED = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


def member_path(container: str, name: str) -> str:
    return f"{container}{SEP}{name}"


def archive_format(head: bytes) -> str | None:
    """"zip", "7z", "tar", "tar.gz", "tar.bz2", "tar.xz" (a compressed stream that may hold a tar), or None."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"  # a gzip stream: a tar inside, or else a single compressed file
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "tar.bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "tar.xz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


@dataclass
class Member:
    """One member of an archive: a path for the report, and a way to read it (unless ``error``)."""

    path: str
    size: int  # as the archive declares it (0 when it does not say)
    compressed_size: int
    depth: int
    opener: Callable[[], BinaryIO] | None = None
    error: str | None = None

    def open(self) -> BinaryIO:
        """A stream of the member's bytes; reading raises LimitExceeded at the limits and
        MemberUnreadable on damaged data (both MemberError)."""
        if self.opener is None:
            raise RuntimeError(f"{self.path} cannot be read: {self.error}")
        try:
            return self.opener()
        except NotImplementedError as exc:  # zipfile: a compression method it does not know (deflate64 …)
            raise MemberUnreadable(f"{self.path}: {exc}") from exc
        except _DAMAGED as exc:
            raise MemberUnreadable(f"{self.path} is damaged: {exc}") from exc


class _Counted(io.RawIOBase):
    """Reads a member and raises LimitExceeded the moment it expands past what is allowed."""

    def __init__(self, raw: BinaryIO, path: str, limit: int, ratio_limit: int | None, budget: list[int]) -> None:
        self._raw = raw
        self._path = path
        self._limit = limit
        self._ratio_limit = ratio_limit
        self._budget = budget  # shared by the archive's members: bytes it may still expand to
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(buffer))
        except _DAMAGED as exc:
            raise MemberUnreadable(f"{self._path} is damaged or cut short: {exc}") from exc
        n = len(data)
        self.count += n
        self._budget[0] -= n
        if self.count > self._limit:
            raise LimitExceeded(f"{self._path} expands past {self._limit:,} bytes (a decompression bomb?)")
        if self._ratio_limit is not None and self.count > self._ratio_limit:
            raise LimitExceeded(f"{self._path} expands past {self._ratio_limit:,} bytes, over the ratio limit "
                                "to its compressed size (a zip bomb?)")
        if self._budget[0] < 0:
            raise LimitExceeded(f"{self._path}: the archive expands past its size limit (a decompression bomb?)")
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _counted(raw: BinaryIO, path: str, compressed: int, limits: ArchiveLimits, budget: list[int]) -> BinaryIO:
    ratio_limit = None
    if compressed > 0:
        ratio_limit = max(limits.ratio_floor_bytes, int(compressed * limits.max_ratio))
    return io.BufferedReader(_Counted(raw, path, limits.max_member_bytes, ratio_limit, budget), 1 << 20)


def iter_members(container: str, stream: BinaryIO, fmt: str, *, limits: ArchiveLimits | None = None,
                 depth: int = 1) -> Iterator[Member]:
    """The members of the archive ``stream`` (format from :func:`archive_format`), in archive order.

    ``container`` is the archive's own path for the report. ``stream`` must be seekable for zip and 7z.
    Each yielded member must be read (or skipped) before the next is asked for: tar streams.
    """
    limits = limits or ArchiveLimits()
    if depth > limits.max_depth:
        why = (f"archives nested deeper than {limits.max_depth}: not opened" if limits.max_depth
               else "archives are not opened (archive depth 0)")
        yield Member(container, 0, 0, depth, error=why)
        return
    budget = [limits.max_archive_bytes]
    if fmt == "zip":
        yield from _zip_members(container, stream, limits, depth, budget)
    elif fmt == "7z":
        from .sevenzip import sevenzip_members  # py7zr is imported only when a 7z turns up

        yield from sevenzip_members(container, stream, limits, depth, budget)
    else:
        yield from _tar_members(container, stream, fmt, limits, depth, budget)


def _too_many(container: str, depth: int, limits: ArchiveLimits) -> Member:
    return Member(container, 0, 0, depth, error=f"more than {limits.max_members:,} members: the rest were not read")


def _too_big(path: str, size: int, compressed: int, depth: int, limits: ArchiveLimits) -> Member:
    return Member(path, size, compressed, depth,
                  error=f"declares {size:,} bytes, over the limit of {limits.max_member_bytes:,} (not read)")


def _zip_members(container: str, stream: BinaryIO, limits: ArchiveLimits, depth: int,
                 budget: list[int]) -> Iterator[Member]:
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
                yield _too_many(container, depth, limits)
                return
            if info.flag_bits & 0x1:
                yield Member(path, info.file_size, info.compress_size, depth, error="encrypted: cannot be read "
                                                                                    "without its password")
                continue
            if info.file_size > limits.max_member_bytes:
                yield _too_big(path, info.file_size, info.compress_size, depth, limits)
                continue

            def opener(info: zipfile.ZipInfo = info, path: str = path) -> BinaryIO:
                return _counted(archive.open(info), path, info.compress_size, limits, budget)  # type: ignore[arg-type]

            yield Member(path, info.file_size, info.compress_size, depth, opener)


def _tar_members(container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                 budget: list[int]) -> Iterator[Member]:
    # Stream mode ("r|*"): one pass, any compression, no seeking; members are read in order.
    try:
        archive = tarfile.open(fileobj=stream, mode="r|*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        if fmt != "tar" and stream.seekable():
            yield _single_member(container, stream, fmt, limits, depth, budget)
        else:
            yield Member(container, 0, 0, depth, error=f"not a readable {fmt} archive: {exc}")
        return
    count = 0
    with archive:
        while True:
            try:
                info = archive.next()
            except (tarfile.TarError, OSError, EOFError) as exc:
                yield Member(container, 0, 0, depth, error=f"the archive is damaged after {count} members: {exc}")
                return
            if info is None:
                return
            count += 1
            if count > limits.max_members:
                yield _too_many(container, depth, limits)
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
                yield _too_big(path, info.size, info.size, depth, limits)
                continue

            def opener(info: tarfile.TarInfo = info, path: str = path) -> BinaryIO:
                raw = archive.extractfile(info)
                if raw is None:
                    raise OSError(f"{path} has no data")
                # A tar member is stored, not compressed: its declared size bounds it. The whole
                # stream's expansion is bounded by the archive budget.
                return _counted(raw, path, 0, limits, budget)  # type: ignore[arg-type]

            yield Member(path, info.size, info.size, depth, opener)


_SUFFIXES = {"tar.gz": (".gz", ".tgz"), "tar.bz2": (".bz2", ".tbz2", ".tbz"), "tar.xz": (".xz", ".txz")}


def _single_member(container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                   budget: list[int]) -> Member:
    """A compressed stream that holds no tar (``notes.txt.gz``): one member, the stream decompressed."""
    import bz2
    import gzip

    base = container.rsplit(SEP, 1)[-1].rsplit("/", 1)[-1]
    name = base
    for suffix in _SUFFIXES[fmt]:
        if base.lower().endswith(suffix) and len(base) > len(suffix):
            name = base[: -len(suffix)] + (".tar" if suffix.startswith(".t") else "")
            break
    else:
        name = base + ".decompressed"
    path = member_path(container, name)
    compressed = _stream_size(stream)

    def opener() -> BinaryIO:
        stream.seek(0)
        raw: BinaryIO
        if fmt == "tar.gz":
            raw = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
        elif fmt == "tar.bz2":
            raw = bz2.BZ2File(stream)  # type: ignore[assignment]
        else:
            raw = lzma.LZMAFile(stream)  # type: ignore[assignment]  # noqa: SIM115 (the caller closes it)
        return _counted(raw, path, compressed, limits, budget)

    return Member(path, 0, compressed, depth, opener)


def _stream_size(stream: BinaryIO) -> int:
    here = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(here)
    return end
