"""Expand the paths a user names into the files under them, in a stable order."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Found", "walk_paths"]


@dataclass(frozen=True)
class Found:
    path: str
    size: int
    error: str | None = None  # set when the path cannot be listed or is not a file


def walk_paths(paths: list[str]) -> Iterator[Found]:
    """Files named and files under folders named (recursively, sorted by name).

    Symbolic links to files are followed; links to folders are not (no loops). A
    path that is missing or cannot be listed is yielded with an ``error``.
    """
    for top in paths:
        try:
            st = os.stat(top)
        except OSError as exc:
            yield Found(top, 0, f"cannot open: {exc.strerror or exc}")
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(top)
        elif stat.S_ISREG(st.st_mode):
            yield Found(top, st.st_size)
        else:
            yield Found(top, 0, "not a regular file")


def _walk_dir(top: str) -> Iterator[Found]:
    try:
        with os.scandir(top) as it:
            entries = sorted(it, key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Found(top, 0, f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk_dir(entry.path)
                continue
            if entry.is_file(follow_symlinks=True):
                yield Found(entry.path, entry.stat(follow_symlinks=True).st_size)
            elif entry.is_symlink():
                if os.path.isdir(entry.path):
                    continue  # links to folders are not followed
                yield Found(entry.path, 0, "broken symbolic link")
            else:
                yield Found(entry.path, 0, "not a regular file")
        except OSError as exc:
            yield Found(entry.path, 0, f"cannot open: {exc.strerror or exc}")
