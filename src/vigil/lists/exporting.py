"""Writing a list out in an exchange format."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ..store import Store
from .catalog import get_list, iter_records
from .formats import get_format
from .model import Record

__all__ = ["export_list"]


def export_list(store: Store, name: str, format: str, out: BinaryIO) -> int:
    """Stream a list into ``out``; returns how many entries were written.

    Derived signals (the extra hashes of media-backed entries) stay in Vigil: the
    formats carry each medium's own hashes only. Revoked entries are written only by
    formats that can say an entry is revoked (NCMEC deletions, StopNCII Withdrawn).
    """
    fmt = get_format(format)
    with store.connect() as conn:
        get_list(conn, name)  # a clear error before anything is written
    written = 0

    def records() -> Iterator[Record]:
        nonlocal written
        for record in iter_records(store, name, include_revoked=fmt.carries_revocations, derived=False):
            written += 1
            yield record

    fmt.write(records(), out, list_name=name)
    return written
