"""The files under the paths a user names, in a stable order: two link policies over one walk.

* :func:`walk_evidence` (``vigil scan``) follows no symbolic link below the named paths: a link in
  seized storage may point anywhere on the examiner's own machine. Each link is a row that says
  where it points; a link that points at itself (a loop) or nowhere says so.
* :func:`walk_paths` (``vigil hash``, ``vigil match``, ``lists add-media``: files a user owns)
  follows links to files but not to folders (no loops).

Names are kept as the file system gives them (bytes that are not UTF-8 survive as surrogate
escapes) and the order is the sorted order of their bytes, so a resumed scan walks exactly as the
first one did. A path that is missing or cannot be listed is a row with an ``error``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Entry", "walk_evidence", "walk_paths"]


@dataclass(frozen=True)
class Entry:
    """A file to read (``error`` None) or a row that says why it is not read; ``link`` marks the row of
    a symbolic link whose target it names (a link read as such, not a failure to read)."""

    path: str
    size: int
    error: str | None = None
    link: bool = False


def _os_reason(what: str, exc: OSError) -> str:
    return f"{what}: {exc.strerror or exc}"


def _walk(paths: list[str], on_entry: Callable[[os.DirEntry[str]], Iterator[Entry]], other: str) -> Iterator[Entry]:
    """The shared walk: each named path (itself followed: a mount point's alias), folders depth first
    with their entries sorted by the bytes of their names; ``on_entry`` decides each directory entry."""

    def folder(top: str) -> Iterator[Entry]:
        try:
            with os.scandir(top) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Entry(top, 0, _os_reason("cannot list folder", exc))
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield from folder(entry.path)
                else:
                    yield from on_entry(entry)
            except OSError as exc:
                yield Entry(entry.path, 0, _os_reason("cannot open", exc))

    for top in paths:
        try:
            st = os.stat(top)
        except OSError as exc:
            yield Entry(top, 0, _os_reason("cannot open", exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from folder(top)
        elif stat.S_ISREG(st.st_mode):
            yield Entry(top, st.st_size)
        else:
            yield Entry(top, 0, other)


_NOT_REGULAR = "not a regular file (a device, pipe or socket): not read"


def walk_evidence(paths: list[str]) -> Iterator[Entry]:
    """Files named and the files under folders named; no link below them is followed."""

    def decide(entry: os.DirEntry[str]) -> Iterator[Entry]:
        if entry.is_symlink():
            yield _link_row(entry.path)
        elif entry.is_file(follow_symlinks=False):
            yield Entry(entry.path, entry.stat(follow_symlinks=False).st_size)
        else:
            yield Entry(entry.path, 0, _NOT_REGULAR)

    return _walk(paths, decide, _NOT_REGULAR)


def _link_row(path: str) -> Entry:
    try:
        target = os.readlink(path)
    except OSError as exc:
        return Entry(path, 0, _os_reason("a symbolic link that cannot be read", exc))
    shown = os.fsencode(target).decode("utf-8", "backslashreplace")
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Entry(path, 0, f"a symbolic link loop (to {shown!r}): not followed", link=True)
        return Entry(path, 0, f"a broken symbolic link (to {shown!r}): not followed", link=True)
    return Entry(path, 0, f"a symbolic link (to {shown!r}): not followed, its target is read where it lies",
                 link=True)


def walk_paths(paths: list[str]) -> Iterator[Entry]:
    """Files named and files under folders named; links to files are followed, links to folders not."""

    def decide(entry: os.DirEntry[str]) -> Iterator[Entry]:
        if entry.is_file(follow_symlinks=True):
            yield Entry(entry.path, entry.stat(follow_symlinks=True).st_size)
        elif entry.is_symlink():
            if not os.path.isdir(entry.path):  # links to folders are not followed
                yield Entry(entry.path, 0, "broken symbolic link")
        else:
            yield Entry(entry.path, 0, "not a regular file")

    return _walk(paths, decide, "not a regular file")
