"""The lists a running service matches against, kept fresh without a restart or a rebuild.

Each worker process holds :class:`~vigil.matching.Matcher` objects over the lists' compiled indexes
(``vigil.lists.segments``: each list compiled whole, memory-mapped from the cache all workers share,
plus a delta of what changed since). Every ``refresh_seconds`` a request glances at the lists (one
small query); when one was created, deleted, changed or given other settings, new matchers are made on
a background thread while requests go on with the ones they have, and swapped in when ready. A change
costs compiling the delta, in one worker (the others wait for it and map it): seconds, whatever the
list's size. When a delta has grown, one worker compiles the list whole in the background, and every
worker takes that at its next glance. Revocations need none of this: a revoked entry stops matching at
once (the matcher leaves revoked entries out when it resolves a match).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from ..errors import VigilError
from ..lists.segments import ListIndex, compact, whole_cached
from ..matching import Matcher
from ..store import Store
from ..store.schema import lists

__all__ = ["LiveLists"]

_log = logging.getLogger("vigil.serve")

_KEPT = 16  # matchers for distinct list selections kept at once (most clients name none or the same few)

_RETRY_COMPACT = 600.0  # seconds before compiling a list whole again when the last try left nothing cached

_Versions = tuple[tuple[int, str, int, datetime], ...]


class LiveLists:
    """Matchers for the store's lists (all of them, or a selection), made again when the lists change."""

    def __init__(self, store: Store, refresh_seconds: float = 2.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._versions: _Versions = self._read_versions()
        self._checked = time.monotonic()
        self._matchers: dict[tuple[str, ...], Matcher] = {}
        self._building = False
        self._compacting = False
        self._compact_after = 0.0  # monotonic time before which no compiling whole is tried

    def _read_versions(self) -> _Versions:
        with self.store.connect() as conn:
            rows = conn.execute(select(lists.c.id, lists.c.name, lists.c.content_version, lists.c.updated_at)
                                .order_by(lists.c.id))
            return tuple((int(r[0]), str(r[1]), int(r[2]), r[3]) for r in rows)

    @property
    def versions(self) -> dict[str, int]:
        """Each list's content version, as the matchers in use know it."""
        return {name: version for _, name, version, _ in self._versions}

    def _indexes(self) -> list[ListIndex]:
        return [index for m in list(self._matchers.values()) for index in m.indexes]

    def matcher(self, names: Sequence[str] | None = None) -> Matcher:
        """The matcher for these lists (every list when ``names`` is empty or None)."""
        self._refresh()
        key = tuple(sorted(set(names))) if names else ()
        found = self._matchers.get(key)
        if found is not None:
            return found
        built = Matcher(self.store, list(key) or None)  # NotFound for an unknown list, UsageError for none
        with self._lock:
            if len(self._matchers) >= _KEPT:
                self._matchers.pop(next(iter(self._matchers)))
            self._matchers[key] = built
        return built

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < self.refresh_seconds:
            return
        with self._lock:
            if self._building or time.monotonic() - self._checked < self.refresh_seconds:
                return
            self._checked = time.monotonic()
        try:
            versions = self._read_versions()
        except VigilError as exc:  # the database is away: go on with the lists as they were, look again later
            _log.warning("cannot read the lists' versions (lookups go on with the lists loaded): %s", exc)
            return
        compiled_whole = any(i.delta is not None and whole_cached(self.store, i) for i in self._indexes())
        if versions == self._versions and not compiled_whole:
            self._compact_due()
            return
        with self._lock:
            self._building = True
        threading.Thread(target=self._rebuild, args=(versions,), name="vigil-lists-refresh", daemon=True).start()

    def _rebuild(self, versions: _Versions) -> None:
        """Matchers for the selections in use, made against the new versions, then swapped in (on
        failure the old ones stay, and the next look tries again)."""
        try:
            names = {name for _, name, _, _ in versions}
            fresh: dict[tuple[str, ...], Matcher] = {}
            for key in list(self._matchers):
                if all(n in names for n in key) and names:
                    fresh[key] = Matcher(self.store, list(key) or None)
            with self._lock:
                self._matchers = fresh
                self._versions = versions
        except VigilError as exc:
            _log.error("could not load the changed lists (serving the ones loaded before): %s", exc)
        finally:
            with self._lock:
                self._building = False
                self._checked = time.monotonic()

    def _compact_due(self) -> None:
        """Compile whole, in the background, the lists whose deltas have grown (one at a time; when
        another worker is at it, this one leaves it be and takes the result at a later glance)."""
        due = {i.list_id: i for i in self._indexes() if i.merge_due}
        with self._lock:
            if not due or self._compacting or time.monotonic() < self._compact_after:
                return
            self._compacting = True
        threading.Thread(target=self._compact, args=(list(due.values()),), name="vigil-lists-compact",
                         daemon=True).start()

    def _compact(self, due: list[ListIndex]) -> None:
        try:
            for index in due:
                started = time.monotonic()
                if not compact(self.store, index):
                    continue  # another worker is at it
                if not whole_cached(self.store, index):  # compiled, but the cache would not keep it
                    _log.error("list %d was compiled whole but could not be cached in %s: its delta goes on "
                               "serving; trying again in %d s", index.list_id, self.store.cache_dir,
                               _RETRY_COMPACT)
                    self._compact_after = time.monotonic() + _RETRY_COMPACT
                    continue
                _log.info("compiled list %d whole at version %d (its delta had %d entries) in %.1f s",
                          index.list_id, index.version, index.delta.entries if index.delta else 0,
                          time.monotonic() - started)
        except (VigilError, OSError) as exc:
            _log.error("could not compile a list whole (its delta goes on serving): %s", exc)
            self._compact_after = time.monotonic() + _RETRY_COMPACT
        finally:
            with self._lock:
                self._compacting = False
