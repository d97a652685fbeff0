"""Match events: every lookup or upload that matched is recorded (when, which key, which list and
entry, distance, variant, the query's hashes, the client's content id and metadata); lookups that
match nothing are only counted (``metrics``). The review desk works from these rows.

A record that cannot be written (the database is away) is logged and the answer still goes out: a
platform blocking an upload must not be told "no match" because the record failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from ..errors import VigilError
from ..matching import QueryResult
from ..store import Store
from ..store.schema import match_events

__all__ = ["count_events", "record_matches"]

_log = logging.getLogger("vigil.serve")


def record_matches(store: Store, source: str, key_name: str | None,
                   found: Sequence[tuple[dict[str, Any], QueryResult]], content_id: str | None = None,
                   metadata: dict[str, Any] | None = None) -> int:
    """Record the matches of each (query's hashes, result); returns how many rows were written."""
    at = datetime.now(UTC)
    meta = json.dumps(metadata, ensure_ascii=False) if metadata is not None else None
    rows = [{"at": at, "source": source, "key_name": key_name, "list_name": m.list, "entry_id": m.entry,
             "signal": m.signal, "distance": int(m.distance), "variant": m.variant, "category": m.category,
             "query": json.dumps(query, ensure_ascii=False), "content_id": content_id, "metadata": meta}
            for query, result in found for m in result.matches]
    if not rows:
        return 0
    try:
        with store.begin() as conn:
            conn.execute(match_events.insert(), rows)
    except VigilError as exc:
        _log.error("could not record %d match events: %s", len(rows), exc)
        return 0
    return len(rows)


def count_events(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(match_events)).scalar_one())
