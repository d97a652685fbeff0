"""Opening evidence: read-only, without touching access times where the OS allows."""

from __future__ import annotations

import os
from typing import BinaryIO

__all__ = ["open_readonly", "display_path"]

_NOATIME = getattr(os, "O_NOATIME", 0)


def open_readonly(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a file for reading only; with O_NOATIME when permitted (owner or root).

    O_NONBLOCK keeps a FIFO or device from blocking the open (callers check the
    file type with fstat); it changes nothing for regular files.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | _NOATIME)
    except PermissionError:
        if not _NOATIME:
            raise
        fd = os.open(path, flags)  # O_NOATIME is refused on files we do not own
    return os.fdopen(fd, "rb")


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as text, always printable: bytes that are not UTF-8 appear as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
