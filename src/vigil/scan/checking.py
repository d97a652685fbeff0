"""The lists as a worker checks contents against them.

Matching happens where the content was hashed: the worker holds the photo's query hashes and the
video's frames, so only the matches travel back to the scan's main process (a few hundred bytes,
not the ~2-14 KB of query hashes a photo has), and matching runs on every core.

A :class:`ListCheck` is a plain value: the database's URL, its index cache and the lists (with the
content version each had when the scan began). A forked worker uses the parent's matcher, whose
compiled indexes were memory-mapped before the fork and so are shared, with a database connection
of its own (revocation is checked at that moment); a worker that received the check pickled opens
the database and maps the cached indexes itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InputUnusable
from ..matching import Matcher, PdqQuery, Query
from ..signals import SHA256
from ..signals.guided import WindowProbe
from ..signals.variants import Variant
from ..signals.vpdq import FrameWindow, VideoView, VpdqFeature
from ..store import Store

__all__ = ["ListCheck"]


class ListCheck:
    def __init__(self, matcher: Matcher) -> None:
        store = matcher.store
        self.url = store.engine.url.render_as_string(hide_password=False)
        self.cache_dir = str(store.cache_dir)
        self.lists = tuple((info.name, info.content_version) for info in matcher.lists)
        self._matcher: Matcher | None = matcher
        self._opened: Store | None = None  # the store this check opened itself (unpickled), to close
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url, "cache_dir": self.cache_dir, "lists": self.lists}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._matcher = None
        self._opened = None
        self._pid = os.getpid()

    def ready(self) -> Matcher:
        """The matcher, in this process: the parent's after a fork, or opened from the plain fields."""
        if self._matcher is not None and os.getpid() != self._pid:
            self._matcher.store.after_fork()
            self._pid = os.getpid()
        if self._matcher is None:
            store = Store.open(self.url, migrate=False)
            store.cache_dir = Path(self.cache_dir)
            self._opened = store
            matcher = Matcher(store, [name for name, _ in self.lists])
            now = tuple((info.name, info.content_version) for info in matcher.lists)
            if now != self.lists:
                store.close()
                raise InputUnusable("the lists changed while the scan ran: a scan matches against the lists "
                                    "as they were when it began")
            self._matcher = matcher
        return self._matcher

    def close(self) -> None:
        """Close the database this check opened itself (a parent's matcher is its owner's to close)."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None
            self._matcher = None

    def check(self, digests: dict[str, str], pdq: Sequence[Variant], vpdq: Sequence[VpdqFeature] | None,
              views: Sequence[VideoView] = (), windows: Sequence[FrameWindow] = (),
              probe: WindowProbe | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(block-list matches, allow-list matches) of one content, in the report's form; a video's
        ``views`` (mirrored, trimmed) and frame ``windows`` are matched as well, and a photo's
        windows guided by its ``probe`` (``signals.guided``)."""
        query = Query(digests.get(SHA256.name, ""), dict(digests), [PdqQuery(*v) for v in pdq],
                      list(vpdq) if vpdq else None, list(views), list(windows), probe=probe)
        result = self.ready().match(query)
        return [m.to_json() for m in result.matches], [m.to_json() for m in result.allowed]

    def video_undecided(self, features: Sequence[VpdqFeature], views: Sequence[VideoView] = ()) -> bool:
        return self.ready().video_undecided(features, views)
