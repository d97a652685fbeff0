"""PDQ range search at list scale: Vigil's index against FAISS, same hashes, same queries, one run.

    .venv/bin/python bench/pdq_index.py [--n 10000000] [--queries 10000] [--real 1000000]

The list mixes PDQ hashes of real photos with uniform random ones. Real-photo hashes are what
stress a chunk index: they are correlated (flat skies, faces, centred subjects), so their chunks
crowd into some buckets. They are made from benign photos only: the ThreatExchange reference photos,
frames of its reference videos and the sample images scikit-image ships, each cut, scaled and
colour-shifted many ways at small size. Queries are edited copies of listed photos (hits at many
distances), photos that are not listed (misses, some near by chance) and random hashes.

Everyone runs on 2 threads. Recall is measured against brute force over all queries (Vigil's
numba scan, itself checked against FAISS's flat index on the queries FAISS runs). Generated hashes
are cached in bench/work/pdq_index/; results go to bench/results/pdq_index.md and .json.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from common import PDQ_IMAGES, RESULTS, ROOT, SAMPLE_VIDEOS, WORK, log, table
from vigil.index.pdq import PdqIndex, brute_force_search
from vigil.signals.pdq import hash_rgb

CACHE = WORK / "pdq_index"
DATA_VERSION = 1  # bump when the generator changes, so cached hashes are remade
RADIUS = 31
THREADS = 2
BASE_SIDE = 256  # base photos are kept at most this big: variants are cut from them, then shrunk
MIN_QUALITY = 50  # lists skip PDQ hashes under quality 50, so the generated list does too
UNLISTED_SHARE = 0.15  # base photos kept out of the list: their variants are realistic misses
QUERY_MIX = {"edited listed photo": 0.6, "unlisted photo": 0.25, "random hash": 0.15}
# FAISS IndexBinaryMultiHash settings tried. Exact at radius 31 needs nflip >= floor(31 / nhash):
# a hash within 31 bits on the nhash*b bits the tables cover is within that many on one table.
FAISS_MULTIHASH = [(11, 23, 2), (12, 21, 2), (16, 16, 1), (8, 32, 3)]


# ---------------------------------------------------------------- benign photos and their hashes

def _fit(rgb: np.ndarray, side: int = BASE_SIDE) -> np.ndarray:
    image = Image.fromarray(rgb)
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(image.convert("RGB"))


def _as_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array * (255.0 if array.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def _skimage_photos() -> Iterator[np.ndarray]:
    import skimage.data as samples  # the bench extra's scikit-image ships these files (no download)

    names = ["astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass",
             "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo", "microaneurysms", "moon",
             "page", "retina", "rocket", "text", "cell"]
    for name in names:
        yield _as_rgb(getattr(samples, name)())
    yield _as_rgb(samples.stereo_motorcycle()[0])
    for face in samples.lfw_subset():  # 200 small face photos: many distinct real subjects
        yield _as_rgb(face)


def _reference_photos() -> Iterator[np.ndarray]:
    for path in sorted(PDQ_IMAGES.rglob("*")):
        if path.suffix.lower() in {".jpg", ".png", ".webp"}:
            with Image.open(path) as image:
                yield np.asarray(image.convert("RGB"))


def _video_frames(every_s: float = 1.0) -> Iterator[np.ndarray]:
    import av

    for path in sorted(SAMPLE_VIDEOS.glob("*.mp4")):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            next_t = 0.0
            for frame in container.decode(stream):
                if frame.time is not None and frame.time >= next_t:
                    next_t = frame.time + every_s
                    yield frame.to_ndarray(format="rgb24")


def base_photos() -> list[np.ndarray]:
    """Every benign photo the generator starts from, at most BASE_SIDE pixels a side."""
    return [_fit(p) for source in (_reference_photos(), _skimage_photos(), _video_frames()) for p in source]


def _variant(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A different-looking copy: a crop, a new size and aspect, colour and tone changes."""
    h, w = base.shape[:2]
    ch, cw = max(8, int(h * rng.uniform(0.35, 1.0))), max(8, int(w * rng.uniform(0.35, 1.0)))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    image = Image.fromarray(base[y:y + ch, x:x + cw])
    if rng.random() < 0.2:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    image = image.resize((int(rng.integers(48, 161)), int(rng.integers(48, 161))), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    gain = rng.uniform(0.85, 1.15, size=3) * rng.uniform(0.7, 1.3)
    pixels = np.clip((pixels - 0.5) * gain + 0.5 + rng.uniform(-0.1, 0.1), 0.0, 1.0) ** rng.uniform(0.7, 1.4)
    if rng.random() < 0.15:
        pixels = np.repeat(pixels.mean(axis=2, keepdims=True), 3, axis=2)
    return (pixels * 255.0 + 0.5).astype(np.uint8)


def _edit(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a re-upload does to a photo: recompression, rescaling, a trim, blur, a caption box, noise."""
    image = Image.fromarray(rgb)
    w, h = image.size
    strength = rng.uniform(0.0, 1.0) ** 2  # mostly light, some heavy: hits at many distances, some misses
    if rng.random() < strength:
        trim = 0.06 * strength
        box = (int(w * rng.uniform(0, trim)), int(h * rng.uniform(0, trim)),
               w - int(w * rng.uniform(0, trim)), h - int(h * rng.uniform(0, trim)))
        image = image.crop(box)
    if rng.random() < strength:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    scale = rng.uniform(0.6, 1.6)
    image = image.resize((max(16, int(image.width * scale)), max(16, int(image.height * scale))),
                         Image.Resampling.BICUBIC)
    pixels = np.asarray(image, dtype=np.int16).copy()
    if rng.random() < strength:
        bh, bw = int(pixels.shape[0] * rng.uniform(0.04, 0.15)), int(pixels.shape[1] * rng.uniform(0.2, 0.7))
        y0 = int(rng.integers(0, pixels.shape[0] - bh + 1))
        pixels[y0:y0 + bh, :bw] = int(rng.integers(0, 256))
    pixels += rng.normal(0, 8 * strength, size=pixels.shape).astype(np.int16)
    pixels += int(rng.integers(-20, 21) * strength)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(out, "JPEG", quality=int(rng.integers(30, 95)))
    with Image.open(out) as reloaded:
        return np.asarray(reloaded.convert("RGB"))


_BASES: list[np.ndarray] = []
_LISTED: np.ndarray = np.zeros(0, np.int64)
_UNLISTED: np.ndarray = np.zeros(0, np.int64)


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([DATA_VERSION, *key])


def _listed_image(seed: int) -> tuple[np.ndarray, bytes]:
    """Listed photo number ``seed`` and its PDQ: the same pixels every time, so queries can edit it."""
    attempt = 0
    while True:
        rng = _rng(1, seed, attempt)
        rgb = _variant(_BASES[int(_LISTED[rng.integers(len(_LISTED))])], rng)
        pdq = hash_rgb(rgb)
        attempt += 1
        if attempt >= 20 or pdq.quality >= MIN_QUALITY:
            return rgb, bytes.fromhex(pdq.hash)


def _pdq_bits(rgb: np.ndarray) -> bytes:
    return bytes.fromhex(hash_rgb(rgb).hash)


def _listed_hashes(seeds: range) -> bytes:
    return b"".join(_listed_image(s)[1] for s in seeds)


def _query_hash(job: tuple[str, int]) -> bytes:
    kind, seed = job
    if kind == "edited listed photo":
        return _pdq_bits(_edit(_listed_image(seed)[0], _rng(2, seed)))
    rng = _rng(3, seed)
    rgb = _variant(_BASES[int(_UNLISTED[rng.integers(len(_UNLISTED))])], rng)
    return _pdq_bits(_edit(rgb, rng) if rng.random() < 0.5 else rgb)


def _load_bases() -> None:
    global _BASES, _LISTED, _UNLISTED
    _BASES = base_photos()
    order = _rng(0).permutation(len(_BASES))
    cut = int(len(_BASES) * UNLISTED_SHARE)
    _UNLISTED, _LISTED = np.sort(order[:cut]), np.sort(order[cut:])


def _pool_map(fn: Callable[[Any], bytes], jobs: list[Any]) -> list[bytes]:
    # fork: the workers inherit the decoded base photos instead of decoding them again
    with get_context("fork").Pool(THREADS) as pool:
        return pool.map(fn, jobs, chunksize=max(1, len(jobs) // (THREADS * 20)))


def make_data(n: int, real: int, queries: int) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """The list (n hashes, ``real`` of them from photos) and the queries with their kinds (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    real = min(real, n)
    stem = CACHE / f"v{DATA_VERSION}-n{n}-real{real}-q{queries}"
    meta_path = stem.with_suffix(".json")
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return (np.load(f"{stem}-list.npy"), np.load(f"{stem}-queries.npy"), meta["query_kinds"], meta)
    started = time.perf_counter()
    _load_bases()
    log(f"data: {len(_BASES)} base photos ({len(_LISTED)} listed, {len(_UNLISTED)} kept out); "
        f"hashing {real:,} listed variants on {THREADS} processes")
    step = 2000
    blocks = _pool_map(_listed_hashes, [range(s, min(real, s + step)) for s in range(0, real, step)])
    real_bits = np.frombuffer(b"".join(blocks), np.uint8).reshape(real, 32)
    rng = _rng(4)
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    listed_rows = rng.choice(n, size=real, replace=False)  # photo hashes scattered among the random ones
    hashes[listed_rows] = real_bits
    kinds = [str(k) for k in rng.choice(list(QUERY_MIX), size=queries, p=list(QUERY_MIX.values()))]
    log(f"data: hashing {queries:,} queries")
    jobs = [(kind, int(rng.integers(real)) if kind == "edited listed photo" else i) for i, kind in enumerate(kinds)]
    photo_jobs = [job for job in jobs if job[0] != "random hash"]
    photo_bits = iter(_pool_map(_query_hash, photo_jobs))
    qbits = np.empty((queries, 32), np.uint8)
    for i, (kind, _) in enumerate(jobs):
        qbits[i] = np.frombuffer(next(photo_bits), np.uint8) if kind != "random hash" else rng.integers(0, 256, 32)
    meta = {"n": n, "real": real, "queries": queries, "base_photos": len(_BASES), "listed_bases": len(_LISTED),
            "query_kinds": kinds, "seconds": time.perf_counter() - started}
    np.save(f"{stem}-list.npy", hashes)
    np.save(f"{stem}-queries.npy", qbits)
    meta_path.write_text(json.dumps(meta))
    log(f"data: made in {meta['seconds']:.0f} s, cached in {CACHE}")
    return hashes, qbits, kinds, meta


# ---------------------------------------------------------------- measuring, one index a process

def rss_bytes() -> int:
    """Resident memory of this process (VmRSS), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _pairs(query: np.ndarray, row: np.ndarray) -> np.ndarray:
    return np.unique(query.astype(np.int64) << 32 | row.astype(np.int64))


def _score(found_q: np.ndarray, found_row: np.ndarray, found_dist: np.ndarray, truth: np.ndarray,
           queries: int) -> dict[str, Any]:
    """Recall against brute force over the first ``queries`` queries, and anything wrongly returned."""
    truth = truth[(truth >> 32) < queries]
    found = _pairs(found_q, found_row)
    hit = np.intersect1d(found, truth, assume_unique=True)
    return {"expected": int(truth.size), "returned": int(found.size), "recall": hit.size / max(1, truth.size),
            "wrong": int(found.size - hit.size), "over_radius": int(np.count_nonzero(found_dist > RADIUS))}


def _timed_search(search: Callable[[np.ndarray], Any], queries: np.ndarray, min_seconds: float = 3.0
                  ) -> tuple[float, Any]:
    """Queries per second over all ``queries`` (repeated until ``min_seconds``, the best pass kept)."""
    best, result, spent = float("inf"), None, 0.0
    while spent < min_seconds or result is None:
        start = time.perf_counter()
        result = search(queries)
        seconds = time.perf_counter() - start
        best, spent = min(best, seconds), spent + seconds
        if seconds > min_seconds:
            break
    return len(queries) / best, result


def _single_query_latency(search: Callable[[np.ndarray], Any], queries: np.ndarray) -> dict[str, float]:
    times = []
    for i in range(len(queries)):
        start = time.perf_counter()
        search(queries[i:i + 1])
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def measure_vigil(hashes: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    PdqIndex.build(hashes[:1000])[0].search(queries[:2])  # load the kernels from numba's cache
    rss0 = rss_bytes()
    build_s, (index, order) = _timed(lambda: PdqIndex.build(hashes))
    order_bytes = order.nbytes  # the caller's, not the index's: kept out of the RSS growth
    gc.collect()
    rss1 = rss_bytes() - order_bytes
    qps, result = _timed_search(lambda q: index.search(q, RADIUS, threads=THREADS), queries)
    out = {"build_s": build_s, "nbytes": index.nbytes, "rss_growth": rss1 - rss0, "qps": qps,
           "queries": len(queries), **_score(result.query, order[result.row], result.distance, truth, len(queries))}
    out["single_query"] = _single_query_latency(lambda q: index.search(q, RADIUS, threads=1), queries[:500])
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        folder = Path(tmp) / "index"
        out["save_s"], _ = _timed(lambda: index.save(folder))
        out["files_bytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        np.save(Path(tmp) / "query.npy", queries[:1])
        out["fresh_process"] = _fresh_process(folder, Path(tmp) / "query.npy")
    return out


_FRESH = """
import time; t0 = time.perf_counter()
import sys, json, numpy as np
from pathlib import Path
from vigil.index.pdq import PdqIndex
t1 = time.perf_counter()
index = PdqIndex.load(Path(sys.argv[1]))
t2 = time.perf_counter()
result = index.search(np.load(sys.argv[2]), 31)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_query_s": t3 - t2, "matches": len(result)}))
"""


def _fresh_process(folder: Path, query: Path) -> dict[str, Any]:
    """A new interpreter: import, open the saved index (mmap), answer one query. Page cache warm."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _FRESH, str(folder), str(query)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    timing: dict[str, Any] = json.loads(out.stdout)
    timing["process_wall_s"] = time.perf_counter() - start
    return timing


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _faiss_range(index: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # FAISS keeps distances strictly under the radius it is given: 32 returns distance <= 31.
    lims, dist, ids = index.range_search(queries, RADIUS + 1)
    q = np.repeat(np.arange(len(queries), dtype=np.int64), np.diff(lims.astype(np.int64)))
    return q, ids.astype(np.int64), dist.astype(np.int64)


def measure_faiss(kind: str, hashes: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                  setting: tuple[int, int, int] | None) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(THREADS)
    rss0 = rss_bytes()

    def build() -> Any:
        if setting is None:
            index = faiss.IndexBinaryFlat(256)
        else:
            nhash, b, nflip = setting
            index = faiss.IndexBinaryMultiHash(256, nhash, b)
            index.nflip = nflip
        index.add(hashes)
        return index

    build_s, index = _timed(build)
    rss1 = rss_bytes()
    qps, (q, row, dist) = _timed_search(lambda qs: _faiss_range(index, qs), queries, min_seconds=1.0)
    nbytes = hashes.nbytes if setting is None else None  # MultiHash's hash maps have no size accessor
    return {"build_s": build_s, "nbytes": nbytes, "rss_growth": rss1 - rss0, "qps": qps, "queries": len(queries),
            "setting": setting, **_score(q, row, dist, truth, len(queries))}


def _worker(args: argparse.Namespace) -> None:
    hashes, queries, _, _ = make_data(args.n, args.real, args.queries)
    truth = np.load(_truth_path(args))
    queries = queries[:args.subset] if args.subset else queries
    if args.worker == "vigil":
        result = measure_vigil(hashes, queries, truth)
    else:
        setting = tuple(int(x) for x in args.setting.split(",")) if args.setting else None
        result = measure_faiss(args.worker, hashes, queries, truth, setting)  # type: ignore[arg-type]
    print(json.dumps(result))


def _truth_path(args: argparse.Namespace) -> Path:
    real = min(args.real, args.n)
    return CACHE / f"v{DATA_VERSION}-n{args.n}-real{real}-q{args.queries}-truth-r{RADIUS}.npy"


def ground_truth(args: argparse.Namespace, hashes: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """Every (query, row) within the radius, by Vigil's brute-force scan (cached: it takes minutes)."""
    path = _truth_path(args)
    if path.exists():
        return {"cached": True}
    log(f"truth: brute force, {len(queries):,} queries x {len(hashes):,} hashes on {THREADS} threads")
    seconds, result = _timed(lambda: brute_force_search(hashes, queries, RADIUS, threads=THREADS))
    np.save(path, _pairs(result.query, result.row))
    log(f"truth: {len(result):,} matches in {seconds:.0f} s ({len(queries) / seconds:.1f} queries/s)")
    return {"cached": False, "seconds": seconds, "qps": len(queries) / seconds}


def matches_by_kind(truth: np.ndarray, hashes: np.ndarray, queries: np.ndarray, kinds: list[str]
                    ) -> dict[str, dict[str, Any]]:
    """How the queries of each kind match: how many find anything, and at what distances."""
    q, row = truth >> 32, truth & 0xFFFFFFFF
    dist = np.bitwise_count(hashes[row].view(np.uint64) ^ queries[q].view(np.uint64)).sum(axis=1)
    kind_of = np.array(kinds)
    out: dict[str, dict[str, Any]] = {}
    for kind in QUERY_MIX:
        mine = kind_of[q] == kind
        out[kind] = {"queries": int(np.count_nonzero(kind_of == kind)), "with_match": int(np.unique(q[mine]).size),
                     "matches": int(np.count_nonzero(mine)),
                     "distance_0_7_15_23_31": np.histogram(dist[mine], bins=[0, 8, 16, 24, 32])[0].tolist()}
    return out


def _run_worker(args: argparse.Namespace, worker: str, subset: int = 0, setting: str = "") -> dict[str, Any]:
    """One index in its own process, so its memory is measured alone and freed afterwards."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--n", str(args.n), "--real", str(args.real),
           "--queries", str(args.queries), "--worker", worker, "--subset", str(subset), "--setting", setting]
    log(f"{worker} {setting}: building and searching ({subset or args.queries:,} queries)")
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        log(f"{worker} {setting}: failed: {out.stderr.strip()[-2000:]}")
        return {"error": out.stderr.strip()[-2000:]}
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    # The machine is shared: what else ran shows in the load average (2 of it is this run's own threads).
    result["load_average_after"] = os.getloadavg()[0]
    log(f"{worker} {setting}: {result['qps']:,.0f} queries/s, recall {result['recall']:.6f}, "
        f"{time.perf_counter() - started:.0f} s in all")
    return result


# ---------------------------------------------------------------- report

def _row(name: str, setting: str, r: dict[str, Any], n: int, base_qps: float) -> list[object]:
    if "error" in r:
        return [name, setting, "failed", "", "", "", "", "", "", "", ""]
    per_hash = f"{r['nbytes'] / n:.1f}" if r.get("nbytes") else "–"
    fresh = r.get("fresh_process")
    fresh_s = f"{fresh['load_s'] + fresh['first_query_s']:.2f} s ({fresh['process_wall_s']:.1f} s)" if fresh else "–"
    return [name, setting, f"{r['queries']:,}", f"{r['qps']:,.0f}", f"{r['qps'] / base_qps:.1f}x",
            f"{r['recall']:.6f}" + (f" ({r['wrong']} wrong)" if r["wrong"] else ""), f"{r['build_s']:.1f}",
            per_hash, f"{r['rss_growth'] / n:.1f}", f"{r['rss_growth'] / 1e9:.2f} GB", fresh_s]


def report(args: argparse.Namespace, meta: dict[str, Any], truth_info: dict[str, Any],
           results: dict[str, dict[str, Any]]) -> list[str]:
    n = args.n
    flat = results.get("faiss-flat", {})
    base_qps = flat.get("qps") or 1.0
    lines = [f"# PDQ range search, radius {RADIUS}: {n:,} hashes, {THREADS} threads each", "",
             f"List: {meta['real']:,} PDQ hashes of benign photos ({meta['base_photos']} base photos cut, scaled and "
             f"recoloured) among uniform random ones. Queries: {args.queries:,} "
             f"({', '.join(f'{k} {v:.0%}' for k, v in QUERY_MIX.items())}); {int(np.load(_truth_path(args)).size):,} "
             "matches in all. Recall is against a brute-force scan of every pair.", ""]
    kind_rows = [[kind, f"{k['queries']:,}", f"{k['with_match']:,}", f"{k['matches']:,}",
                  " / ".join(f"{c:,}" for c in k["distance_0_7_15_23_31"])]
                 for kind, k in truth_info["by_kind"].items()]
    lines += table(["query kind", "queries", "with a match", "matches", "matches at distance 0-7 / 8-15 / 16-23 / "
                    "24-31"], kind_rows)
    headers = ["index", "setting", "queries", "queries/s", "vs FAISS flat", "recall", "build s", "bytes/hash",
               "RSS growth/hash", "RSS growth", "load + first query (fresh process)"]
    rows = []
    for name, r in results.items():
        setting = ""
        if name.startswith("vigil"):
            setting = "8 x 32-bit chunk tables, exact"
        elif name == "faiss-flat":
            setting = "every pair compared"
        elif r.get("setting"):
            setting = "nhash={}, b={}, nflip={}".format(*r["setting"])
        rows.append(_row(name, setting, r, n, base_qps))
    lines += table(headers, rows)
    vigil = results.get("vigil", {})
    if "single_query" in vigil:
        sq = vigil["single_query"]
        fresh = vigil["fresh_process"]
        lines += [f"Vigil, one query a call on one thread: p50 {sq['p50_ms']:.2f} ms, p99 {sq['p99_ms']:.2f} ms. "
                  f"Fresh process: import {fresh['import_s']:.2f} s, load (mmap) {fresh['load_s'] * 1e3:.0f} ms, "
                  f"first query {fresh['first_query_s'] * 1e3:.0f} ms, process wall {fresh['process_wall_s']:.2f} s "
                  f"(page cache warm). Saved index {vigil['files_bytes'] / 1e6:,.0f} MB.", ""]
    if truth_info.get("qps"):
        lines += [f"Brute force (Vigil's numba scan, the recall reference): {truth_info['qps']:,.1f} queries/s.", ""]
    loads = ", ".join(f"{name} {r['load_average_after']:.1f}" for name, r in results.items()
                      if "load_average_after" in r)
    lines += ["Every FAISS MultiHash setting here is exact at radius 31 by the pigeonhole bound (a hash within 31 "
              "bits is within floor(31 / nhash) bits on one of the nhash tables, and nflip is at least that); "
              "the fastest of them is FAISS's best exact showing. FAISS MultiHash keeps no size accessor: its memory "
              "is the RSS growth. FAISS's range search keeps distances under the radius given, so it is asked for "
              "32. The slow peers run on a prefix of the same queries.", "",
              f"The machine is shared: 1-minute load average after each measurement (this run's own threads count "
              f"2): {loads}.", "",
              f"Command: `.venv/bin/python bench/pdq_index.py --n {n} --queries {args.queries} --real {args.real}`",
              ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="hashes in the list")
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--real", type=int, default=1_000_000, help="list hashes made from photos")
    parser.add_argument("--flat-queries", type=int, default=1000, help="queries for FAISS's flat index (slow)")
    parser.add_argument("--multihash-queries", type=int, default=2000, help="queries for FAISS MultiHash")
    parser.add_argument("--multihash", default=";".join(",".join(map(str, s)) for s in FAISS_MULTIHASH),
                        help="FAISS MultiHash settings nhash,b,nflip separated by ';' (each exact at radius 31)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--subset", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--setting", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return
    hashes, queries, kinds, meta = make_data(args.n, args.real, args.queries)
    truth_info = ground_truth(args, hashes, queries)
    truth_info["by_kind"] = matches_by_kind(np.load(_truth_path(args)), hashes, queries, kinds)
    del hashes, queries
    gc.collect()
    results: dict[str, dict[str, Any]] = {"vigil": _run_worker(args, "vigil")}
    results["faiss-flat"] = _run_worker(args, "faiss-flat", subset=args.flat_queries)
    for setting in filter(None, args.multihash.split(";")):
        results[f"faiss-multihash {setting}"] = _run_worker(args, "faiss-multihash", args.multihash_queries, setting)
    # Measured again last: on a shared machine the load changes over the run's minutes.
    results["vigil, again after the peers"] = _run_worker(args, "vigil")
    lines = report(args, meta, truth_info, results)
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pdq_index.md").write_text("\n".join(lines))
    (RESULTS / "pdq_index.json").write_text(json.dumps(
        {"args": {k: v for k, v in vars(args).items() if k not in {"worker", "subset", "setting"}},
         "data": {k: v for k, v in meta.items() if k != "query_kinds"}, "truth": truth_info, "results": results,
         "machine": {"cpus": os.cpu_count(), "threads": THREADS}}, indent=1))


if __name__ == "__main__":
    main()
