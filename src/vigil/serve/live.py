"""The lists a running service matches against, kept fresh without a restart.

Each worker process holds :class:`~vigil.matching.Matcher` objects (memory-mapped compiled indexes,
``vigil.lists.compiled``). Every ``refresh_seconds`` a request glances at the lists' versions (one small
query); when a list was created, deleted or changed, the matchers are built again on a background
thread while requests go on with the ones they have, and swapped in when ready. Revocations need none
of this: a revoked entry stops matching at once (the matcher leaves revoked entries out when it
resolves a match).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy import select

from ..errors import VigilError
from ..matching import Matcher
from ..store import Store
from ..store.schema import lists

__all__ = ["LiveLists"]

_log = logging.getLogger("vigil.serve")

_KEPT = 16  # matchers for distinct list selections kept at once (most clients name none or the same few)


class LiveLists:
    """Matchers for the store's lists (all of them, or a selection), rebuilt when the lists change."""

    def __init__(self, store: Store, refresh_seconds: float = 2.0) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._versions: tuple[tuple[int, str, int], ...] = self._read_versions()
        self._checked = time.monotonic()
        self._matchers: dict[tuple[str, ...], Matcher] = {}
        self._building = False

    def _read_versions(self) -> tuple[tuple[int, str, int], ...]:
        with self.store.connect() as conn:
            rows = conn.execute(select(lists.c.id, lists.c.name, lists.c.content_version).order_by(lists.c.id))
            return tuple((int(r[0]), str(r[1]), int(r[2])) for r in rows)

    @property
    def versions(self) -> dict[str, int]:
        """Each list's content version, as the matchers in use know it."""
        return {name: version for _, name, version in self._versions}

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
        if versions == self._versions:
            return
        with self._lock:
            self._building = True
        threading.Thread(target=self._rebuild, args=(versions,), name="vigil-lists-refresh", daemon=True).start()

    def _rebuild(self, versions: tuple[tuple[int, str, int], ...]) -> None:
        """Matchers for the selections in use, built against the new versions, then swapped in (on
        failure the old ones stay, and the next look tries again)."""
        try:
            names = {name for _, name, _ in versions}
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
