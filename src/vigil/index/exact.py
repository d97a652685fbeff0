"""Exact lookups of md5, sha1 and sha256 values over millions of listed digests.

Digests are kept as sorted fixed-width byte strings in one numpy array (16-32 bytes
each, no per-value Python object), searched with ``np.searchsorted``: a 10-million
entry md5 list costs 160 MB, not the gigabytes a dict of strings would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["ExactIndex"]


class ExactIndex:
    """Sorted digests of one signal type; ``rows`` says which input row each came from."""

    def __init__(self, digests: np.ndarray, rows: np.ndarray) -> None:
        self.digests = digests  # (N,) dtype S<width>, sorted
        self.rows = rows  # (N,) int64: the input row of each sorted digest

    @classmethod
    def build(cls, hexes: Sequence[str], width: int) -> ExactIndex:
        """``hexes`` are lower-case hex digests of ``width`` bytes each."""
        if not hexes:
            return cls(np.empty(0, dtype=f"S{width}"), np.empty(0, dtype=np.int64))
        raw = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=f"S{width}")
        order = np.argsort(raw, kind="stable")
        return cls(raw[order], order.astype(np.int64))

    def __len__(self) -> int:
        return len(self.digests)

    @property
    def nbytes(self) -> int:
        return int(self.digests.nbytes + self.rows.nbytes)

    def lookup(self, hexes: Sequence[str]) -> list[list[int]]:
        """For each query digest, the input rows holding exactly that digest."""
        if not hexes or not len(self.digests):
            return [[] for _ in hexes]
        width = self.digests.dtype.itemsize
        queries = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=f"S{width}")
        lo = np.searchsorted(self.digests, queries, side="left")
        hi = np.searchsorted(self.digests, queries, side="right")
        return [self.rows[a:b].tolist() for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.digests.npy", self.digests)
        np.save(folder / f"{name}.rows.npy", self.rows)

    @classmethod
    def load(cls, folder: Path, name: str) -> ExactIndex:
        return cls(np.load(folder / f"{name}.digests.npy", mmap_mode="r"),
                   np.load(folder / f"{name}.rows.npy", mmap_mode="r"))
