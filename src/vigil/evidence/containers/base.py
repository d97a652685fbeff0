"""What every container shares: the :class:`Container` protocol, a :class:`Member`, the limits and
the counted stream that enforces them.

Nothing is ever extracted to disk, so a member named ``../../x`` or ``/etc/passwd`` is only a
name: it is reported under its container's path, ``!/``, and the name as the container gives it
(``case/backup.zip!/inner/a.jpg``; nesting repeats the separator, DESIGN.md). The kind of a
file is decided from its first bytes, never from its name.

Containers are hostile input. Every member is read through a counter that stops it at the
limits (:class:`ArchiveLimits`): a member may not grow past ``max_member_bytes``, nor past
``max_ratio`` times its compressed size (the usual zip bomb) once it is over
``ratio_floor_bytes``; a container may not hold more than ``max_members`` members nor expand
past ``max_archive_bytes`` (its :class:`Budget`); containers nest at most ``max_depth`` deep. A
member that breaks a limit, is encrypted, or cannot be read becomes a :class:`Member` with an
``error`` and the walk goes on; only a container that cannot be opened at all ends its own walk
(with one such row, whose path is the container's own).
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ...errors import LimitExceeded, MemberUnreadable

__all__ = [
    "DAMAGED", "SEP", "ArchiveLimits", "Budget", "Container", "Member", "counted", "member_path", "too_big",
    "too_many",
]

SEP = "!/"

# What the standard library's archive and decompression readers raise on damaged data: translated
# into MemberUnreadable here, where the containers call them.
DAMAGED = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


@dataclass(frozen=True)
class ArchiveLimits:
    max_depth: int = 4  # archives inside archives: the outermost is depth 1
    max_member_bytes: int = 64 << 30
    max_ratio: float = 200.0  # expanded / compressed, for members past ratio_floor_bytes
    ratio_floor_bytes: int = 16 << 20
    max_members: int = 1_000_000
    max_archive_bytes: int = 1 << 40


class Budget:
    """The bytes one container may still expand to, shared by its members: spent by reading them,
    and by skipping them where skipping means decompressing (a solid 7z)."""

    __slots__ = ("left",)

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, n: int) -> bool:
        """Take ``n`` bytes; False once the container has expanded past its limit."""
        self.left -= n
        return self.left >= 0


def member_path(container: str, name: str) -> str:
    return f"{container}{SEP}{name}"


@dataclass
class Member:
    """One member of a container: a path for the report, and a way to read it (unless ``error``).

    A member whose ``path`` is the container's own is a row about the container (it could not be
    opened, or not all of it)."""

    path: str
    size: int  # as the container declares it (0 when it does not say)
    compressed_size: int
    depth: int
    opener: Callable[[], BinaryIO] | None = None
    error: str | None = None

    def open(self) -> BinaryIO:
        """A stream of the member's bytes; reading raises LimitExceeded at the limits and
        MemberUnreadable on damaged data (both MemberError)."""
        if self.opener is None:
            raise MemberUnreadable(self.path, f"cannot be read: {self.error}")
        try:
            return self.opener()
        except NotImplementedError as exc:  # zipfile: a compression method it does not know (deflate64 …)
            raise MemberUnreadable(self.path, str(exc)) from exc
        except DAMAGED as exc:
            raise MemberUnreadable(self.path, f"is damaged: {exc}") from exc


class Container(Protocol):
    """One container format (or family: gz, bz2 and xz streams are one), registered by ``name``."""

    @property
    def name(self) -> str:
        """The container's one name ("zip"), unique in the registry."""
        ...

    @property
    def formats(self) -> tuple[str, ...]:
        """The labels ``recognise`` gives (reports show them as the content's format); each is this
        container's own: the registry refuses two containers claiming one."""
        ...

    @property
    def needs_seek(self) -> bool:
        """Whether ``members`` needs to seek (an index at the end of a zip or 7z): given a stream that
        cannot seek, such a container is one error row, not a read."""
        ...

    def recognise(self, head: bytes) -> str | None:
        """The format (one of ``formats``) of content that starts with ``head`` (its first 512
        bytes, fewer for a short file), or None when this container does not read it."""
        ...

    def members(self, container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
        """The members of ``stream`` (``fmt`` as recognised) in the container's order, each named with
        :func:`member_path` and read through :func:`counted`; every failure is a Member with an
        ``error``, never an exception. Each member is read (or skipped) before the next is asked for."""
        ...


class _Counted(io.RawIOBase):
    """Reads a member and raises LimitExceeded the moment it expands past what is allowed."""

    def __init__(self, raw: BinaryIO, path: str, limit: int, ratio_limit: int | None, budget: Budget) -> None:
        self._raw = raw
        self._path = path
        self._limit = limit
        self._ratio_limit = ratio_limit
        self._budget = budget
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._raw.read(len(buffer))
        except DAMAGED as exc:
            raise MemberUnreadable(self._path, f"is damaged or cut short: {exc}") from exc
        n = len(data)
        self.count += n
        within_budget = self._budget.spend(n)
        if self.count > self._limit:
            raise LimitExceeded(self._path, f"expands past {self._limit:,} bytes (a decompression bomb?)")
        if self._ratio_limit is not None and self.count > self._ratio_limit:
            raise LimitExceeded(self._path, f"expands past {self._ratio_limit:,} bytes, over the ratio limit "
                                            "to its compressed size (a zip bomb?)")
        if not within_budget:
            raise LimitExceeded(self._path, "the archive expands past its size limit (a decompression bomb?)")
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def counted(raw: BinaryIO, path: str, compressed: int, limits: ArchiveLimits, budget: Budget) -> BinaryIO:
    """``raw`` (a member's bytes) read under the limits: ``compressed`` is its size in the container
    (0 when it is stored or unknown: no ratio limit), ``budget`` the container's."""
    ratio_limit = None
    if compressed > 0:
        ratio_limit = max(limits.ratio_floor_bytes, int(compressed * limits.max_ratio))
    return io.BufferedReader(_Counted(raw, path, limits.max_member_bytes, ratio_limit, budget), 1 << 20)


def too_many(container: str, depth: int, limits: ArchiveLimits) -> Member:
    """The row that ends a container holding more than ``max_members``."""
    return Member(container, 0, 0, depth, error=f"more than {limits.max_members:,} members: the rest were not read")


def too_big(path: str, size: int, compressed: int, depth: int, limits: ArchiveLimits) -> Member:
    """The row of a member that declares a size over ``max_member_bytes`` (it is not read)."""
    return Member(path, size, compressed, depth,
                  error=f"declares {size:,} bytes, over the limit of {limits.max_member_bytes:,} (not read)")
