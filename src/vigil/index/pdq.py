"""An exact range-search index over PDQ hashes: every listed hash within a radius of a query.

Multi-index hashing (Norouzi et al.) with the pigeonhole bound. The 256 bits are cut into 8
chunks of 32; if two hashes are within ``r`` bits, some chunk ``j`` is within ``t_j`` bits, for
any thresholds with ``sum(t_j + 1) >= r + 1`` (all 3 at the usual r = 31). Each chunk has a table
of rows grouped by the chunk's top ``r_bits`` bits; a query visits every bucket whose key is
within ``t_j`` of its own (1,351 of 2**20 at r_bits = 20, t = 3) and checks the full distance of
what it finds there. Nothing is approximate: every hash within the radius comes back.

Memory is the budget that shapes the layout (about 63 bytes a hash at 10 million, the 32-byte hash
included). The hashes themselves are stored sorted by chunk 0, so chunk 0's table is the hash
array; the other seven tables are one uint32 per hash: a 24-bit row number and 8 more bits of
the chunk, a prefilter that rejects most of a bucket without reading the hash. A 24-bit row caps a
shard at 2**24 hashes; a larger index is several shards, all searched.

Because rows are reordered, :meth:`PdqIndex.build` returns the order: index row ``i`` is input
row ``order[i]``, and callers reorder their own per-row data (entry ids) with it.

Saved indexes are plain ``.npy`` files and a JSON header, loaded with ``mmap`` so that a fresh
process answers its first query as soon as the numba kernels are loaded from their cache.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import os
import secrets
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorrupt, UsageError
from ..run import default_jobs
from . import _mih

__all__ = [
    "DEFAULT_RADIUS",
    "FORMAT",
    "FORMAT_VERSION",
    "PdqIndex",
    "SearchResult",
    "Strategy",
    "brute_force_search",
    "hex_to_bits",
    "HASH_BYTES",
    "MAX_SHARD_ROWS",
]

DEFAULT_RADIUS = 31  # the PDQ match threshold the lists in the field use
FORMAT = "vigil-pdq-index"
FORMAT_VERSION = 1
HASH_BYTES = 32
MAX_SHARD_ROWS = 1 << _mih.ROW_BITS
_HEADER = "index.json"
_MIN_R_BITS, _MAX_R_BITS = 8, 20  # 20: 8-16 hashes a bucket from 2**23 hashes to a full shard
# The multi-index search reads about (buckets visited / buckets) of every table; past this share
# of the rows a plain scan, which reads each row once and in order, is as fast.
_BRUTE_FORCE_SHARE = 0.25
_REGION_BITS = 10
_MIH_BATCH = 8192  # larger batches share each region's reads among more queries
_BRUTE_BATCH = 256


class Strategy(Enum):
    """How :meth:`PdqIndex.search` finds matches; all are exact."""

    AUTO = "auto"  # multi-index unless the radius makes it visit most of every table
    MULTI_INDEX = "multi-index"
    BRUTE_FORCE = "brute-force"


@dataclass(frozen=True)
class SearchResult:
    """Every (query, row, distance) with distance <= radius, sorted by query, distance, row."""

    query: np.ndarray  # int64 index into the queries
    row: np.ndarray  # int64 index row (see PdqIndex.build's order)
    distance: np.ndarray  # int32 Hamming distance

    def __len__(self) -> int:
        return int(self.query.shape[0])


@dataclass(frozen=True)
class _Shard:
    words: np.ndarray  # (n, 4) uint64, read-only: the hashes, sorted by chunk 0's bucket key
    offsets: np.ndarray  # (8, 2**r_bits + 1) uint32 bucket starts, one row per chunk
    entries: np.ndarray  # (7, n) uint32: row << 8 | prefilter, for chunks 1-7
    r_bits: int
    start: int  # index row of this shard's row 0

    @property
    def count(self) -> int:
        return int(self.words.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes + self.offsets.nbytes + self.entries.nbytes)


def hex_to_bits(hexes: Iterable[str]) -> np.ndarray:
    """PDQ hashes as 64-digit hex strings → an (N, 32) uint8 array, one hash a row.

    One ``bytearray.fromhex`` over the joined text: about 20 times faster than a row at a time.
    """
    if isinstance(hexes, str | bytes):
        raise UsageError("hex_to_bits takes a list of PDQ hashes, not one string")
    items = hexes if isinstance(hexes, Sequence) else list(hexes)
    raw: bytearray | None = None
    try:
        if np.all(np.fromiter(map(len, items), dtype=np.int64, count=len(items)) == 2 * HASH_BYTES):
            raw = bytearray.fromhex("".join(items))
    except (TypeError, ValueError):  # not strings, or not hexadecimal
        raw = None
    if raw is None or len(raw) != HASH_BYTES * len(items):  # fromhex skips spaces: count the bytes too
        raise UsageError(f"not a PDQ hash (64 hexadecimal digits): {_first_bad_hex(items)!r}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(items), HASH_BYTES)


def _first_bad_hex(items: Sequence[object]) -> object:
    for item in items:
        try:
            if isinstance(item, str) and len(item) == 2 * HASH_BYTES and len(bytes.fromhex(item)) == HASH_BYTES:
                continue
        except ValueError:
            pass
        return item[:80] if isinstance(item, str) else item
    return ""


def brute_force_search(
    hashes: np.ndarray, queries: np.ndarray, radius: int = DEFAULT_RADIUS, *, threads: int | None = None
) -> SearchResult:
    """Every row of ``hashes`` within ``radius`` of each query, by comparing all pairs.

    No index, any radius; what the index's answers are checked against.
    """
    words = _as_words(hashes, "hashes")
    words.flags.writeable = False
    shard = _Shard(words, np.zeros((0, 0), np.uint32), np.zeros((0, 0), np.uint32), _MIN_R_BITS, 0)
    return _search_shards([shard], _as_words(queries, "queries"), _check_radius(radius), Strategy.BRUTE_FORCE, threads)


class PdqIndex:
    """Exact Hamming range search over PDQ hashes (see the module's docstring for the layout)."""

    def __init__(self, shards: Sequence[_Shard]) -> None:
        self._shards = tuple(shards)
        self._count = sum(s.count for s in self._shards)

    @classmethod
    def build(cls, hashes: np.ndarray) -> tuple[PdqIndex, np.ndarray]:
        """Index ``hashes``, (N, 32) uint8 (``bytes.fromhex`` of each PDQ hex): the index and its order.

        Index row ``i`` holds input row ``order[i]``; search results name index rows.
        """
        words = _as_words(hashes, "hashes")
        total = words.shape[0]
        parts = max(1, math.ceil(total / MAX_SHARD_ROWS))
        bounds = [total * k // parts for k in range(parts + 1)]
        shards: list[_Shard] = []
        orders: list[np.ndarray] = []
        for lo, hi in itertools.pairwise(bounds):
            shard, order = _build_shard(words[lo:hi], lo)
            shards.append(shard)
            orders.append(order + lo)
        order = np.concatenate(orders) if orders else np.zeros(0, np.int64)
        return cls(shards), order

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Bytes of all the index's arrays (the hashes included)."""
        return sum(s.nbytes for s in self._shards)

    @property
    def shards(self) -> int:
        return len(self._shards)

    def hashes(self, rows: np.ndarray) -> np.ndarray:
        """The stored hashes of index ``rows``, (len(rows), 32) uint8."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self._count):
            raise UsageError(f"index rows run from 0 to {self._count - 1}")
        out = np.empty((rows.shape[0], 4), np.uint64)
        for shard in self._shards:
            mine = (rows >= shard.start) & (rows < shard.start + shard.count)
            out[mine] = shard.words[rows[mine] - shard.start]
        return out.view(np.uint8).reshape(-1, HASH_BYTES)

    def search(
        self,
        queries: np.ndarray,
        radius: int = DEFAULT_RADIUS,
        *,
        strategy: Strategy = Strategy.AUTO,
        threads: int | None = None,
    ) -> SearchResult:
        """Every index row within ``radius`` bits of each of ``queries``, (Q, 32) uint8.

        Exact at any radius; ``threads`` query batches run at once (default: one per core).
        """
        return _search_shards(self._shards, _as_words(queries, "queries"), _check_radius(radius), strategy, threads)

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` so that a crash at any moment leaves the previous one whole.

        The arrays go to a fresh data folder first; replacing ``index.json``, which names that folder,
        is the one step that switches readers over. Older data folders are removed afterwards.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        data = f"data-{secrets.token_hex(6)}"
        partial = folder / f"{data}.partial"
        partial.mkdir()
        shards_meta: list[dict[str, Any]] = []
        for k, shard in enumerate(self._shards):
            for name, array in _shard_arrays(shard).items():
                path = partial / f"shard{k}-{name}.npy"
                with path.open("wb") as f:
                    np.save(f, np.ascontiguousarray(array), allow_pickle=False)
                    f.flush()
                    os.fsync(f.fileno())
            shards_meta.append({"count": shard.count, "r_bits": shard.r_bits})
        _fsync_dir(partial)
        os.replace(partial, folder / data)
        header = {"format": FORMAT, "version": FORMAT_VERSION, "count": self._count, "data": data,
                  "shards": shards_meta}
        tmp = folder / f"{_HEADER}.{secrets.token_hex(4)}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(header, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / _HEADER)
        _fsync_dir(folder)
        for old in folder.glob("data-*"):
            if old.name != data and old.is_dir():
                shutil.rmtree(old)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> PdqIndex:
        """Open an index written by :meth:`save`; with ``mmap`` the arrays are paged in as queries touch them.

        Raises :class:`vigil.errors.IndexCorrupt` when the folder is missing, damaged or from another format version.
        """
        folder = Path(folder)
        header = _read_header(folder)
        data = folder / header["data"]
        shards: list[_Shard] = []
        start = 0
        for k, meta in enumerate(header["shards"]):
            count, r_bits = meta["count"], meta["r_bits"]
            hashes = _load_array(data / f"shard{k}-hashes.npy", np.uint8, (count, HASH_BYTES), mmap)
            offsets = _load_array(data / f"shard{k}-offsets.npy", np.uint32, (_mih.CHUNKS, (1 << r_bits) + 1), mmap)
            entries = _load_array(data / f"shard{k}-entries.npy", np.uint32, (_mih.CHUNKS - 1, count), mmap)
            _check_offsets(offsets, count, data / f"shard{k}-offsets.npy")
            shards.append(_Shard(_readonly(hashes.view("<u8")), offsets, entries, r_bits, start))
            start += count
        if start != header["count"]:
            raise IndexCorrupt(f"PDQ index at {folder}: the shards hold {start} hashes, the header says "
                               f"{header['count']}; rebuild the index")
        return cls(shards)


def _as_words(hashes: np.ndarray, what: str) -> np.ndarray:
    """(N, 32) uint8 → a fresh C-ordered (N, 4) uint64 copy (also the one array type the kernels see)."""
    if not isinstance(hashes, np.ndarray) or hashes.ndim != 2 or hashes.shape[1] != HASH_BYTES:
        shape = getattr(hashes, "shape", type(hashes).__name__)
        raise UsageError(f"{what} must be an (N, 32) uint8 array, one PDQ hash a row (got {shape})")
    if hashes.dtype != np.uint8:
        raise UsageError(f"{what} must be uint8 (bytes.fromhex of each PDQ hash), not {hashes.dtype}")
    return np.array(hashes, dtype=np.uint8, order="C", copy=True).view("<u8")


def _readonly(array: np.ndarray) -> np.ndarray:
    # Built and loaded arrays alike are read-only, so the kernels compile (and cache) one variant.
    array.flags.writeable = False
    return array


def _check_radius(radius: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer) or radius < 0:
        raise UsageError(f"the radius is a number of bits, 0 or more (got {radius!r})")
    return min(int(radius), 8 * HASH_BYTES)


def _r_bits(count: int) -> int:
    """Bucket key width for a shard of ``count`` hashes: 8 to 16 hashes a bucket.

    Fewer, fuller buckets would cost a query more entry checks; more, emptier ones more bucket
    visits (each a likely cache miss) and more offsets: at 8 a bucket they cost 4 bytes a hash,
    the most the 64-byte budget leaves once the hash (32) and seven table entries (28) are paid.
    """
    if count < 2:
        return _MIN_R_BITS
    return max(_MIN_R_BITS, min(_MAX_R_BITS, count.bit_length() - 1 - 3))


def _build_shard(words: np.ndarray, start: int) -> tuple[_Shard, np.ndarray]:
    r_bits = _r_bits(words.shape[0])
    order, offsets0 = _mih.counting_order(_mih.bucket_keys(words, 0, r_bits), r_bits)
    sorted_words = np.ascontiguousarray(words[order])
    offsets = np.empty((_mih.CHUNKS, (1 << r_bits) + 1), np.uint32)
    offsets[0] = offsets0
    entries = np.empty((_mih.CHUNKS - 1, sorted_words.shape[0]), np.uint32)
    for j in range(1, _mih.CHUNKS):
        entries[j - 1], offsets[j] = _mih.chunk_table(sorted_words, j, r_bits)
    shard = _Shard(_readonly(sorted_words), _readonly(offsets), _readonly(entries), r_bits, start)
    return shard, order


def _shard_arrays(shard: _Shard) -> dict[str, np.ndarray]:
    return {"hashes": shard.words.view(np.uint8), "offsets": shard.offsets, "entries": shard.entries}


def _thresholds(radius: int) -> np.ndarray:
    """Per-chunk thresholds t_j with sum(t_j + 1) = radius + 1: the least the pigeonhole allows."""
    base, extra = divmod(radius + 1, _mih.CHUNKS)
    return np.array([base - 1 + (j < extra) for j in range(_mih.CHUNKS)], dtype=np.int64)


def _region_bits(r_bits: int, batch: int) -> int:
    """How many regions a batch walks each table in (as a power of two).

    At 10 million hashes and 2**10 regions a region's slice of a table is 40 KB, which stays in
    cache while the batch's queries probe it; a handful of queries gains nothing from regions and
    pays for visiting them all.
    """
    if batch < 8:
        return 0
    return min(_REGION_BITS, r_bits, batch.bit_length() + 1)


@functools.lru_cache(maxsize=16)
def _flip_masks(r_bits: int, g_bits: int, tmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The r_bits-bit masks with at most ``tmax`` bits set, grouped as ``_mih.search_mih`` wants.

    Group h holds the masks whose top g_bits are h, sorted by how many bits they flip:
    (masks, flips, starts[h], ends[t, h]).
    """
    tcap = min(tmax, r_bits)
    masks = np.arange(1 << r_bits, dtype=np.uint64)
    flips = np.bitwise_count(masks).astype(np.int64)
    keep = flips <= tcap
    masks, flips = masks[keep], flips[keep]
    groups = (masks >> np.uint64(r_bits - g_bits)).astype(np.int64)
    order = np.lexsort((masks, flips, groups))
    masks, flips, groups = masks[order], flips[order], groups[order]
    starts = np.searchsorted(groups, np.arange((1 << g_bits) + 1)).astype(np.int64)
    # Within a group masks run in order of flips, so those with at most t flips are a prefix.
    ends = np.empty((tcap + 1, 1 << g_bits), np.int64)
    for t in range(tcap + 1):
        upto = np.concatenate([[0], np.cumsum(flips <= t)])
        ends[t] = starts[:-1] + upto[starts[1:]] - upto[starts[:-1]]
    return _readonly(masks), _readonly(flips), _readonly(starts), _readonly(ends)


def _mih_share(shard: _Shard, thresholds: np.ndarray) -> float:
    """The share of a shard's table entries a multi-index search reads per query."""
    visited = sum(sum(math.comb(shard.r_bits, f) for f in range(min(int(t), shard.r_bits) + 1))
                  for t in thresholds if t >= 0)
    return visited / float(1 << shard.r_bits)


def _search_shards(
    shards: Sequence[_Shard], queries: np.ndarray, radius: int, strategy: Strategy, threads: int | None
) -> SearchResult:
    thresholds = _readonly(_thresholds(radius))
    plans = []
    for shard in shards:
        if shard.count == 0:
            continue
        brute = strategy is Strategy.BRUTE_FORCE or (
            strategy is Strategy.AUTO and _mih_share(shard, thresholds) > _BRUTE_FORCE_SHARE)
        plans.append((shard, brute))
    nq = queries.shape[0]
    if not plans or nq == 0:
        return _empty_result()
    workers = max(1, threads if threads is not None else default_jobs())
    # Equal batches, a whole number of them per worker, none larger than the cap.
    cap = _BRUTE_BATCH if all(brute for _, brute in plans) else _MIH_BATCH
    rounds = math.ceil(nq / (workers * cap))
    batch = math.ceil(nq / (workers * rounds))
    tmax = int(thresholds.max())

    def run(lo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part = queries[lo:lo + batch]
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for shard, brute in plans:
            if brute:
                q, row, dist = _mih.search_brute(shard.words, part, radius)
            else:
                g_bits = _region_bits(shard.r_bits, len(part))
                masks, flips, starts, ends = _flip_masks(shard.r_bits, g_bits, tmax)
                q, row, dist = _mih.search_mih(shard.words, shard.offsets, shard.entries, shard.r_bits, g_bits, part,
                                               radius, thresholds, masks, flips, starts, ends)
            found.append((q + lo, row + shard.start, dist))
        return _concat(found)

    starts = range(0, nq, batch)
    if workers == 1 or len(starts) == 1:
        pieces = [run(lo) for lo in starts]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pieces = list(pool.map(run, starts))
    q, row, dist = _concat(pieces)
    order = np.lexsort((row, dist, q))
    return SearchResult(q[order], row[order], dist[order])


def _concat(pieces: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not pieces:
        empty = _empty_result()
        return empty.query, empty.row, empty.distance
    if len(pieces) == 1:
        return pieces[0]
    return (np.concatenate([p[0] for p in pieces]), np.concatenate([p[1] for p in pieces]),
            np.concatenate([p[2] for p in pieces]))


def _empty_result() -> SearchResult:
    return SearchResult(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_header(folder: Path) -> dict[str, Any]:
    path = folder / _HEADER
    if not folder.is_dir():
        raise IndexCorrupt(f"no PDQ index at {folder}: the folder does not exist")
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"no PDQ index at {folder}: {_HEADER} is missing (save an index there first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorrupt(f"PDQ index at {folder}: {_HEADER} cannot be read ({exc}); rebuild the index") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise IndexCorrupt(f"{path} is not a Vigil PDQ index header")
    if header.get("version") != FORMAT_VERSION:
        raise IndexCorrupt(f"PDQ index at {folder} has format version {header.get('version')!r}; this Vigil reads "
                           f"version {FORMAT_VERSION}: rebuild the index")
    if not _header_fields_ok(header):
        raise IndexCorrupt(f"{path} is damaged (missing or malformed fields); rebuild the index")
    return header


def _header_fields_ok(header: dict[str, Any]) -> bool:
    def whole(value: object, lo: int, hi: int) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi

    data, shards = header.get("data"), header.get("shards")
    if not (isinstance(data, str) and data.startswith("data-") and "/" not in data and "\\" not in data):
        return False
    if not whole(header.get("count"), 0, 1 << 62) or not isinstance(shards, list):
        return False
    return all(isinstance(s, dict) and whole(s.get("count"), 0, MAX_SHARD_ROWS)
               and whole(s.get("r_bits"), _MIN_R_BITS, _MAX_R_BITS) for s in shards)


def _load_array(path: Path, dtype: type[np.generic], shape: tuple[int, ...], mmap: bool) -> np.ndarray:
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise IndexCorrupt(f"PDQ index file {path} is missing; rebuild the index") from None
    except (OSError, ValueError, EOFError) as exc:
        raise IndexCorrupt(f"PDQ index file {path} is damaged ({exc}); rebuild the index") from exc
    if not isinstance(array, np.ndarray) or array.dtype != np.dtype(dtype) or array.shape != shape:
        found = f"{getattr(array, 'dtype', '?')} {getattr(array, 'shape', '?')}"
        raise IndexCorrupt(f"PDQ index file {path} holds {found}, expected {np.dtype(dtype)} {shape}; "
                           "rebuild the index")
    if not array.flags.c_contiguous:
        raise IndexCorrupt(f"PDQ index file {path} is not in C order; rebuild the index")
    return _readonly(np.asarray(array))


def _check_offsets(offsets: np.ndarray, count: int, path: Path) -> None:
    """Bucket bounds must run from 0 to ``count`` without going back: the kernels trust them."""
    ok = bool(np.all(offsets[:, 0] == 0) and np.all(offsets[:, -1] == count)
              and np.all(offsets[:, 1:] >= offsets[:, :-1]))
    if not ok:
        raise IndexCorrupt(f"PDQ index file {path} has inconsistent bucket offsets; rebuild the index")
