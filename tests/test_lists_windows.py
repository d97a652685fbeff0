"""Derived windows packed in the store: the layout, the migration of stores that kept them as JSON,
and matching that gives the same answers either way.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, text

from benign_corpus import edit_rng, make_edits
from vigil.errors import InvalidValue, StoreUnusable, UsageError
from vigil.lists import Record, Signal, export_list, import_file, import_records, iter_records, revoke
from vigil.lists.catalog import create_list
from vigil.lists.compiled import CACHE_FORMAT
from vigil.lists.provenance import now
from vigil.lists.rows import prepare
from vigil.lists.segments import compact, load_whole
from vigil.lists.windows import split_windows, window_signals
from vigil.matching import Matcher, PdqQuery, Query
from vigil.signals.guided import WindowProbe
from vigil.signals.pdq import hash_rgb, photo_luma
from vigil.signals.variants import media_signals, query_variants, query_windows
from vigil.signals.views import Window, frame_window_label, parse_frame_window
from vigil.store import _MIGRATIONS, Store
from vigil.store.schema import entries
from vigil.store.windows import NO_FRAME, QUALITY_UNKNOWN, WindowArrays, pack, unpack

LISTED = Path(__file__).resolve().parent / "data" / "recall" / "listed"
PHOTOS = ("smooth_abstract_00018", "smooth_abstract_00022")
EDITS = ("crop5", "crop12", "mirror")


def _arrays(n: int, seed: int = 0) -> WindowArrays:
    rng = np.random.default_rng(seed)
    frame = np.full(n, NO_FRAME, np.int64)
    frame[n // 2:] = np.repeat(rng.integers(0, 1 << 31, 3), n)[: n - n // 2]
    return WindowArrays(rng.integers(0, 256, (n, 32), dtype=np.uint8),
                        np.where(rng.random(n) < 0.1, QUALITY_UNKNOWN, rng.integers(0, 101, n)).astype(np.int16),
                        rng.integers(0, 1024, (n, 4)).astype(np.uint16), rng.random(n) < 0.5, frame)


@pytest.mark.parametrize("n", [0, 1, 7, 250])
def test_the_layout_round_trips_and_costs_38_bytes_a_window(n: int) -> None:
    w = _arrays(n, n)
    blob = pack(w)
    back = unpack(blob)
    for name in ("hashes", "quality", "cuts", "mirrored", "frame"):
        assert np.array_equal(getattr(back, name), getattr(w, name)), name
    runs = len(np.unique(w.frame)) if n else 0
    assert len(blob) == 5 + 38 * n + 4 + 8 * runs


def test_values_the_layout_cannot_hold_are_refused_and_damage_is_reported() -> None:
    w = _arrays(4)
    for bad in (WindowArrays(w.hashes, w.quality, w.cuts + np.uint16(1024), w.mirrored, w.frame),
                WindowArrays(w.hashes, np.full(4, 101, np.int16), w.cuts, w.mirrored, w.frame),
                WindowArrays(w.hashes[:3], w.quality, w.cuts, w.mirrored, w.frame)):
        with pytest.raises(InvalidValue):
            pack(bad)
    blob = pack(w)
    for damaged in (blob[:-1], blob + b"\0", b"\x02" + blob[1:], b""):
        with pytest.raises(StoreUnusable):
            unpack(damaged)


def _window_signal(window: Window, seed: int, quality: int | None = 70, frame: int | None = None) -> Signal:
    label = window.label if frame is None else f"frame {frame} {window.label}"
    return Signal("pdq", np.random.default_rng(seed).bytes(32).hex(), quality, label)


def test_only_what_packs_back_exactly_is_packed() -> None:
    own = [Signal("md5", "0" * 32), Signal("pdq", "ab" * 32, 90)]
    packable = [_window_signal(Window.cut(12.5, 3.1, 40, 22.7), 1),
                _window_signal(Window.cut(0, 0, 100, 0, mirrored=True), 2, quality=None),
                _window_signal(Window.cut(5, 5, 5, 5), 3, frame=30),
                _window_signal(Window.cut(5, 5, 5, 5, mirrored=True), 4, quality=0, frame=(1 << 31) - 1)]
    kept_as_json = [Signal("pdq", "cd" * 32, 80, "window l12.50 t3.1 r40.0 b22.7"),  # would render "12.5"
                    Signal("pdq", "cd" * 32, 80, "window l102.4 t0.0 r0.0 b0.0"),  # past 10 bits
                    Signal("pdq", "CD" * 32, 80, "window l1.0 t1.0 r1.0 b1.0"),  # not normalised
                    Signal("pdq", "cd" * 32, 80, "frame 2147483648 window l1.0 t1.0 r1.0 b1.0"),
                    Signal("pdq", "cd" * 32, 80, "crop 10%"),
                    Signal("photodna", "x", None, "window l1.0 t1.0 r1.0 b1.0")]
    kept, blob = split_windows([*own, packable[0], *kept_as_json, *packable[1:]])
    assert kept == [*own, *kept_as_json]
    assert window_signals(blob) == packable
    assert split_windows(own) == (own, None)
    assert window_signals(None) == []


def _migration() -> ModuleType:
    path = _MIGRATIONS / "versions" / "0002_packed_windows.py"
    spec = importlib.util.spec_from_file_location("vigil_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_label_vigil_renders_packs_and_renders_back_the_same_in_both_parsers() -> None:
    rng = np.random.default_rng(5)
    signals = []
    for k in range(3000):
        cuts = rng.integers(0, 1024, 4) if k % 3 else rng.integers(0, 1001, 4)
        window = Window(*(float(c) / 10 for c in cuts), mirrored=bool(k % 2))
        frame = int(rng.integers(0, 1 << 31)) if k % 5 == 0 else int(rng.integers(0, 99)) if k % 5 == 1 else None
        label = window.label if frame is None else frame_window_label(frame, window)
        assert Window.parse(label) == window or parse_frame_window(label) == (frame, window)
        signals.append(Signal("pdq", rng.bytes(32).hex(), int(rng.integers(0, 101)), label))
    kept, blob = split_windows(signals)
    assert kept == [] and window_signals(blob) == signals
    converted = _migration()._split(json.dumps([s.to_json() for s in signals]))
    assert converted == ("[]", blob)


def _photos() -> dict[str, np.ndarray]:
    out = {}
    for name in PHOTOS:
        with Image.open(LISTED / f"{name}.jpg") as im:
            out[name] = np.asarray(im.convert("RGB"))
    return out


def _records(photos: dict[str, np.ndarray]) -> list[Record]:
    """As add-media lists them, and one entry whose windows are named as frames', one with labels
    no packed value holds (kept as they are)."""
    out = []
    for name, rgb in photos.items():
        own = hash_rgb(rgb)
        windows = [Signal.of("pdq", d.hash, d.quality, derived=d.derived) for d in media_signals(rgb)]
        out.append(Record(name, [Signal.of("md5", f"{len(out):032x}"), Signal.of("pdq", own.hash, own.quality),
                                 *windows], "1", "projectvic-us", {"file_name": f"{name}.jpg"}))
    frames = [Signal("pdq", f"{k:064x}", 60, f"frame {k % 5} {Window.cut(k % 30, 2, 3, 4).label}") for k in range(40)]
    frames.append(Signal("pdq", "f" * 64, 60, f"frame {1 << 22} {Window.cut(1, 2, 3, 4).label}"))
    odd = [Signal("pdq", "e" * 64, 55, "crop 10%"), Signal("pdq", "d" * 64, 55, "window l1.00 t2.0 r3.0 b4.0")]
    out.append(Record("video", [Signal.of("md5", "f" * 32), *odd, *frames]))
    return out


def _queries(photos: dict[str, np.ndarray]) -> list[Query]:
    out = []
    for k, (name, rgb) in enumerate(photos.items()):
        edits = make_edits(rgb, edit_rng(0, k))
        for edit in EDITS:
            views = query_variants(edits[edit]) + query_windows(edits[edit])
            out.append(Query(f"{name}.{edit}", pdq=[PdqQuery(v.view, v.hash, v.quality) for v in views],
                             probe=WindowProbe(photo_luma(edits[edit]))))
    return out


def _alembic(store: Store, command_name: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, command_name)(config, revision)


def _old_layout(store: Store, records: list[Record]) -> None:
    """What revision 0001's import wrote: every signal a JSON item, windows too."""
    with store.begin() as conn:  # the list and an import to name, as revision 0001 has them
        list_id = create_list(conn, "media").id
        conn.execute(text("INSERT INTO imports (list_id, action, started_at, added, updated, unchanged, revoked) "
                          "VALUES (:list_id, 'import', :now, 0, 0, 0, 0)"), {"list_id": list_id, "now": now()})
        import_id = conn.exec_driver_sql("SELECT id FROM imports").scalar_one()
        for r in records:
            row = prepare(r)
            full = json.dumps([s.to_json() for s in r.signals], separators=(",", ":"))
            conn.execute(entries.insert().values(
                list_id=list_id, entry_id=r.id, category=r.category, category_scheme=r.category_scheme,
                meta=row.meta_json, signals=full, content_hash=row.digest, revoked=False,
                first_import_id=import_id, last_import_id=import_id))
        conn.exec_driver_sql(f"UPDATE lists SET content_version = 1 WHERE id = {list_id}")


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Record], list[Query]]:
    photos = _photos()
    return _records(photos), _queries(photos)


def _matches(store: Store, queries: list[Query]) -> list[dict[str, object]]:
    return [r.to_json() for r in Matcher(store, ["media"]).match_many(queries)]


def test_a_store_that_kept_windows_as_json_is_migrated_and_matches_the_same(
        store: Store, tmp_path: Path, corpus: tuple[list[Record], list[Query]]) -> None:
    records, queries = corpus
    # The same records imported by this version: the reference.
    fresh = Store.open(tmp_path / "fresh.db")
    fresh.cache_dir = tmp_path / "fresh-cache"
    import_records(fresh, "media", records)
    expected = _matches(fresh, queries)
    found = {m["entry"] for r in expected for m in r["matches"]}  # type: ignore[attr-defined]
    assert found == set(PHOTOS)  # crops and mirror images of both are found (guided windows, in both layouts) ...
    assert all(r["matches"] for r in expected if not str(r["query"]).endswith(".crop12"))  # (a 12% crop of
    # abstract art may keep no window to start from: BENCHMARKS.md)

    _alembic(store, "downgrade", "0001")
    _old_layout(store, records)
    store.migrate()
    with store.connect() as conn:
        stored = {r.entry_id: r for r in conn.execute(select(entries))}
    with fresh.connect() as conn:
        for r in conn.execute(select(entries)):
            old = stored[r.entry_id]
            assert (json.loads(old.signals), old.windows, old.content_hash) == (
                json.loads(r.signals), r.windows, r.content_hash)
            assert r.windows is not None
    assert list(iter_records(store, "media")) == list(iter_records(fresh, "media")) == records
    assert _matches(store, queries) == expected
    # What the old store held is what it holds: the same records again change nothing.
    again = import_records(store, "media", records)
    assert (again.unchanged, again.content_changed) == (len(records), False)
    # Revocation, as ever, takes an entry out of matching at once.
    revoke(store, "media", [PHOTOS[0]])
    assert {m["entry"] for r in _matches(store, queries) for m in r["matches"]} == {PHOTOS[1]}  # type: ignore[attr-defined]
    fresh.close()


def test_the_migration_goes_back_to_json_items(store: Store, corpus: tuple[list[Record], list[Query]]) -> None:
    records, _ = corpus
    import_records(store, "media", records)
    _alembic(store, "downgrade", "0001")
    with store.connect() as conn:
        rows = {r.entry_id: json.loads(r.signals) for r in conn.execute(select(entries.c.entry_id, entries.c.signals))}
    assert rows == {r.id: [s.to_json() for s in r.signals] for r in records}
    store.migrate()
    assert list(iter_records(store, "media")) == records


def test_the_compiled_list_names_every_row_as_the_store_does(
        store: Store, corpus: tuple[list[Record], list[Query]]) -> None:
    records, _ = corpus
    result = import_records(store, "media", records)
    with store.connect() as conn:
        list_id, version = conn.exec_driver_sql("SELECT id, content_version FROM lists").one()
        pks = {pk: entry_id for pk, entry_id in conn.execute(select(entries.c.pk, entries.c.entry_id))}
    built = load_whole(store, list_id, version)
    cached = load_whole(store, list_id, version)  # from the cache, memory-mapped
    expected = sorted((r.id, s.value, -1 if s.quality is None else s.quality, s.derived or "")
                      for r in records for s in r.signals if s.type == "pdq")
    for comp in (built, cached):
        assert comp.pdq is not None and comp.has_windows and comp.has_frame_windows
        hashes = comp.pdq.hashes(np.arange(len(comp.pdq)))
        got = []
        for row in range(len(comp.pdq)):
            tag = int(comp.pdq_tag[row])
            label = comp.tags[tag]
            got.append((pks[int(comp.pdq_pk[row])], hashes[row].tobytes().hex(), int(comp.pdq_quality[row]), label))
            assert comp.windows[tag] == Window.parse(label)
            assert comp.frame_windows[tag] == parse_frame_window(label)
        assert sorted(got) == expected
        # Each entry's photo windows, for guided windows: every row that names a window of a photo.
        for pk in pks:
            rows = comp.window_rows_of(pk)
            want = [row for row in range(len(comp.pdq)) if int(comp.pdq_pk[row]) == pk
                    and comp.windows[int(comp.pdq_tag[row])] is not None]
            assert sorted(rows.tolist()) == want
        assert comp.window_rows_of(max(pks) + 1).tolist() == []
        with pytest.raises(UsageError, match="not numbered from 0"):
            iter(comp.windows)
    assert result.content_changed
    # Labels no tag packs: kept as JSON items by the store, or a frame past the tag's 21 bits.
    assert cached.labels == ["crop 10%", "window l1.00 t2.0 r3.0 b4.0", "frame 4194304 window l1.0 t2.0 r3.0 b4.0"]


def test_a_cache_of_the_earlier_format_is_rebuilt(store: Store, corpus: tuple[list[Record], list[Query]]) -> None:
    records, queries = corpus
    import_records(store, "media", records)
    expected = _matches(store, queries)
    (folder,) = store.cache_dir.glob("list-*")
    meta = json.loads((folder / "meta.json").read_text())
    meta["format"] = CACHE_FORMAT - 1
    (folder / "meta.json").write_text(json.dumps(meta))
    assert _matches(store, queries) == expected
    assert json.loads((folder / "meta.json").read_text())["format"] == CACHE_FORMAT


@pytest.mark.parametrize("fmt", ["vics", "ncmec", "stopncii", "threatexchange"])
def test_exports_carry_each_medium_s_own_hashes_and_import_again(
        store: Store, tmp_path: Path, fmt: str, corpus: tuple[list[Record], list[Query]]) -> None:
    records, _ = corpus
    import_records(store, "media", records)
    path = tmp_path / f"media.{fmt}"
    with path.open("wb") as out:
        written = export_list(store, "media", fmt, out)
    assert written == len(records)
    import_file(store, path, "copy")  # (StopNCII and ThreatExchange files hold a record a hash)
    own = {(s.type, s.value) for r in records for s in r.signals if s.derived is None}
    exported = {(s.type, s.value) for r in iter_records(store, "copy") for s in r.signals}
    assert exported <= own and {v for t, v in own if t == "pdq"} <= {v for t, v in exported if t == "pdq"}
    assert all(s.derived is None for r in iter_records(store, "copy") for s in r.signals)


def test_a_list_compiled_whole_and_a_delta_matches_as_when_compiled_whole(
        store: Store, corpus: tuple[list[Record], list[Query]]) -> None:
    records, queries = corpus
    half = len(records) // 2
    import_records(store, "media", records[:half])
    _matches(store, queries)  # the first half compiled whole
    import_records(store, "media", records[half:])
    (index,) = Matcher(store, ["media"]).indexes
    assert index.delta is not None and index.delta.entries == len(records) - half and index.delta.has_windows
    got = _matches(store, queries)
    assert {m["entry"] for r in got for m in r["matches"]} == set(PHOTOS)  # type: ignore[attr-defined]
    assert compact(store, index)
    assert Matcher(store, ["media"]).indexes[0].delta is None
    assert _matches(store, queries) == got
