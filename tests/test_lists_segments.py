"""A list's index as a whole compiled list plus a delta of what changed since (vigil.lists.segments):
changes match as they are now without compiling the list again, large deltas are compiled whole,
versions follow commit order, and of several processes one compiles.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vigil.lists import Record, Signal, catalog, import_records, revoke, segments
from vigil.lists.segments import compact, load_index
from vigil.matching import Matcher, parse_hash_line
from vigil.store import Store

RNG = np.random.default_rng(20261202)
PDQ = [RNG.integers(0, 256, 32, dtype=np.uint8).tobytes().hex() for _ in range(400)]


def near(hexhash: str, bits: int) -> str:
    """The hash with its first ``bits`` bits flipped."""
    value = int(hexhash, 16) ^ ((1 << 256) - (1 << (256 - bits)))
    return f"{value:064x}"


def rec(n: int, pdq: str | None = None) -> Record:
    return Record(f"id{n}", [Signal.of("md5", f"{n:032x}"), Signal.of("pdq", pdq or PDQ[n])], "1")


def found(store: Store, lines: list[str]) -> list[list[str]]:
    """The entries each hash line matches in list "l"."""
    return [[m.entry for m in r.matches] for r in Matcher(store, ["l"]).match_many([parse_hash_line(x) for x in lines])]


def folders(store: Store) -> list[str]:
    return sorted(p.name for p in store.cache_dir.glob("list-*") if ".tmp-" not in p.name)


def version(store: Store) -> tuple[int, int]:
    info = catalog.describe_list(store, "l")
    return info.id, info.content_version


def test_a_change_is_compiled_as_a_delta_and_matches_as_it_is_now(store: Store) -> None:
    import_records(store, "l", [rec(n) for n in range(100)])
    assert found(store, [f"pdq {near(PDQ[5], 12)}"]) == [["id5"]]
    assert folders(store) == ["list-1-v1"]
    # New entries, one entry's hash changed, one revoked, and a metadata-only change after them.
    import_records(store, "l", [rec(n) for n in range(100, 110)] + [rec(7, PDQ[300])])
    revoke(store, "l", ["id8"])
    import_records(store, "l", [Record("id101", rec(101).signals, "2")])
    list_id, v = version(store)
    index = load_index(store, list_id, v)
    assert index.delta is not None and index.base.version == 1 and index.delta.since == 1
    # The ten new ones, id7, and id8 (revoked, which changes no version, but its last change is after v1:
    # a delta holds revoked entries as a whole list does). Nothing else is compiled again.
    assert index.delta.entries == 12
    lines = [f"pdq {near(PDQ[105], 20)}", f"md5 {101:032x}", f"pdq {PDQ[300]}", f"pdq {PDQ[7]}",
             f"md5 {8:032x}", f"pdq {near(PDQ[50], 10)}"]
    expected = [["id105"], ["id101"], ["id7"], [], [], ["id50"]]
    assert found(store, lines) == expected
    assert folders(store) == ["list-1-v1", f"list-1-v{v}-from1"]
    # Compiled whole, it answers the same, and the delta and the older whole one are gone from the cache.
    assert not index.merge_due and compact(store, index)
    again = load_index(store, list_id, v)
    assert again.delta is None and again.version == v
    assert found(store, lines) == expected
    assert folders(store) == [f"list-1-v{v}"]


def test_a_folder_left_half_written_is_removed_once_abandoned(store: Store) -> None:
    import_records(store, "l", [rec(n) for n in range(20)])
    found(store, [f"pdq {PDQ[0]}"])
    old, young = store.cache_dir / "list-1-v2.tmp-abc", store.cache_dir / "list-1-v2.tmp-def"
    for folder in (old, young):
        folder.mkdir()
        (folder / "pdq.npy").write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))  # a compile stopped two hours ago
    import_records(store, "l", [rec(n) for n in range(20, 30)])
    found(store, [f"pdq {PDQ[25]}"])  # compiles the delta, and prunes
    assert not old.exists() and young.exists()  # (the young one may be another process's compile)


def test_an_unchanged_or_metadata_only_import_compiles_nothing(store: Store) -> None:
    import_records(store, "l", [rec(n) for n in range(20)])
    found(store, [f"pdq {PDQ[0]}"])
    import_records(store, "l", [Record("id3", rec(3).signals, "2")] + [rec(n) for n in range(20)])
    assert version(store)[1] == 1 and folders(store) == ["list-1-v1"]


def test_deltas_follow_the_newest_whole_index_and_large_ones_are_compiled_whole(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segments, "MERGE_AT", 30)
    monkeypatch.setattr(segments, "_MERGE_MIN", 10)
    import_records(store, "l", [rec(n) for n in range(40)])
    found(store, [f"pdq {PDQ[0]}"])
    import_records(store, "l", [rec(n) for n in range(40, 45)])
    list_id, v = version(store)
    assert not load_index(store, list_id, v).merge_due  # 5 < max(10, 40 // 20)
    import_records(store, "l", [rec(n) for n in range(45, 60)])
    list_id, v = version(store)
    index = load_index(store, list_id, v)
    assert index.delta is not None and index.delta.entries == 20 and index.merge_due
    assert folders(store) == ["list-1-v1", "list-1-v3-from1"]  # the delta to v2 was replaced
    # More than half the list (and past MERGE_AT) changed since: compiled whole straight away.
    import_records(store, "l", [rec(n) for n in range(60, 100)])
    list_id, v = version(store)
    index = load_index(store, list_id, v)
    assert index.delta is None and index.base.entries == 100
    assert found(store, [f"pdq {PDQ[n]}" for n in (0, 50, 99)]) == [["id0"], ["id50"], ["id99"]]
    assert folders(store) == ["list-1-v4"]


def test_an_import_that_commits_after_a_later_one_is_not_hidden_behind_it(store: Store) -> None:
    """Versions are given in commit order: an import that started first and committed last is in the
    delta from an index compiled between the two commits."""
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: imports cannot overlap")
    import_records(store, "l", [rec(n) for n in range(10)])
    found(store, [f"pdq {PDQ[0]}"])
    half, go = threading.Event(), threading.Event()

    def slow() -> Iterator[Record]:
        yield from (rec(n) for n in range(200, 210))
        half.set()
        assert go.wait(30)

    first = threading.Thread(target=import_records, args=(store, "l", slow()))
    first.start()  # its import row (the lower id) is written; it holds its transaction open
    try:
        assert half.wait(30)
        import_records(store, "l", [rec(n) for n in range(300, 305)])  # starts later, commits first
        list_id, v = version(store)
        assert compact(store, load_index(store, list_id, v))  # compiled whole between the two commits
    finally:
        go.set()
        first.join(30)
    list_id, v = version(store)
    index = load_index(store, list_id, v)
    assert index.delta is not None and index.delta.entries == 10
    assert found(store, [f"pdq {PDQ[205]}", f"pdq {PDQ[302]}"]) == [["id205"], ["id302"]]


def _load(url: str, cache: str, list_id: int, v: int, log: str) -> int:
    store = Store.open(url)
    store.cache_dir = Path(cache)

    def told(what: str) -> None:
        with open(log, "a") as f:
            f.write(what + "\n")

    index = load_index(store, list_id, v, on_build=told)
    store.close()
    return index.base.entries + (index.delta.entries if index.delta else 0)


def test_of_several_processes_one_compiles_and_the_others_load_it(store: Store, tmp_path: Path) -> None:
    import_records(store, "l", [rec(n) for n in range(300)])
    list_id, v = version(store)
    url = store.engine.url.render_as_string(hide_password=False)
    log = tmp_path / "built.log"
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        got = pool.starmap(_load, [(url, str(store.cache_dir), list_id, v, str(log))] * 3)
    assert got == [300] * 3
    assert log.read_text().splitlines() == ["compiling"]
    import_records(store, "l", [rec(n) for n in range(300, 320)])
    list_id, v = version(store)
    log.unlink()
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        got = pool.starmap(_load, [(url, str(store.cache_dir), list_id, v, str(log))] * 3)
    assert got == [320] * 3
    assert log.read_text().splitlines() == ["compiling changes"]
