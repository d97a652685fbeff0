"""What a media-backed list costs to keep and to load: bytes per listed photo in SQLite and PostgreSQL,
the compiled list (memory-mapped when matching), and the time to load it and to match against it.

    .venv/bin/python bench/lists_storage.py [--photos 40] [--scale 3000] [--postgres URL] [--repeat 5]

* ``--photos`` benign photos (half textured synthetic scenes, half low-texture scenes, from
  ``tests/benign_corpus.py``) are listed as ``vigil lists add-media`` lists them: md5, sha1 and
  sha256 of a JPEG, its PDQ and the PDQ of its windows (``media_signals``), each window with its
  quality and its geometry. A hash-only list of the same photos (md5, sha1, sha256, PDQ) is the
  baseline.
* Storage: a fresh SQLite file per list after VACUUM, less an empty store; on PostgreSQL (when
  ``--postgres`` or ``$VIGIL_TEST_POSTGRES_URL`` names a server) the ``entries`` table with its TOAST
  table and indexes (``pg_total_relation_size`` after ``VACUUM FULL``), less the empty table.
* Compiled: the cache folder on disk (every file, the JSON header included) and the arrays in memory
  (``CompiledList.nbytes``), the PDQ index's bytes a hash.
* ``--scale`` photos more, of the same windows' geometry with random hashes (their count drawn from
  the real photos'), make a larger list for timings that grow with the list: the compile, the load
  of a compiled list by a fresh ``Matcher`` (and its first match), and ``match_many`` of edited copies
  of the listed photos (cropped 8% a side, re-encoded) with their variants and windows.

Works against any Vigil on ``sys.path`` (run it with ``PYTHONPATH=/other/checkout/src`` to measure
another version the same way). Results: ``bench/results/lists_storage.md`` and ``.json``
(``--out NAME`` writes ``NAME.md``/``NAME.json`` instead).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import hashlib
import io
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from common import RESULTS, ROOT, fmt, log, table

sys.path.insert(0, str(ROOT / "tests"))
import benign_corpus as corpus
import vigil
from vigil.lists import Record, Signal
from vigil.lists.importing import import_records
from vigil.matching import Matcher, PdqQuery, Query
from vigil.signals.pdq import hash_rgb
from vigil.signals.variants import media_signals, query_variants, query_windows
from vigil.signals.views import Window
from vigil.store import Store

SEED = 11


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def photos(n: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([SEED, i])
        out.append(corpus.synthetic_scene(rng) if i % 2 == 0 else corpus.smooth_scene(rng))
    return out


def listed_records(rgbs: list[np.ndarray]) -> tuple[list[Record], list[Record]]:
    """(hash-only, media-backed) records, as add-media makes them."""
    plain, media = [], []
    for i, rgb in enumerate(rgbs):
        data = _jpeg(rgb)
        digests = [Signal.of(name, hashlib.new(name, data).hexdigest()) for name in ("md5", "sha1", "sha256")]
        own = hash_rgb(rgb)
        pdq = Signal.of("pdq", own.hash, own.quality)
        meta = {"file_name": f"p{i:05d}.jpg", "kind": "image", "size": len(data)}
        plain.append(Record(f"p{i:05d}", [*digests, pdq], metadata=meta))
        windows = [Signal.of("pdq", d.hash, d.quality, derived=d.derived) for d in media_signals(rgb)]
        media.append(Record(f"p{i:05d}", [*digests, pdq, *windows], metadata=dict(meta)))
    return plain, media


def filler_records(media: list[Record], n: int) -> list[Record]:
    """``n`` more media-backed photos: windows of the real photos' geometry, random hashes."""
    rng = np.random.default_rng([SEED, 999])
    out = []
    for k in range(n):
        model = media[int(rng.integers(len(media)))]
        signals = []
        for s in model.signals:
            value, derived = s.value, s.derived
            if s.type in ("md5", "sha1", "sha256", "pdq"):
                value = rng.bytes(len(value) // 2).hex()
            window = Window.parse(derived) if derived else None
            if window is not None:  # a window of its own: a real list's windows rarely share a label
                moved = np.clip(np.array([window.left, window.top, window.right, window.bottom])
                                + rng.integers(-30, 31, 4) / 10, 0, 70)
                derived = Window.cut(*moved.tolist(), mirrored=window.mirrored).label
            signals.append(Signal(s.type, value, s.quality, derived))
        out.append(Record(f"f{k:07d}", signals, metadata={"file_name": f"f{k:07d}.jpg", "kind": "image",
                                                           "size": int(rng.integers(1 << 16, 1 << 22))}))
    return out


def queries(rgbs: list[np.ndarray], count: int) -> list[Query]:
    out = []
    for i, rgb in enumerate(rgbs[:count]):
        h, w = rgb.shape[:2]
        dy, dx = round(0.08 * h), round(0.08 * w)
        crop = np.asarray(Image.open(io.BytesIO(_jpeg(np.ascontiguousarray(rgb[dy:h - dy, dx:w - dx]), 80))))
        views = query_variants(crop) + query_windows(crop)
        out.append(Query(f"q{i}", pdq=[PdqQuery(v.view, v.hash, v.quality) for v in views]))
    return out


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{path}.index", ignore_errors=True)
    return path


def sqlite_bytes(work: Path, name: str, records: list[Record] | None) -> int:
    db = _fresh(work / f"{name}.db")
    store = Store.open(db)
    if records:
        import_records(store, name, records)
    store.close()
    # VACUUM in WAL mode leaves the file as large until a checkpoint: compact it with a rollback journal.
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    conn.close()
    return db.stat().st_size


def postgres_bytes(url: str, records: list[Record]) -> dict[str, int]:
    schema = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    admin = Store.open(url, migrate=False)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    store = Store.open(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        sizes = {}
        for stage in ("empty", "filled"):
            if stage == "filled":
                import_records(store, "media", records)
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM FULL entries")
                sizes[stage] = int(conn.exec_driver_sql("SELECT pg_total_relation_size('entries')").scalar_one())
        return sizes
    finally:
        store.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def compiled_costs(db: Path, name: str, qs: list[Query], repeat: int) -> dict[str, Any]:
    """Compile (no cache), load from the cache with a fresh Matcher and match once, match again."""
    shutil.rmtree(f"{db}.index", ignore_errors=True)
    store = Store.open(db)
    try:
        t0 = time.perf_counter()
        warm = Matcher(store, [name])
        compile_s = time.perf_counter() - t0
        comp = warm.indexes[0].base
        warm.match_many(qs[:1])  # numba's kernels loaded before anything is timed
        folder = next(Path(f"{db}.index").glob("list-*-v*"))
        loads, firsts, matches = [], [], []
        hits, answers = 0, ""
        for _ in range(repeat):
            t0 = time.perf_counter()
            matcher = Matcher(store, [name])
            t1 = time.perf_counter()
            matcher.match_many(qs[:1])
            t2 = time.perf_counter()
            results = matcher.match_many(qs)
            t3 = time.perf_counter()
            loads.append(t1 - t0)
            firsts.append(t2 - t0)
            matches.append(t3 - t2)
            hits = sum(1 for r in results if r.matches)
            answers = hashlib.sha256(json.dumps([r.to_json() for r in results]).encode()).hexdigest()[:16]
        assert comp.pdq is not None
        return {"compile_s": compile_s, "disk_bytes": folder_bytes(folder), "nbytes": comp.nbytes,
                "pdq_hashes": len(comp.pdq), "pdq_index_bytes": comp.pdq.nbytes,
                "load_s": statistics.median(loads), "load_first_match_s": statistics.median(firsts),
                "match_s": statistics.median(matches), "queries": len(qs),
                "query_hashes": sum(len(q.pdq) for q in qs), "queries_matched": hits, "answers_sha256": answers}
    finally:
        store.close()


def _commit() -> str:
    src = Path(vigil.__file__).resolve().parents[2]
    try:
        return subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip() + (
            "+dirty" if subprocess.run(["git", "-C", str(src), "status", "--porcelain", "src"], capture_output=True,
                                       text=True).stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--scale", type=int, default=3000)
    ap.add_argument("--queries", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--postgres", default=os.environ.get("VIGIL_TEST_POSTGRES_URL"))
    ap.add_argument("--out", default="lists_storage")
    args = ap.parse_args()
    load = os.getloadavg()
    out: dict[str, Any] = {"vigil": str(Path(vigil.__file__).resolve().parent), "commit": _commit(),
                           "load_at_start": [round(x, 2) for x in load], "args": vars(args)}
    log(f"vigil at {out['vigil']} ({out['commit']}), load {load[0]:.2f}")
    t0 = time.perf_counter()
    rgbs = photos(args.photos)
    plain, media = listed_records(rgbs)
    qs = queries(rgbs, args.queries)
    log(f"{args.photos} photos listed and {len(qs)} queries hashed in {time.perf_counter() - t0:.1f} s")
    windows = [sum(s.derived is not None for s in r.signals) for r in media]
    out["windows_per_photo"] = statistics.fmean(windows)
    out["windows_median"] = statistics.median(windows)
    n = args.photos
    work = Path(tempfile.mkdtemp(prefix="vigil-storage-"))
    try:
        empty = sqlite_bytes(work, "empty", None)
        sizes = {name: sqlite_bytes(work, name, recs) for name, recs in (("hash-only", plain), ("media", media))}
        out["sqlite_bytes_per_photo"] = {k: (v - empty) / n for k, v in sizes.items()}
        if args.postgres:
            pg = postgres_bytes(args.postgres, media)
            pg_plain = postgres_bytes(args.postgres, plain)
            out["postgres_bytes_per_photo"] = {"hash-only": (pg_plain["filled"] - pg_plain["empty"]) / n,
                                               "media": (pg["filled"] - pg["empty"]) / n}
        out["compiled"] = {name: compiled_costs(work / f"{name}.db", name, qs, args.repeat)
                           for name in ("hash-only", "media")}
        if args.scale:
            filler = filler_records(media, args.scale)
            big = media + filler
            sizes["scale"] = sqlite_bytes(work, "scale", big)
            out["scale"] = {"photos": len(big), "hashes": sum(len(r.signals) - 3 for r in big),
                            "sqlite_bytes_per_photo": (sizes["scale"] - empty) / len(big),
                            **compiled_costs(work / "scale.db", "scale", qs, args.repeat)}
            if args.postgres:
                pg = postgres_bytes(args.postgres, big)
                out["scale"]["postgres_bytes_per_photo"] = (pg["filled"] - pg["empty"]) / len(big)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write(out, args.out)


def write(out: dict[str, Any], name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    n = out["args"]["photos"]
    wpp = out["windows_per_photo"]
    rows = []
    for kind in ("hash-only", "media"):
        c = out["compiled"][kind]
        pg = out.get("postgres_bytes_per_photo", {}).get(kind)
        rows.append([kind, fmt(out["sqlite_bytes_per_photo"][kind], 0), "-" if pg is None else fmt(pg, 0),
                     fmt(c["disk_bytes"] / n, 0), fmt(c["nbytes"] / n, 0),
                     fmt(c["pdq_index_bytes"] / c["pdq_hashes"], 1)])
    lines = ["# Storage of a media-backed list (`bench/lists_storage.py`)", "",
             f"Vigil {out['commit']} ({out['vigil']}); load average {out['load_at_start']} at the start, "
             f"{out['load_at_end']} at the end; options {out['args']}.", "",
             f"{n} listed photos (half textured, half low-texture), {wpp:.1f} windows a photo "
             f"(median {out['windows_median']}).", "", "Bytes per listed photo:", ""]
    lines += table(["list", "SQLite", "PostgreSQL", "compiled, on disk", "compiled, arrays", "PDQ index a hash"], rows)
    media = out["compiled"]["media"]
    per_window = (out["sqlite_bytes_per_photo"]["media"] - out["sqlite_bytes_per_photo"]["hash-only"]) / wpp
    lines += ["", f"A window costs {per_window:.1f} B in SQLite (media less hash-only, over the windows)."]
    if "postgres_bytes_per_photo" in out:
        pgp = out["postgres_bytes_per_photo"]
        lines.append(f"In PostgreSQL {(pgp['media'] - pgp['hash-only']) / wpp:.1f} B.")
    lines.append(f"Compiled, on disk: {media['disk_bytes'] / media['pdq_hashes']:.1f} B a PDQ hash "
                 f"(index {media['pdq_index_bytes'] / media['pdq_hashes']:.1f}).")
    rows = []
    for kind, c in [("hash-only", out["compiled"]["hash-only"]), ("media", media)] + (
            [(f"scale ({out['scale']['photos']} photos)", out["scale"])] if "scale" in out else []):
        rows.append([kind, c["pdq_hashes"], fmt(1000 * c["compile_s"], 0), fmt(1000 * c["load_s"], 1),
                     fmt(1000 * c["load_first_match_s"], 1), fmt(1000 * c["match_s"], 1),
                     f"{c['queries_matched']}, {c['answers_sha256']}"])
    lines += ["", f"Times, ms (median of {out['args']['repeat']}; match: {media['queries']} cropped copies, "
              f"{media['query_hashes']} query hashes, in one match_many):", ""]
    lines += table(["list", "PDQ hashes", "compile", "load (fresh Matcher)", "load + first match", "match",
                    "queries matched, answers' sha256"], rows)
    if "scale" in out:
        s = out["scale"]
        per_photo = s["disk_bytes"] / s["photos"]
        pg_text = ""
        if "postgres_bytes_per_photo" in s:
            pg_bytes = s["postgres_bytes_per_photo"]
            pg_text = f", PostgreSQL {pg_bytes:.0f} B ({pg_bytes * 1e6 / 2**30:.2f} GiB at 1M)"
        lines += ["", f"Scale list ({s['hashes'] / s['photos']:.1f} PDQ hashes a photo): SQLite "
                  f"{s['sqlite_bytes_per_photo']:.0f} B a photo ({s['sqlite_bytes_per_photo'] * 1e6 / 2**30:.2f} GiB "
                  f"at 1M listed photos){pg_text}, compiled {per_photo:.0f} B a photo on disk "
                  f"({per_photo * 1e6 / 2**30:.2f} GiB at 1M)."]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
