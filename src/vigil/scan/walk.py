"""The files of the evidence, in a stable order, without ever leaving it.

Unlike ``vigil.walk`` (which ``vigil hash`` uses and which follows links to files), the scan
walk follows no symbolic link below the paths the examiner named: a link in seized storage
may point anywhere on the examiner's own machine. Each link is a row that says where it
points; a link that points at itself (a loop) or nowhere says so. Names are kept as the
file system gives them (bytes that are not UTF-8 survive as surrogate escapes) and the order
is the sorted order of their bytes, so a resumed scan walks exactly as the first one did.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Entry", "walk_evidence"]


@dataclass(frozen=True)
class Entry:
    """A file of the evidence to read (``error`` None) or a row that says why it is not read."""

    path: str
    size: int
    error: str | None = None


def walk_evidence(paths: list[str]) -> Iterator[Entry]:
    """Files named and the files under folders named, depth first, sorted by name."""
    for top in paths:
        try:
            st = os.stat(top)  # a path the examiner names may itself be a link (a mount point's alias)
        except OSError as exc:
            yield Entry(top, 0, _os_reason("cannot open", exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(top)
        elif stat.S_ISREG(st.st_mode):
            yield Entry(top, st.st_size)
        else:
            yield Entry(top, 0, "not a regular file (a device, pipe or socket): not read")


def _os_reason(what: str, exc: OSError) -> str:
    return f"{what}: {exc.strerror or exc}"


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
            return Entry(path, 0, f"a symbolic link loop (to {shown!r}): not followed")
        return Entry(path, 0, f"a broken symbolic link (to {shown!r}): not followed")
    return Entry(path, 0, f"a symbolic link (to {shown!r}): not followed, its target is read where it lies")


def _walk_dir(top: str) -> Iterator[Entry]:
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Entry(top, 0, _os_reason("cannot list folder", exc))
        return
    for entry in entries:
        try:
            if entry.is_symlink():
                yield _link_row(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                yield from _walk_dir(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield Entry(entry.path, entry.stat(follow_symlinks=False).st_size)
            else:
                yield Entry(entry.path, 0, "not a regular file (a device, pipe or socket): not read")
        except OSError as exc:
            yield Entry(entry.path, 0, _os_reason("cannot open", exc))
