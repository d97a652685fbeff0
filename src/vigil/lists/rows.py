"""Records made ready to store: encoded once, where the file is read (maybe in another process)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

from ..signals import SIGNALS
from .model import Record, metadata_to_json, signals_to_json
from .windows import split_windows

__all__ = ["BATCH", "PreparedRows", "Row", "prepare", "prepared_batches"]

BATCH = 5000  # records per round trip: bounded memory, and few enough parameters for every database


class Row(NamedTuple):
    """A record made ready to store (encoded where the file is read, maybe in another process)."""

    entry_id: str
    category: str | None
    category_scheme: str | None
    meta_json: str
    signals_json: str  # the signals kept as JSON items: all but the derived windows
    windows: bytes | None  # the derived windows, packed (vigil.store.windows)
    digest: str  # of what the entry says (not its id, not whether it is revoked)
    revoked: bool
    tombstone: bool  # a deletion notice: an id and nothing else
    matchable: bool  # has a signal Vigil matches


def prepare(record: Record) -> Row:
    # The digest is of every signal as JSON, as before windows were packed: stores made then say
    # "unchanged" to the same records now.
    signals_json = signals_to_json(record.signals)
    meta_json = metadata_to_json(record.metadata)
    text = "\x00".join((signals_json, record.category or "", record.category_scheme or "", meta_json))
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()
    kept, windows = split_windows(record.signals)
    if windows is not None:
        signals_json = signals_to_json(kept)
    return Row(record.id, record.category, record.category_scheme, meta_json, signals_json, windows, digest,
               record.revoked, record.revoked and not record.signals,
               any(s.type in SIGNALS for s in record.signals))


def prepared_batches(records: Iterable[Record], size: int = BATCH) -> Iterator[list[Row]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield [prepare(r) for r in chunk]


@dataclass(frozen=True)
class PreparedRows:
    """Batches of rows already prepared (by a reader process: see ``reading``)."""

    batches: Iterable[list[Row]]
