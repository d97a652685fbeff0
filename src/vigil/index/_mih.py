"""Numba kernels behind :mod:`vigil.index.pdq`: table builds, multi-index search, brute force.

Everything here works on one shard: ``words`` is the shard's hashes as ``(n, 4)`` little-endian
uint64 (chunk ``j`` of a hash is 32-bit half ``j % 2`` of word ``j // 2``), sorted by chunk 0's
bucket key; ``offsets`` is ``(8, 2**r_bits + 1)`` bucket starts per chunk; ``entries`` is
``(7, n)`` uint32 for chunks 1-7, each ``row << 8 | prefilter``: the 8 chunk bits just below the
bucket key, which reject most of a bucket without reading ``words``.

The search kernels release the GIL, so the caller runs query batches on threads; each returns
its matches as three arrays (query index within the batch, row, distance), unsorted.

Three measured rules shape the loops. Arrays are never replaced inside a hot loop (replacing one
mid-loop made a scan 20 times slower: LLVM could no longer keep it in registers), so the loops fill
buffers up to their capacity, count past it, and the caller grows the buffer and runs that step
again. Indexes into the tables are unsigned where they can be, which spares numba's negative-index
wraparound on every read. And a batch of queries walks each table region by region (2**g_bits
regions of consecutive buckets), every query probing its buckets in the region before the next
region, so a region's offsets and entries come from memory once per batch rather than once per
query: 1.6 times the queries per second on a batch of 10,000 at 10 million hashes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["CHUNKS", "PREFILTER_BITS", "ROW_BITS", "bucket_keys", "chunk_table", "counting_order", "search_brute",
           "search_mih"]

CHUNKS = 8
ROW_BITS = 24  # a row number shares a uint32 table word with the 8 prefilter bits
PREFILTER_BITS = 8
_LOW32 = 0xFFFFFFFF


def _ctpop_typer(typingctx: Any, x: Any) -> Any:
    """LLVM's ctpop: one POPCNT instruction on any x86-64 made since 2008."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.int64(types.uint64)  # signed, so comparisons with thresholds stay integer

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return sig, codegen


_popcount: Any = intrinsic(_ctpop_typer)


@njit(cache=True, nogil=True, inline="always")
def _chunk(words: np.ndarray, row: Any, j: int) -> Any:
    return (words[row, j >> 1] >> np.uint64(32 * (j & 1))) & np.uint64(_LOW32)


@njit(cache=True, nogil=True, inline="always")
def _distance(words: np.ndarray, row: Any, query: np.ndarray) -> Any:
    return (
        _popcount(words[row, 0] ^ query[0])
        + _popcount(words[row, 1] ^ query[1])
        + _popcount(words[row, 2] ^ query[2])
        + _popcount(words[row, 3] ^ query[3])
    )


# ---------------------------------------------------------------- building


@njit(cache=True, nogil=True)
def bucket_keys(words: np.ndarray, j: int, r_bits: int) -> np.ndarray:
    """Chunk ``j``'s top ``r_bits`` bits for every row: the bucket each row falls in."""
    n = words.shape[0]
    keys = np.empty(n, np.uint32)
    shift = np.uint64(32 - r_bits)
    for i in range(n):
        keys[i] = _chunk(words, i, j) >> shift
    return keys


@njit(cache=True, nogil=True)
def counting_order(keys: np.ndarray, r_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """A stable counting sort of ``keys`` (each < 2**r_bits): the order and the bucket offsets.

    Linear in n, where np.argsort on 10 million keys takes a second per table.
    """
    buckets = 1 << r_bits
    offsets = np.zeros(buckets + 1, np.uint32)
    for k in keys:
        offsets[k + 1] += 1
    for b in range(buckets):
        offsets[b + 1] += offsets[b]
    fill = offsets[:-1].copy()
    order = np.empty(keys.shape[0], np.int64)
    for i in range(keys.shape[0]):
        k = keys[i]
        order[fill[k]] = i
        fill[k] += 1
    return order, offsets


@njit(cache=True, nogil=True)
def chunk_table(words: np.ndarray, j: int, r_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The table for chunk ``j`` (1-7): rows grouped by bucket key, with their prefilter bits."""
    order, offsets = counting_order(bucket_keys(words, j, r_bits), r_bits)
    pre_shift = np.uint64(32 - r_bits - PREFILTER_BITS)
    entries = np.empty(order.shape[0], np.uint32)
    for k in range(order.shape[0]):
        row = order[k]
        pre = (_chunk(words, row, j) >> pre_shift) & np.uint64(0xFF)
        entries[k] = np.uint32((np.uint64(row) << np.uint64(PREFILTER_BITS)) | pre)
    return entries, offsets


# ---------------------------------------------------------------- multi-index search


@njit(cache=True, nogil=True)
def _grow(array: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(max(size, 2 * array.shape[0]), array.dtype)
    out[: array.shape[0]] = array
    return out


@njit(cache=True, nogil=True)
def _probe_rows(words: np.ndarray, offsets0: np.ndarray, queries: np.ndarray, qchunk0: np.ndarray, keys: np.ndarray,
                key_hi: np.ndarray, region: Any, t0: int, tcap: int, radius: int, masks: np.ndarray,
                mask_starts: np.ndarray, mask_ends: np.ndarray, out_q: np.ndarray, out_row: np.ndarray,
                out_dist: np.ndarray, count: int) -> int:
    """Table 0 in one region: its buckets are runs of ``words`` rows, checked on the spot.

    Fills the output up to its capacity and returns the count, which may run past it.
    """
    cap = out_q.shape[0]
    low32 = np.uint64(_LOW32)
    for qi in range(queries.shape[0]):
        group = region ^ key_hi[qi]
        key = keys[qi]
        c0 = qchunk0[qi]
        for mi in range(mask_starts[group], mask_ends[tcap, group]):
            b = key ^ masks[mi]
            for row in range(offsets0[b], offsets0[b + np.uint64(1)]):
                if _popcount((words[row, 0] & low32) ^ c0) > t0:
                    continue
                dist = _distance(words, row, queries[qi])
                if dist <= radius:
                    if count < cap:
                        out_q[count] = qi
                        out_row[count] = row
                        out_dist[count] = dist
                    count += 1
    return count


@njit(cache=True, nogil=True)
def _probe_table(entries_j: np.ndarray, offsets_j: np.ndarray, qpre: np.ndarray, keys: np.ndarray, key_hi: np.ndarray,
                 region: Any, tj: int, tcap: int, masks: np.ndarray, mask_flips: np.ndarray, mask_starts: np.ndarray,
                 mask_ends: np.ndarray, cand: np.ndarray, ncand: int) -> int:
    """Table j >= 1 in one region: entries whose prefilter bits are close enough become candidates.

    A candidate is ``query << 32 | row``. Fills ``cand`` up to its capacity; returns the count.
    """
    cap = cand.shape[0]
    byte = np.uint64(0xFF)
    for qi in range(keys.shape[0]):
        group = region ^ key_hi[qi]
        key = keys[qi]
        p = qpre[qi]
        tag = np.uint64(qi) << np.uint64(32)
        for mi in range(mask_starts[group], mask_ends[tcap, group]):
            b = key ^ masks[mi]
            budget = tj - mask_flips[mi]  # key bits already differ in mask_flips places
            for k in range(offsets_j[b], offsets_j[b + np.uint64(1)]):
                e = np.uint64(entries_j[k])
                if _popcount((e ^ p) & byte) <= budget:
                    if ncand < cap:
                        cand[ncand] = tag | (e >> np.uint64(PREFILTER_BITS))
                    ncand += 1
    return ncand


@njit(cache=True, nogil=True)
def _verify(words: np.ndarray, queries: np.ndarray, qchunks: np.ndarray, thresholds: np.ndarray, j: int, radius: int,
            cand: np.ndarray, ncand: int, dists: np.ndarray, out_q: np.ndarray, out_row: np.ndarray,
            out_dist: np.ndarray, count: int) -> int:
    """Full distances of table j's candidates; a match is kept by the first table that finds it.

    The caller makes room for ``ncand`` more matches.
    """
    n = words.shape[0]
    low32 = np.uint64(_LOW32)
    for c in range(ncand):
        # No branches here, so the CPU overlaps these reads from all over ``words``.
        qi = cand[c] >> np.uint64(32)
        row = min(cand[c] & low32, np.uint64(n - 1))
        dists[c] = _distance(words, row, queries[qi])
    for c in range(ncand):
        if dists[c] > radius:
            continue
        qi = cand[c] >> np.uint64(32)
        row = cand[c] & low32
        if row >= np.uint64(n):  # a damaged table must not make us report (or read) past the end
            continue
        first = -1
        for i in range(j + 1):
            if thresholds[i] >= 0 and _popcount(_chunk(words, row, i) ^ qchunks[qi, i]) <= thresholds[i]:
                first = i
                break
        if first == j:
            out_q[count] = qi
            out_row[count] = row
            out_dist[count] = dists[c]
            count += 1
    return count


@njit(cache=True, nogil=True)
def search_mih(words: np.ndarray, offsets: np.ndarray, entries: np.ndarray, r_bits: int, g_bits: int,
               queries: np.ndarray, radius: int, thresholds: np.ndarray, masks: np.ndarray, mask_flips: np.ndarray,
               mask_starts: np.ndarray, mask_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row within ``radius`` of each query, by multi-index hashing over the 8 chunks.

    ``thresholds[j]`` is how far chunk ``j`` may be from the query's chunk for table ``j`` to be
    searched (-1: skip the table); they satisfy sum(t_j + 1) >= radius + 1, so any row within
    ``radius`` is within t_j on some chunk (pigeonhole). ``masks`` are the r_bits-bit flip patterns
    with at most max(t_j) bits set, grouped by their top g_bits (the region they move a key to
    from the query's own): group h is ``masks[mask_starts[h]:]``, sorted by popcount
    (``mask_flips``), the first ``mask_ends[t, h]`` of them flipping at most t bits. A row is
    reported by the first table whose threshold it meets, so never twice.
    """
    n = words.shape[0]
    nq = queries.shape[0]
    out_q = np.empty(max(1024, 4 * nq), np.int64)
    out_row = np.empty(out_q.shape[0], np.int64)
    out_dist = np.empty(out_q.shape[0], np.int32)
    count = 0
    if n == 0 or nq == 0:
        return out_q[:0], out_row[:0], out_dist[:0]
    key_shift = np.uint64(32 - r_bits)
    pre_shift = np.uint64(32 - r_bits - PREFILTER_BITS)
    hi_shift = np.uint64(r_bits - g_bits)
    qchunks = np.empty((nq, CHUNKS), np.uint64)
    for qi in range(nq):
        for j in range(CHUNKS):
            qchunks[qi, j] = _chunk(queries, qi, j)
    keys = np.empty(nq, np.uint64)
    key_hi = np.empty(nq, np.uint64)
    qpre = np.empty(nq, np.uint64)
    cand = np.empty(max(4096, 256 * nq), np.uint64)
    for j in range(CHUNKS):
        tj = thresholds[j]
        if tj < 0:
            continue
        tcap = min(tj, r_bits)
        for qi in range(nq):
            keys[qi] = qchunks[qi, j] >> key_shift
            key_hi[qi] = keys[qi] >> hi_shift
            qpre[qi] = (qchunks[qi, j] >> pre_shift) & np.uint64(0xFF)
        ncand = 0
        for region in range(1 << g_bits):
            g = np.uint64(region)
            if j == 0:
                new = _probe_rows(words, offsets[0], queries, qchunks[:, 0], keys, key_hi, g, tj, tcap, radius, masks,
                                  mask_starts, mask_ends, out_q, out_row, out_dist, count)
                if new > out_q.shape[0]:
                    out_q, out_row, out_dist = _grow(out_q, new), _grow(out_row, new), _grow(out_dist, new)
                    new = _probe_rows(words, offsets[0], queries, qchunks[:, 0], keys, key_hi, g, tj, tcap, radius,
                                      masks, mask_starts, mask_ends, out_q, out_row, out_dist, count)
                count = new
            else:
                new = _probe_table(entries[j - 1], offsets[j], qpre, keys, key_hi, g, tj, tcap, masks, mask_flips,
                                   mask_starts, mask_ends, cand, ncand)
                if new > cand.shape[0]:
                    cand = _grow(cand, new)
                    new = _probe_table(entries[j - 1], offsets[j], qpre, keys, key_hi, g, tj, tcap, masks,
                                       mask_flips, mask_starts, mask_ends, cand, ncand)
                ncand = new
        if j == 0 or ncand == 0:
            continue
        if count + ncand > out_q.shape[0]:
            size = count + ncand
            out_q, out_row, out_dist = _grow(out_q, size), _grow(out_row, size), _grow(out_dist, size)
        dists = np.empty(ncand, np.int64)
        count = _verify(words, queries, qchunks, thresholds, j, radius, cand, ncand, dists, out_q, out_row, out_dist,
                        count)
    return out_q[:count], out_row[:count], out_dist[:count]


# ---------------------------------------------------------------- brute force


@njit(cache=True, nogil=True)
def _scan_block(words: np.ndarray, start: int, stop: int, queries: np.ndarray, radius: int, out_q: np.ndarray,
                out_row: np.ndarray, out_dist: np.ndarray, count: int) -> int:
    cap = out_q.shape[0]
    for qi in range(queries.shape[0]):
        q0, q1, q2, q3 = queries[qi, 0], queries[qi, 1], queries[qi, 2], queries[qi, 3]
        for row in range(start, stop):
            dist = (_popcount(words[row, 0] ^ q0) + _popcount(words[row, 1] ^ q1)
                    + _popcount(words[row, 2] ^ q2) + _popcount(words[row, 3] ^ q3))
            if dist <= radius:
                if count < cap:
                    out_q[count] = qi
                    out_row[count] = row
                    out_dist[count] = dist
                count += 1
    return count


@njit(cache=True, nogil=True)
def search_brute(words: np.ndarray, queries: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row within ``radius`` of each query, by comparing with every row.

    Rows are taken a block at a time against all queries, so each block is read from memory
    once per batch rather than once per query.
    """
    block = 4096
    n = words.shape[0]
    out_q = np.empty(1024, np.int64)
    out_row = np.empty(1024, np.int64)
    out_dist = np.empty(1024, np.int32)
    count = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        new = _scan_block(words, start, stop, queries, radius, out_q, out_row, out_dist, count)
        if new > out_q.shape[0]:
            out_q, out_row, out_dist = _grow(out_q, new), _grow(out_row, new), _grow(out_dist, new)
            new = _scan_block(words, start, stop, queries, radius, out_q, out_row, out_dist, count)
        count = new
    return out_q[:count], out_row[:count], out_dist[:count]
