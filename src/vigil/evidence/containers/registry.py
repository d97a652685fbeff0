"""The registered containers, picked by content: :func:`archive_format` tells a container's format
from its first bytes and :func:`iter_members` reads it with the container that recognised it.

Containers are asked in the order they are registered; the first that recognises the first bytes
reads the file. A container whose reader needs a heavy or optional library (py7zr for 7z; later
libewf and pytsk3 for disk images) is registered as a :class:`LazyContainer`: it recognises its
content from a signature held here, and imports its reader's module the first time it reads one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import BinaryIO

from ...errors import UsageError
from .base import ArchiveLimits, Budget, Container, Member
from .compressed import CompressedContainer
from .tar import TarContainer
from .zip import ZipContainer

__all__ = [
    "CONTAINERS",
    "ContainerRegistry",
    "LazyContainer",
    "archive_format",
    "iter_members",
    "signature",
    "Reader",
]

Reader = Callable[[str, BinaryIO, str, ArchiveLimits, int, Budget], Iterator[Member]]


class LazyContainer:
    """A container declared by its name, formats and signature, whose reader (``module``'s
    ``members`` function, shaped like :meth:`Container.members`) is imported on first use."""

    def __init__(self, name: str, formats: tuple[str, ...], *, needs_seek: bool,
                 recognise: Callable[[bytes], str | None], module: str) -> None:
        self.name = name
        self.formats = formats
        self.needs_seek = needs_seek
        self._recognise = recognise
        self._module = module
        self._reader: Reader | None = None

    def recognise(self, head: bytes) -> str | None:
        return self._recognise(head)

    def members(self, container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
                budget: Budget) -> Iterator[Member]:
        if self._reader is None:
            module: ModuleType = importlib.import_module(self._module)
            self._reader = module.members
        return self._reader(container, stream, fmt, limits, depth, budget)


def signature(fmt: str, magic: bytes) -> Callable[[bytes], str | None]:
    """Recognises ``fmt`` by the bytes its content starts with."""
    return lambda head: fmt if head.startswith(magic) else None


class ContainerRegistry:
    """Containers by name, each format claimed by one; asked in order of registration."""

    def __init__(self, containers: Iterable[Container] = ()) -> None:
        self._by_name: dict[str, Container] = {}
        self._by_format: dict[str, Container] = {}
        for container in containers:
            self.register(container)

    def register(self, container: Container) -> None:
        """Add ``container`` after those registered; its name and formats must be new."""
        if container.name in self._by_name:
            raise UsageError(f"two containers are named {container.name!r}")
        for fmt in container.formats:
            if fmt in self._by_format:
                raise UsageError(f"containers {self._by_format[fmt].name!r} and {container.name!r} both claim "
                                 f"the format {fmt!r}")
        self._by_name[container.name] = container
        self._by_format.update(dict.fromkeys(container.formats, container))

    def __iter__(self) -> Iterator[Container]:
        return iter(self._by_name.values())

    def __getitem__(self, name: str) -> Container:
        return self._by_name[name]

    def names(self) -> list[str]:
        return list(self._by_name)

    def recognise(self, head: bytes) -> tuple[Container, str] | None:
        """The container that reads content starting with ``head``, and its format; None if none does."""
        for container in self._by_name.values():
            fmt = container.recognise(head)
            if fmt is not None:
                return container, fmt
        return None

    def for_format(self, fmt: str) -> Container:
        try:
            return self._by_format[fmt]
        except KeyError:
            raise UsageError(f"unknown container format {fmt!r}; known: {', '.join(self._by_format)}") from None


# The order is the order of recognition: a gzip stream's magic at byte 0 decides before a tar's at
# byte 257 (a tar member may be named with those bytes).
CONTAINERS = ContainerRegistry([
    ZipContainer(),
    LazyContainer("7z", ("7z",), needs_seek=True, recognise=signature("7z", b"7z\xbc\xaf\x27\x1c"),
                  module="vigil.evidence.containers.sevenzip"),
    CompressedContainer(),
    TarContainer(),
])


def archive_format(head: bytes) -> str | None:
    """The format of a container that starts with ``head`` ("zip", "7z", "tar", "tar.gz", "tar.bz2",
    "tar.xz": a compressed stream that may hold a tar), or None when no container reads it."""
    found = CONTAINERS.recognise(head)
    return None if found is None else found[1]


def iter_members(container: str, stream: BinaryIO, fmt: str, *, limits: ArchiveLimits | None = None,
                 depth: int = 1) -> Iterator[Member]:
    """The members of the container ``stream`` (format from :func:`archive_format`), in its order.

    ``container`` is the container's own path for the report; ``depth`` its nesting (the outermost
    is 1). Each yielded member must be read (or skipped) before the next is asked for: tar streams.
    """
    limits = limits or ArchiveLimits()
    reader = CONTAINERS.for_format(fmt)
    if depth > limits.max_depth:
        why = (f"archives nested deeper than {limits.max_depth}: not opened" if limits.max_depth
               else "archives are not opened (archive depth 0)")
        yield Member(container, 0, 0, depth, error=why)
        return
    if reader.needs_seek and not stream.seekable():
        yield Member(container, 0, 0, depth, error=f"a {fmt} archive is read by seeking: this stream cannot seek")
        return
    yield from reader.members(container, stream, fmt, limits, depth, Budget(limits.max_archive_bytes))
