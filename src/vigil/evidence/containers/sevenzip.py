"""7z archives read in place (py7zr), member by member, under the same limits as zip and tar.

This module is the 7z container's reader; the registry (:mod:`.registry`) recognises a 7z by its
signature and imports this module, and so py7zr, only when a 7z turns up (``vigil --help`` and
scans without one stay as fast as before).

py7zr pushes: it decompresses the whole archive (a solid 7z can only be read in order) and
hands each member's bytes to a writer. A thread runs that extraction and passes the bytes
through a small bounded queue, so the scanner pulls members as streams, one after another,
exactly as it reads a tar; memory stays bounded by the queue (py7zr writes in blocks of at
most ~128 MB). A member the scanner leaves unread is drained against the archive's budget;
once the budget is spent, or a member breaks a limit, the extraction is stopped and the rest
of the archive becomes one row.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

import py7zr
import py7zr.exceptions
import py7zr.io

from ...errors import MemberUnreadable
from .base import ArchiveLimits, Budget, Member, counted, member_path, too_big, too_many

__all__ = ["members"]

_BEGIN, _DATA, _END, _FAILED, _DONE = range(5)


class _Stopped(Exception):
    """Raised inside py7zr's thread to stop an extraction the scanner no longer wants."""


class _Writer(py7zr.io.Py7zIO):
    def __init__(self, channel: _Channel, name: str) -> None:
        self._channel = channel
        self._size = 0
        channel.put((_BEGIN, name))

    def write(self, s: bytes | bytearray) -> int:
        self._size += len(s)
        self._channel.put((_DATA, bytes(s)))
        return len(s)

    def read(self, size: int | None = None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0  # py7zr rewinds a fresh writer before writing; the bytes went to the queue

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self._size

    def close(self) -> None:
        self._channel.put((_END, None))


class _Channel(py7zr.io.WriterFactory):
    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=2)
        self.stopped = threading.Event()

    def put(self, message: tuple[int, Any]) -> None:
        while True:
            if self.stopped.is_set():
                raise _Stopped
            try:
                self.queue.put(message, timeout=0.1)
                return
            except queue.Full:
                continue

    def create(self, filename: str) -> py7zr.io.Py7zIO:
        return _Writer(self, filename)


class _MemberStream(io.RawIOBase):
    """The bytes of the member being extracted, read from the queue until its end."""

    def __init__(self, channel: _Channel, path: str) -> None:
        self._channel = channel
        self._path = path
        self._pending = b""
        self.ended = False
        self.failed: str | None = None  # why the extraction stopped inside this member

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self.ended:
            kind, value = self._channel.queue.get()
            if kind == _DATA:
                self._pending = value
            elif kind == _END:
                self.ended = True
            else:  # the extraction failed inside this member
                self.ended = True
                self.failed = str(value)
                raise MemberUnreadable(self._path, f"is damaged: {value}")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _describe(exc: BaseException) -> str:
    if isinstance(exc, py7zr.exceptions.PasswordRequired):
        return "encrypted: cannot be read without its password"
    if isinstance(exc, py7zr.exceptions.UnsupportedCompressionMethodError):
        return f"a compression method Vigil cannot read: {exc}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def members(container: str, stream: BinaryIO, fmt: str, limits: ArchiveLimits, depth: int,
            budget: Budget) -> Iterator[Member]:
    """The members of a 7z archive, as :meth:`.base.Container.members` gives them."""
    try:
        archive = py7zr.SevenZipFile(stream, mode="r")
    except Exception as exc:  # third-party parser on hostile input: any failure is a row
        yield Member(container, 0, 0, depth, error=f"not a readable 7z archive: {_describe(exc)}")
        return
    with archive:
        try:
            files = [f for f in archive.files if not f.is_directory and not f.is_socket]
            encrypted = archive.needs_password()
        except Exception as exc:  # as above
            yield Member(container, 0, 0, depth, error=f"not a readable 7z archive: {_describe(exc)}")
            return
        if encrypted:
            for f in files:
                yield Member(member_path(container, f.filename), f.uncompressed or 0, 0, depth,
                             error="encrypted: cannot be read without its password")
            return
        if len(files) > limits.max_members:
            yield too_many(container, depth, limits)
            return
        yield from _extract(container, archive, files, limits, depth, budget)


def _extract(container: str, archive: py7zr.SevenZipFile, files: list[Any], limits: ArchiveLimits, depth: int,
             budget: Budget) -> Iterator[Member]:
    channel = _Channel()
    # Writers are keyed by position, not name: py7zr's own extractall would refuse the whole
    # archive over one member named ../x (and rename duplicates), where a scan must report
    # every member under the name the archive gives it. So the members are registered with
    # py7zr's extraction worker directly (pinned to py7zr 1.1; tested by the container kit).
    declared = {str(n): (f.filename, f.uncompressed or 0, f.compressed or 0) for n, f in enumerate(files)}

    def run() -> None:
        try:
            for n, f in enumerate(files):
                archive.worker.register_filelike(f.id, py7zr.io.MemIO(str(n), channel))
            archive.worker.extract(archive.fp, None, parallel=False)
        except _Stopped:
            return
        except Exception as exc:  # reported as a row by the reading side
            _offer(channel, (_FAILED, _describe(exc)))
            return
        _offer(channel, (_DONE, None))

    worker = threading.Thread(target=run, name="vigil-7z", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = channel.queue.get()
            if kind == _DONE:
                return
            if kind == _FAILED:
                yield Member(container, 0, 0, depth, error=f"the 7z archive is damaged: {value}")
                return
            if kind != _BEGIN:
                continue  # bytes of a member nobody asked for (drained below)
            name, size, compressed = declared.get(value, (value, 0, 0))
            path = member_path(container, name)
            raw = _MemberStream(channel, path)
            if size > limits.max_member_bytes:
                yield too_big(path, size, compressed, depth, limits)
            else:
                yield Member(path, size, compressed, depth,
                             lambda raw=raw, path=path, compressed=compressed:  # type: ignore[misc]
                             counted(raw, path, compressed, limits, budget))
            if not _drain(raw, budget):
                yield Member(container, 0, 0, depth, error="the archive expands past its size limit "
                                                           "(a decompression bomb?): the rest was not read")
                return
            if raw.failed is not None:
                yield Member(container, 0, 0, depth, error=f"the 7z archive is damaged: {raw.failed}")
                return
    finally:
        channel.stopped.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                channel.queue.get(timeout=0.1)
        worker.join()


def _offer(channel: _Channel, message: tuple[int, Any]) -> None:
    with contextlib.suppress(_Stopped):
        channel.put(message)


def _drain(raw: _MemberStream, budget: Budget) -> bool:
    """Skip what is left of a member; False once the archive's budget is spent."""
    if raw.ended:
        return True  # read to its end by the scanner: the usual case
    buffer = memoryview(bytearray(1 << 20))
    try:
        while not raw.ended:
            if not budget.spend(raw.readinto(buffer)):
                return False
    except MemberUnreadable:
        return True  # raw.failed says why: the caller reports it for the archive
    return True
