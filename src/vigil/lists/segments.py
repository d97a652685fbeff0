"""A list's match index as it is used: the list compiled whole and, when it changed since, a delta.

Compiling a list whole takes time in proportion to it (most of a minute at 10M hashes); a change (an
import of a few thousand, one hash sent over HMA's API) would wait that long to be matched, and every
process that serves the list would compile it again. Instead, what changed since the newest whole
index in the cache is compiled as a delta and searched beside it: the entries whose last change came
from an import that committed after the whole one's version (``imports.version_after``, given in
commit order). A delta's entries hide their rows in the whole index, so an entry whose hashes changed
matches only as it is now. When the delta grows, the list is compiled whole again in the background
(``compact``, the service does it) and the next load takes that.

Both are kept in the store's cache folder, ``list-<id>-v<version>`` (whole) and
``list-<id>-v<version>-from<base>`` (a delta), and memory-mapped. Building either takes a file lock,
so that of several processes (the service's workers) one compiles and the others load what it saved;
deltas have a lock of their own, so a change is compiled while the list is being compiled whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import or_, select

from ..errors import IndexCorrupt
from ..store import Store
from ..store.schema import entries, imports
from .compiled import CompiledList, compile_list, load_folder, save_folder

__all__ = ["ListIndex", "changed_since", "compact", "hidden", "load_index", "load_whole", "whole_cached", "MERGE_AT"]

# A delta of this many entries (or a twentieth of the list, when that is fewer, and at least
# _MERGE_MIN) is due to be compiled into the whole list.
MERGE_AT = 100_000
_MERGE_MIN = 1_000
_CHUNK = 900  # import ids a query names
_ABANDONED = 3600.0  # seconds after which a half-written cache folder is taken to be abandoned

_NAME = re.compile(r"list-(\d+)-v(\d+)(?:-from(\d+))?")


@dataclass(frozen=True)
class ListIndex:
    """A list's compiled index: whole, or whole at an earlier version plus the delta since."""

    base: CompiledList
    delta: CompiledList | None = None

    @property
    def list_id(self) -> int:
        return self.base.list_id

    @property
    def version(self) -> int:
        return (self.delta or self.base).version

    def segments(self) -> Iterator[tuple[CompiledList, np.ndarray | None]]:
        """Each compiled part with the entries whose rows in it are out of date (sorted pks), if any."""
        yield self.base, None if self.delta is None else self.delta.covers
        if self.delta is not None:
            yield self.delta, None

    @property
    def merge_due(self) -> bool:
        """Whether the delta has grown enough to compile the list whole again (``compact``)."""
        if self.delta is None:
            return False
        return self.delta.entries >= min(MERGE_AT, max(_MERGE_MIN, self.base.entries // 20))


def hidden(stale: np.ndarray | None, pk: int) -> bool:
    """Whether entry ``pk`` is among ``stale`` (sorted pks; ``ListIndex.segments``)."""
    if stale is None or not len(stale):
        return False
    k = int(np.searchsorted(stale, pk))
    return k < len(stale) and int(stale[k]) == pk


def load_index(store: Store, list_id: int, version: int,
               on_build: Callable[[str], None] | None = None) -> ListIndex:
    """The list's index at ``version``: whole from the cache; else the newest whole one before it and
    the delta since (from the cache, or compiled now); else the list compiled whole. ``on_build`` is
    told when something is compiled ("compiling", "compiling changes")."""
    whole = _try_load(_whole_folder(store, list_id, version))
    if whole is not None:
        return ListIndex(whole)
    for base_version in _whole_versions(store, list_id, below=version):
        base = _try_load(_whole_folder(store, list_id, base_version))
        if base is None:
            continue
        delta = _delta(store, base, version, on_build)
        if delta is not None:
            return ListIndex(base, delta)
        break
    newer = [v for v in _whole_versions(store, list_id) if v > version]
    for v in newer:  # compiled whole at a later version meanwhile: a list only moves on, so that one is right
        found = _try_load(_whole_folder(store, list_id, v))
        if found is not None:
            return ListIndex(found)
    return ListIndex(load_whole(store, list_id, version, on_build))


def load_whole(store: Store, list_id: int, version: int,
               on_build: Callable[[str], None] | None = None) -> CompiledList:
    """The list compiled whole at ``version``, from the cache or compiled (and cached) now."""
    found = _whole(store, list_id, version, on_build, wait=True)
    assert found is not None  # it waited for the lock
    return found


def compact(store: Store, index: ListIndex) -> bool:
    """Compile the list of ``index`` whole at its version, unless another process is compiling the list
    whole now (False: try again later)."""
    return _whole(store, index.list_id, index.version, None, wait=False) is not None


def _whole(store: Store, list_id: int, version: int, on_build: Callable[[str], None] | None,
           wait: bool) -> CompiledList | None:
    folder = _whole_folder(store, list_id, version)
    found = _try_load(folder)
    if found is not None:
        return found
    with _lock(store, list_id, "whole", wait) as held:
        if not held:
            return None
        found = _try_load(folder)  # compiled by the process that held the lock
        if found is not None:
            return found
        if on_build is not None:
            on_build("compiling")
        compiled = compile_list(store, list_id, version)
        _keep(compiled, folder)
        _prune(store, list_id, lambda target, base: target < version or (target == version and base is not None))
        return compiled


def whole_cached(store: Store, index: ListIndex) -> bool:
    """Whether the list of ``index`` is in the cache compiled whole at its version (by any process)."""
    return (_whole_folder(store, index.list_id, index.version) / "meta.json").is_file()


def changed_since(store: Store, list_id: int, since: int) -> np.ndarray:
    """The entries (sorted pks) whose last change came from an import after version ``since``."""
    pks: list[int] = []
    with store.connect() as conn:
        ids = list(conn.execute(select(imports.c.id).where(
            imports.c.list_id == list_id,
            or_(imports.c.version_after > since, imports.c.version_after.is_(None)))).scalars())
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            pks.extend(conn.execute(select(entries.c.pk).where(entries.c.last_import_id.in_(chunk))).scalars())
    return np.unique(np.asarray(pks, np.int64))


def _delta(store: Store, base: CompiledList, version: int,
           on_build: Callable[[str], None] | None) -> CompiledList | None:
    """The delta from ``base`` to ``version``, or None when it is so large that compiling the list whole
    costs about as much."""
    folder = _delta_folder(store, base.list_id, version, base.version)
    found = _try_load(folder)
    if found is not None:
        return found
    with _lock(store, base.list_id, "delta", True):
        found = _try_load(folder)
        if found is not None:
            return found
        pks = changed_since(store, base.list_id, base.version)
        if len(pks) > max(base.entries // 2, MERGE_AT):
            return None
        if on_build is not None:
            on_build("compiling changes")
        delta = compile_list(store, base.list_id, version, since=base.version, pks=pks)
        _keep(delta, folder)
        _prune(store, base.list_id, lambda target, since: since == base.version and target < version)
        return delta


# ---- the cache folder ----------------------------------------------------------------------------

def _whole_folder(store: Store, list_id: int, version: int) -> Path:
    return store.cache_dir / f"list-{list_id}-v{version}"


def _delta_folder(store: Store, list_id: int, version: int, since: int) -> Path:
    return store.cache_dir / f"list-{list_id}-v{version}-from{since}"


def _try_load(folder: Path) -> CompiledList | None:
    if not (folder / "meta.json").is_file():
        return None
    try:
        return load_folder(folder)
    except IndexCorrupt:  # CacheUnreadable too: a damaged cache is compiled again, never trusted
        shutil.rmtree(folder, ignore_errors=True)
        return None


def _keep(compiled: CompiledList, folder: Path) -> None:
    with contextlib.suppress(OSError):  # a read-only cache folder costs speed next time, not correctness
        save_folder(compiled, folder)


def _folders(store: Store, list_id: int) -> Iterator[tuple[Path, int, int | None]]:
    """The list's cached indexes: (folder, version, the whole version a delta goes with or None)."""
    if not store.cache_dir.is_dir():
        return
    for path in store.cache_dir.glob(f"list-{list_id}-v*"):
        m = _NAME.fullmatch(path.name)
        if m is not None and int(m.group(1)) == list_id:
            yield path, int(m.group(2)), None if m.group(3) is None else int(m.group(3))


def _whole_versions(store: Store, list_id: int, below: int | None = None) -> list[int]:
    """The versions the list is cached whole at (before ``below`` if given), newest first."""
    found = [v for path, v, since in _folders(store, list_id)
             if since is None and (below is None or v < below) and (path / "meta.json").is_file()]
    return sorted(found, reverse=True)


def _prune(store: Store, list_id: int, stale: Callable[[int, int | None], bool]) -> None:
    """Remove the cached indexes ``stale(version, since)`` names (a process that has one mapped keeps
    reading it: the files go when it lets them go), and folders left half-written by a process that
    stopped while it compiled (an hour old: no compile takes that long)."""
    for path, version, since in list(_folders(store, list_id)):
        if stale(version, since):
            shutil.rmtree(path, ignore_errors=True)
    for path in store.cache_dir.glob(f"list-{list_id}-v*.tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > _ABANDONED:
                shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _lock(store: Store, list_id: int, what: str, wait: bool) -> Iterator[bool]:
    """Hold the list's ``what`` lock (a file in the cache folder); False when ``wait`` is off and another
    process holds it. Without a cache folder to lock in, nothing is shared: True at once."""
    try:
        store.cache_dir.mkdir(parents=True, exist_ok=True)
        handle = open(store.cache_dir / f".list-{list_id}-{what}.lock", "a+b")  # noqa: SIM115
    except OSError:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
