"""The PDQ range-search index returns exactly what comparing every pair returns.

The reference here is numpy (``np.bitwise_count`` over all pairs), independent of the numba kernels.
Clustered lists put a hash's differences where a chunk index is weakest: all in one chunk; all in
the same byte of every chunk (the bucket key's bits, the prefilter's, or those only the final check
reads); or a few bits in every chunk, just around the pigeonhole threshold.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vigil.errors import IndexCorrupt, InputUnusable, UsageError, VigilError
from vigil.index import pdq as pdq_index
from vigil.index.pdq import PdqIndex, SearchResult, Strategy, brute_force_search, hex_to_bits

RADII = [0, 1, 15, 31, 32, 40, 70]


def reference(hashes: np.ndarray, queries: np.ndarray, radius: int) -> set[tuple[int, int, int]]:
    """(query, input row, distance) for every pair within ``radius``, by numpy over all pairs."""
    words = np.ascontiguousarray(hashes).view(np.uint64)
    found: set[tuple[int, int, int]] = set()
    for qi, q in enumerate(np.ascontiguousarray(queries).view(np.uint64)):
        dist = np.bitwise_count(words ^ q).sum(axis=1)
        rows = np.flatnonzero(dist <= radius)
        found.update((qi, int(r), int(dist[r])) for r in rows)
    return found


def as_input_rows(result: SearchResult, order: np.ndarray) -> set[tuple[int, int, int]]:
    triples = zip(result.query.tolist(), order[result.row].tolist(), result.distance.tolist(), strict=True)
    found = set(triples)
    assert len(found) == len(result), "a match was reported twice"
    return found


def flip_bits(hash_: np.ndarray, positions: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(hash_)
    bits[positions] ^= 1
    return np.packbits(bits)


def clustered(rng: np.random.Generator, seeds: int, per_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Near-duplicates of a few seeds at distances 0-40, their differences placed adversarially."""
    base = rng.integers(0, 256, size=(seeds, 32), dtype=np.uint8)
    rows = []
    for s in range(seeds):
        for _ in range(per_seed):
            d = int(rng.integers(0, 41))
            style = rng.integers(4)
            if style == 0:  # anywhere
                pos = rng.choice(256, d, replace=False)
            elif style == 1:  # all in one chunk (a chunk holds 32 bits), then the next
                first = int(rng.integers(8))
                chunks = [first, *(c for c in rng.permutation(8) if c != first)]
                pos = np.concatenate([32 * c + rng.permutation(32) for c in chunks])[:d]
            elif style == 2:
                # All in the same byte of every chunk: depending on the byte, bits of the bucket keys (many
                # flips to probe), of the prefilter, or bits only the final check reads.
                byte = int(rng.integers(4))
                pool = np.array([32 * c + 8 * byte + b for c in range(8) for b in range(8)])
                pos = rng.choice(pool, min(d, pool.size), replace=False)
            else:  # spread evenly: every chunk 3-5 bits off, just around the pigeonhole threshold
                per = rng.integers(3, 6)
                pos = np.concatenate([32 * c + rng.choice(32, per, replace=False) for c in range(8)])[:d]
            rows.append(flip_bits(base[s], pos))
    return base, np.array(rows, dtype=np.uint8)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20240613)


def test_random_hashes_all_radii(rng: np.random.Generator) -> None:
    hashes = rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)
    queries = np.concatenate([clustered(rng, 1, 1)[1], hashes[:40], rng.integers(0, 256, (20, 32), dtype=np.uint8)])
    queries[1:40] = [flip_bits(h, rng.choice(256, int(rng.integers(0, 45)), replace=False)) for h in hashes[1:40]]
    index, order = PdqIndex.build(hashes)
    for radius in RADII:
        expected = reference(hashes, queries, radius)
        for strategy in Strategy:
            got = as_input_rows(index.search(queries, radius, strategy=strategy), order)
            assert got == expected, (radius, strategy)


def test_clustered_hashes_adversarial_differences(rng: np.random.Generator) -> None:
    seeds, hashes = clustered(rng, 6, 400)
    hashes = np.concatenate([hashes, rng.integers(0, 256, size=(2000, 32), dtype=np.uint8)])
    queries = np.concatenate([seeds, hashes[rng.choice(len(hashes), 30, replace=False)]])
    index, order = PdqIndex.build(hashes)
    for radius in RADII:
        expected = reference(hashes, queries, radius)
        got = as_input_rows(index.search(queries, radius, strategy=Strategy.MULTI_INDEX), order)
        assert got == expected, radius
        assert as_input_rows(index.search(queries, radius), order) == expected


def test_about_200k_hashes(rng: np.random.Generator) -> None:
    seeds, near = clustered(rng, 20, 200)
    hashes = np.concatenate([rng.integers(0, 256, size=(196_000, 32), dtype=np.uint8), near])
    queries = np.concatenate([seeds, near[::10], hashes[:100], rng.integers(0, 256, size=(100, 32), dtype=np.uint8)])
    index, order = PdqIndex.build(hashes)
    assert index.nbytes / len(index) < 64
    within_40 = reference(hashes, queries, 40)
    for radius in (31, 40):
        # One thread: the whole batch walks the tables region by region, as large batches do.
        got = as_input_rows(index.search(queries, radius, strategy=Strategy.MULTI_INDEX, threads=1), order)
        assert got == {m for m in within_40 if m[2] <= radius}


@pytest.mark.parametrize("n", [0, 1, 2, 37])
def test_tiny_lists(rng: np.random.Generator, n: int) -> None:
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    queries = np.concatenate([hashes, rng.integers(0, 256, size=(5, 32), dtype=np.uint8)])
    index, order = PdqIndex.build(hashes)
    assert len(index) == n and sorted(order.tolist()) == list(range(n))
    for radius in RADII:
        for strategy in Strategy:
            got = as_input_rows(index.search(queries, radius, strategy=strategy), order)
            assert got == reference(hashes, queries, radius)


def test_duplicates_all_returned(rng: np.random.Generator) -> None:
    one = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
    hashes = np.concatenate([np.repeat(one, 50, axis=0), rng.integers(0, 256, size=(500, 32), dtype=np.uint8)])
    index, order = PdqIndex.build(hashes)
    result = index.search(one, 0)
    assert sorted(order[result.row].tolist()) == list(range(50))
    assert set(result.distance.tolist()) == {0}


def test_results_sorted_by_query_then_distance(rng: np.random.Generator) -> None:
    seeds, hashes = clustered(rng, 3, 300)
    index, _ = PdqIndex.build(hashes)
    result = index.search(np.concatenate([seeds, seeds]), 40)
    keys = list(zip(result.query.tolist(), result.distance.tolist(), result.row.tolist(), strict=True))
    assert keys == sorted(keys) and len(keys) > 0
    assert result.query.dtype == np.int64 and result.row.dtype == np.int64 and result.distance.dtype == np.int32


def test_order_maps_index_rows_to_input_rows(rng: np.random.Generator) -> None:
    hashes = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
    index, order = PdqIndex.build(hashes)
    rows = np.arange(1000)
    assert np.array_equal(index.hashes(rows), hashes[order])
    with pytest.raises(UsageError):
        index.hashes(np.array([1000]))


def test_threads_and_batches_agree(rng: np.random.Generator) -> None:
    seeds, hashes = clustered(rng, 4, 300)
    queries = np.concatenate([seeds, hashes[::7]])
    index, _ = PdqIndex.build(hashes)
    one = index.search(queries, 31, threads=1)
    many = index.search(queries, 31, threads=3)
    for a, b in zip((one.query, one.row, one.distance), (many.query, many.row, many.distance), strict=True):
        assert np.array_equal(a, b)


def test_shards_search_as_one(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Above 2**24 hashes an index is several shards; a small shard limit shows the same in miniature."""
    monkeypatch.setattr(pdq_index, "MAX_SHARD_ROWS", 700)
    seeds, hashes = clustered(rng, 3, 800)
    index, order = PdqIndex.build(hashes)
    assert index.shards == 4
    expected = reference(hashes, seeds, 31)
    assert as_input_rows(index.search(seeds, 31), order) == expected
    index.save(tmp_path / "idx")
    assert as_input_rows(PdqIndex.load(tmp_path / "idx").search(seeds, 31), order) == expected


def test_brute_force_search_matches_reference(rng: np.random.Generator) -> None:
    seeds, hashes = clustered(rng, 2, 300)
    for radius in (0, 31, 100, 256, 1000):
        result = brute_force_search(hashes, seeds, radius)
        assert as_input_rows(result, np.arange(len(hashes))) == reference(hashes, seeds, radius)


def test_save_load_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    seeds, hashes = clustered(rng, 5, 200)
    index, order = PdqIndex.build(hashes)
    folder = tmp_path / "list-index"
    index.save(folder)
    index.save(folder)  # saving again replaces the data and leaves one data folder
    assert len(list(folder.glob("data-*"))) == 1
    before = index.search(seeds, 31)
    for mmap in (True, False):
        loaded = PdqIndex.load(folder, mmap=mmap)
        assert len(loaded) == len(index) and loaded.nbytes == index.nbytes
        after = loaded.search(seeds, 31)
        assert np.array_equal(before.row, after.row) and np.array_equal(before.distance, after.distance)
    assert as_input_rows(before, order) == reference(hashes, seeds, 31)


def test_empty_index_round_trip(tmp_path: Path) -> None:
    index, order = PdqIndex.build(np.zeros((0, 32), np.uint8))
    index.save(tmp_path / "empty")
    loaded = PdqIndex.load(tmp_path / "empty")
    assert len(loaded) == 0 and order.shape == (0,)
    assert len(loaded.search(np.zeros((3, 32), np.uint8))) == 0


def _saved(rng: np.random.Generator, tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "idx"
    PdqIndex.build(rng.integers(0, 256, size=(500, 32), dtype=np.uint8))[0].save(folder)
    return folder, next(folder.glob("data-*"))


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexCorrupt, match="does not exist"):
        PdqIndex.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexCorrupt, match=r"index\.json is missing"):
        PdqIndex.load(tmp_path / "empty")


def test_damaged_header_is_a_clear_error(rng: np.random.Generator, tmp_path: Path) -> None:
    folder, _ = _saved(rng, tmp_path)
    header_path = folder / "index.json"
    header = json.loads(header_path.read_text())
    cases = {
        "{not json": "cannot be read",
        json.dumps({**header, "version": 999}): "format version 999",
        json.dumps({**header, "format": "something else"}): "not a Vigil PDQ index",
        json.dumps({**header, "shards": [{"count": 500}]}): "damaged",
        json.dumps({**header, "data": "../elsewhere"}): "damaged",
        json.dumps({**header, "count": 499}): "header says 499",
    }
    for text, message in cases.items():
        header_path.write_text(text)
        with pytest.raises(IndexCorrupt, match=message) as caught:
            PdqIndex.load(folder)
        assert isinstance(caught.value, InputUnusable) and isinstance(caught.value, VigilError)
        assert "\n" not in str(caught.value)


def test_damaged_arrays_are_a_clear_error(rng: np.random.Generator, tmp_path: Path) -> None:
    folder, data = _saved(rng, tmp_path)
    hashes = data / "shard0-hashes.npy"
    good = hashes.read_bytes()
    hashes.write_bytes(good[: len(good) // 2])  # truncated: a crash mid-copy, a full disk
    with pytest.raises(IndexCorrupt, match="damaged"):
        PdqIndex.load(folder)
    hashes.write_bytes(b"not an npy file at all")
    with pytest.raises(IndexCorrupt, match="damaged"):
        PdqIndex.load(folder)
    np.save(hashes, np.zeros((500, 16), np.uint8))
    with pytest.raises(IndexCorrupt, match="expected uint8"):
        PdqIndex.load(folder)
    hashes.unlink()
    with pytest.raises(IndexCorrupt, match="missing"):
        PdqIndex.load(folder)
    hashes.write_bytes(good)
    offsets_path = data / "shard0-offsets.npy"
    offsets = np.load(offsets_path)
    offsets[3, 10] = offsets[3, -1] + 5  # a bucket that would run past the end of the table
    np.save(offsets_path, offsets)
    with pytest.raises(IndexCorrupt, match="bucket offsets"):
        PdqIndex.load(folder)


def test_damaged_table_rows_never_read_outside(rng: np.random.Generator, tmp_path: Path) -> None:
    """Row numbers in the tables are not checked on load (that would read every table): the kernel
    skips any row past the end instead of reading outside the hashes."""
    folder, data = _saved(rng, tmp_path)
    entries_path = data / "shard0-entries.npy"
    entries = np.load(entries_path)
    entries[:] = np.uint32(0xFFFFFF00)  # row 2**24 - 1 everywhere
    np.save(entries_path, entries)
    index = PdqIndex.load(folder)
    index.search(rng.integers(0, 256, size=(20, 32), dtype=np.uint8), 64, strategy=Strategy.MULTI_INDEX)


def test_hex_to_bits() -> None:
    hexes = ["f" * 64, "0123456789abcdef" * 4, "0123456789ABCDEF" * 4]
    bits = hex_to_bits(hexes)
    assert bits.shape == (3, 32) and bits.dtype == np.uint8
    assert [bytes(row) for row in bits] == [bytes.fromhex(h) for h in hexes]
    assert hex_to_bits(iter(hexes)).tolist() == bits.tolist()
    assert hex_to_bits([]).shape == (0, 32)
    for bad in ["f" * 63, "g" * 64, "f" * 62 + " f", "f" * 65, b"f" * 64, None]:
        with pytest.raises(UsageError, match="not a PDQ hash"):
            hex_to_bits(["0" * 64, bad])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="not one string"):
        hex_to_bits("f" * 64)


def test_bad_arguments_are_usage_errors(rng: np.random.Generator) -> None:
    index, _ = PdqIndex.build(rng.integers(0, 256, size=(10, 32), dtype=np.uint8))
    with pytest.raises(UsageError, match="uint8"):
        PdqIndex.build(np.zeros((3, 32), np.int64))
    with pytest.raises(UsageError, match=r"\(N, 32\)"):
        PdqIndex.build(np.zeros((3, 31), np.uint8))
    with pytest.raises(UsageError, match=r"\(N, 32\)"):
        index.search(np.zeros(32, np.uint8))
    with pytest.raises(UsageError, match="radius"):
        index.search(np.zeros((1, 32), np.uint8), -1)
    with pytest.raises(UsageError, match="radius"):
        index.search(np.zeros((1, 32), np.uint8), 3.5)  # type: ignore[arg-type]
