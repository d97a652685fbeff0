"""The lists as a worker process checks contents against them.

Matching happens where the content was hashed: the worker holds the photo's query hashes and the
video's frames, so only the matches travel back to the scan's main process (a few hundred bytes,
not the ~2-14 KB of query hashes a photo has), and matching runs on every core. The compiled
indexes are memory-mapped before the workers fork, so they share them; each worker opens its
own database connection to resolve entries (revocation is checked at that moment).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..matching import Matcher, PdqQuery, Query
from ..signals import SHA256
from ..signals.variants import Variant
from ..signals.vpdq import VpdqFeature

__all__ = ["ListCheck"]


class ListCheck:
    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._pid = os.getpid()

    def _ready(self) -> None:
        if os.getpid() != self._pid:
            self.matcher.store.after_fork()
            self._pid = os.getpid()

    def check(self, digests: dict[str, str], pdq: Sequence[Variant],
              vpdq: Sequence[VpdqFeature] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(block-list matches, allow-list matches) of one content, in the report's form."""
        self._ready()
        query = Query(digests.get(SHA256.name, ""), dict(digests), [PdqQuery(*v) for v in pdq],
                      list(vpdq) if vpdq else None)
        result = self.matcher.match(query)
        return [m.to_json() for m in result.matches], [m.to_json() for m in result.allowed]

    def video_undecided(self, features: Sequence[VpdqFeature]) -> bool:
        self._ready()
        return self.matcher.video_undecided(features)
