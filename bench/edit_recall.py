"""Edit recall: which edited copies of listed photos each matching strategy finds, at what cost.

One command: ``.venv/bin/python bench/edit_recall.py`` (options: ``--photos 1000 --workers N
--orb-photos 100 --seed 0``; about 16 minutes on 2 cores). Writes ``bench/results/edit_recall.md``
and ``edit_recall.json``. Needs OpenCV (``opencv-python-headless``) for the ORB comparison only.

The corpus is ``tests/benign_corpus.py``: distinct benign photos (real-photo tiles and synthetic
scenes), each with the ten edits of ``make_edits`` and the double edits of ``make_combined_edits``.
A seeded half of the photos is listed; the other half are negatives, whose every copy must match
nothing. Every query image (each photo as is, and every copy of it) is looked up against every
listed photo, and a match is PDQ's rule (Hamming distance <= 31, both hashes of quality >= 50):

* plain: the query's PDQ against the listed PDQ (a hash-only list, as a VICS file carries; its MD5
  only finds byte-identical files, so it finds none of these copies);
* dihedral: the query's eight orientations against the listed PDQ;
* expanded: ``query_variants`` (orientations, and the photo trimmed of borders and canvas, in eight
  orientations) against the listed PDQ - what Vigil does for any list;
* expanded-trim1: as expanded, but the trimmed photo in its own orientation only;
* expanded+bands: as expanded, plus blind crops dropping a top or bottom band of 10/15/20/25%
  (a query-side guess at caption bars);
* crop set 16 / crop set 100: expanded, against the listed PDQ plus PDQ of 16 or 100 fixed crops
  of each listed photo (per axis: 0/5/0/2.5% off one side and 0/0/5/2.5% off the other; or each
  side 0/4/8/12% with at most 12% per axis);
* windows, one: expanded, plus ``query_windows`` (PDQ of windows anchored on the corners of the
  query and of its trimmed boxes) against ``media_signals`` (the windows of each listed photo, as
  is and mirrored), one window within the threshold being a match;
* windows: Vigil's media-backed design - as "windows, one", but a listed photo matches through
  windows only when ``windows_agree`` confirms it (two windows related by one crop and scale);
* ORB+RANSAC (on a subset of ``--orb-photos`` listed and as many unlisted photos, with a brute-force
  descriptor pre-filter standing in for an index): OpenCV ORB, 500 features on the photo scaled to
  at most 640 px, ratio-test (0.8) matches voted per listed photo, the top 3 verified by a RANSAC
  similarity transform (rotation, scale, shift: what crops, resizes, borders and screenshots do)
  with >= 20 inliers, a sane scale and inliers not collapsed onto one spot (a RANSAC homography
  without these checks matched unrelated photos); reported alone and together with expanded.

False positives are matches between a query and a listed photo it was not made from. The closest
such distances per strategy show the margin to the threshold, which is what matters at scale.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import defaultdict
from typing import Any

import numba
import numpy as np

from common import RESULTS, ROOT, fmt, log, table

sys.path.insert(0, str(ROOT / "tests"))
import benign_corpus as corpus
from vigil.signals import _pdqcheck
from vigil.signals.pdq import hash_rgb
from vigil.signals.variants import Box, _Regions, media_signals, query_variants, query_windows, windows_agree
from vigil.signals.views import View, Window

THRESHOLD = 31
MIN_QUALITY = 50
TAIL = (40, 48, 56)
ORB_FEATURES = 500
ORB_SIDE = 640
ORB_RATIO = 0.8
ORB_CANDIDATES = 3
ORB_INLIERS = 20
ORB_SPREAD = 0.01  # inliers must span this share of the listed photo's keypoint box

AXIS_16 = [(0.0, 0.0), (0.05, 0.0), (0.0, 0.05), (0.025, 0.025)]
_STEPS = (0.0, 0.04, 0.08, 0.12)
AXIS_100 = [(a, b) for a in _STEPS for b in _STEPS if a + b <= 0.12 + 1e-9]
CROP_SETS = {"crop set 16": [(x0, y0, x1, y1) for x0, x1 in AXIS_16 for y0, y1 in AXIS_16],
             "crop set 100": [(x0, y0, x1, y1) for x0, x1 in AXIS_100 for y0, y1 in AXIS_100]}
BANDS = (0.10, 0.15, 0.20, 0.25)

PHOTOS: list[corpus.Photo] = []
LISTED: set[int] = set()
ORB_SET: set[int] = set()
SEED = 0


# ---------------------------------------------------------------- signals, per photo (in workers)
def _words(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.zeros((0, 4), np.uint64)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(np.uint64).reshape(-1, 4)


def _packed(pairs: list[tuple[str, int]]) -> np.ndarray:
    """Hashes of quality >= 50 as rows of four uint64 words (the rest are never looked up)."""
    return _words([h for h, q in pairs if q >= MIN_QUALITY])


def _crop_box(h: int, w: int, crop: tuple[float, float, float, float]) -> Box:
    left, top, right, bottom = crop
    return Box(round(top * h), h - round(bottom * h), round(left * w), w - round(right * w))


def _orb(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, ORB_SIDE / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    keypoints, descriptors = cv2.ORB_create(nfeatures=ORB_FEATURES).detectAndCompute(grey, None)
    if descriptors is None:
        return np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8)
    return np.array([k.pt for k in keypoints], np.float32), descriptors


def _photo_signals(index: int) -> dict[str, Any]:
    rgb = PHOTOS[index].rgb
    queries = {"as listed": rgb}
    queries.update(corpus.make_edits(rgb, corpus.edit_rng(SEED, index)))
    queries.update(corpus.make_combined_edits(rgb, np.random.default_rng([SEED, 4, index])))
    out: dict[str, Any] = {"queries": {}, "seconds": defaultdict(float)}
    for name, image in queries.items():
        sig: dict[str, Any] = {}
        t0 = time.perf_counter()
        plain = hash_rgb(image)
        t1 = time.perf_counter()
        variants = query_variants(image)
        t2 = time.perf_counter()
        windows = query_windows(image)
        t3 = time.perf_counter()
        out["seconds"]["plain"] += t1 - t0
        out["seconds"]["expanded"] += t2 - t1
        out["seconds"]["windows"] += t3 - t2
        sig["plain"] = _packed([(plain.hash, plain.quality)])
        orient = [(v.hash, v.quality) for v in variants if v.view.trimmed is None]
        sig["dihedral"] = _packed(orient)
        sig["expanded"] = _packed([(v.hash, v.quality) for v in variants])
        sig["expanded-trim1"] = _packed(orient + [(v.hash, v.quality) for v in variants
                                                  if v.view.trimmed is not None and v.view.orientation == "original"])
        h, w = image.shape[:2]
        regions = _Regions(image)
        bands = [regions.hash(Box(round(f * h), h, 0, w)) for f in BANDS]
        bands += [regions.hash(Box(0, h - round(f * h), 0, w)) for f in BANDS]
        sig["bands"] = _packed(bands)
        sig["windows"] = _packed([(d.hash, d.quality) for d in windows])
        sig["windows_views"] = [d.view for d in windows if d.quality >= MIN_QUALITY]
        sig["n_variants"] = len(variants)
        if index in ORB_SET:
            t4 = time.perf_counter()
            sig["orb"] = _orb(image)
            out["seconds"]["orb extract"] += time.perf_counter() - t4
        out["queries"][name] = sig
    out["n_queries"] = len(queries)
    if index in LISTED:
        h, w = rgb.shape[:2]
        regions = _Regions(rgb)
        t5 = time.perf_counter()
        derived = media_signals(rgb)
        out["seconds"]["media_signals"] += time.perf_counter() - t5
        listed = {"plain": out["queries"]["as listed"]["plain"],
                  "windows": _packed([(d.hash, d.quality) for d in derived]),
                  "windows_found": [d.window for d in derived if d.quality >= MIN_QUALITY]}
        for set_name, crops in CROP_SETS.items():
            listed[set_name] = _packed([regions.hash(_crop_box(h, w, c)) for c in crops])
        out["listed"] = listed
    out["seconds"] = dict(out["seconds"])
    return out


# ---------------------------------------------------------------- matching
@numba.njit(cache=True, nogil=True)
def _popcount(x: np.uint64) -> int:  # pragma: no cover - jitted
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, parallel=True)
def _scan(q: np.ndarray, q_src: np.ndarray, q_id: np.ndarray, lst: np.ndarray, l_src: np.ndarray,
          threshold: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - jitted
    """Matched (query id, listed photo, distance, own, query row, listed row) rows, and a histogram of
    the distances of pairs that are not the query's own photo."""
    n_chunks = (len(q) + chunk - 1) // chunk
    hist = np.zeros((n_chunks, 257), np.int64)
    counts = np.zeros(n_chunks, np.int64)
    cap = 4096
    found = np.zeros((n_chunks, cap, 6), np.int64)
    for c in numba.prange(n_chunks):
        for i in range(c * chunk, min(len(q), (c + 1) * chunk)):
            for j in range(len(lst)):
                d = 0
                for k in range(4):
                    d += _popcount(q[i, k] ^ lst[j, k])
                own = q_src[i] == l_src[j]
                if not own:
                    hist[c, d] += 1
                if d <= threshold and counts[c] < cap:
                    found[c, counts[c], 0] = q_id[i]
                    found[c, counts[c], 1] = l_src[j]
                    found[c, counts[c], 2] = d
                    found[c, counts[c], 3] = 1 if own else 0
                    found[c, counts[c], 4] = i
                    found[c, counts[c], 5] = j
                    counts[c] += 1
    total = counts.sum()
    rows = np.zeros((total, 6), np.int64)
    at = 0
    for c in range(n_chunks):
        rows[at:at + counts[c]] = found[c, :counts[c]]
        at += counts[c]
    return rows, hist.sum(axis=0)


def _stack(parts: list[tuple[np.ndarray, int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hashes = [p for p, _, _ in parts if len(p)]
    if not hashes:
        return np.zeros((0, 4), np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    src = np.concatenate([np.full(len(p), s) for p, s, _ in parts if len(p)])
    ids = np.concatenate([np.full(len(p), i) for p, _, i in parts if len(p)])
    return np.ascontiguousarray(np.concatenate(hashes)), src.astype(np.int64), ids.astype(np.int64)


# ---------------------------------------------------------------- ORB (subset)
ORB_LISTED: list[tuple[int, np.ndarray, np.ndarray]] = []


def _orb_match(job: tuple[int, np.ndarray, np.ndarray]) -> tuple[int, list[int], float]:
    import cv2

    query_id, points, descriptors = job
    t0 = time.perf_counter()
    verified: list[int] = []
    if len(descriptors) >= 2:
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        all_desc = np.concatenate([d for _, _, d in ORB_LISTED])
        owner = np.concatenate([np.full(len(d), k) for k, (_, _, d) in enumerate(ORB_LISTED)])
        votes: dict[int, int] = defaultdict(int)
        for pair in matcher.knnMatch(descriptors, all_desc, k=2):
            if len(pair) == 2 and pair[0].distance < ORB_RATIO * pair[1].distance:
                votes[int(owner[pair[0].trainIdx])] += 1
        for k in sorted(votes, key=lambda k: -votes[k])[:ORB_CANDIDATES]:
            src, l_points, l_desc = ORB_LISTED[k]
            good = [p[0] for p in matcher.knnMatch(descriptors, l_desc, k=2)
                    if len(p) == 2 and p[0].distance < ORB_RATIO * p[1].distance]
            if len(good) < ORB_INLIERS:
                continue
            a = points[[m.queryIdx for m in good]]
            b = l_points[[m.trainIdx for m in good]]
            model, mask = cv2.estimateAffinePartial2D(a, b, method=cv2.RANSAC, ransacReprojThreshold=5.0)
            if model is None or int(mask.sum()) < ORB_INLIERS:
                continue
            # Reject degenerate fits: all points collapsed onto a small patch of the listed photo.
            scale = float(np.hypot(model[0, 0], model[1, 0]))
            spread = np.ptp(b[mask.ravel() == 1], axis=0)
            if 0.05 < scale < 20 and spread[0] * spread[1] >= ORB_SPREAD * np.prod(np.ptp(l_points, axis=0)):
                verified.append(src)
    return query_id, verified, time.perf_counter() - t0


# ---------------------------------------------------------------- report
def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main() -> None:
    global PHOTOS, LISTED, ORB_SET, SEED, ORB_LISTED
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--orb-photos", type=int, default=100, help="listed (and as many unlisted) photos for ORB")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    SEED = args.seed
    started = time.time()
    t0 = time.perf_counter()
    PHOTOS = corpus.build_corpus(args.photos, seed=args.seed, workers=args.workers)
    build_s = time.perf_counter() - t0
    n = len(PHOTOS)
    order = np.random.default_rng([args.seed, 5]).permutation(n)
    listed_order = [int(i) for i in order[: n // 2]]
    unlisted_order = [int(i) for i in order[n // 2:]]
    LISTED = set(listed_order)
    ORB_SET = set(listed_order[: args.orb_photos]) | set(unlisted_order[: args.orb_photos])
    try:
        import cv2  # noqa: F401
    except ImportError:  # OpenCV is only needed for the ORB comparison
        ORB_SET = set()
    log(f"corpus: {n} photos in {build_s:.1f}s; computing signals with {args.workers} workers")
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.workers) as pool:
        results = pool.map(_photo_signals, range(n), chunksize=4)
    signals_s = time.perf_counter() - t0
    log(f"signals in {signals_s:.1f}s")

    query_names = list(results[0]["queries"])
    query_index = [(src, name) for src in range(n) for name in query_names]  # id -> (photo, query)
    qid = {key: i for i, key in enumerate(query_index)}

    orb_hits: dict[int, set[int]] = defaultdict(set)
    orb_seconds: list[float] = []
    if ORB_SET:
        ORB_LISTED = [(s, *results[s]["queries"]["as listed"]["orb"]) for s in listed_order[: args.orb_photos]]
        jobs = [(qid[(s, name)], *results[s]["queries"][name]["orb"]) for s in sorted(ORB_SET) for name in query_names]
        t0 = time.perf_counter()
        with ctx.Pool(args.workers) as pool:
            for query_id, verified, seconds in pool.imap_unordered(_orb_match, jobs, chunksize=8):
                orb_hits[query_id] = set(verified)
                orb_seconds.append(seconds)
        log(f"ORB matched in {time.perf_counter() - t0:.1f}s")

    # (ORB runs first: its processes fork before numba starts threads for the scans below.)
    # Each strategy: (query signal, listed signal, rule). Rule "any": one hash within the threshold is a
    # match; "agree": window matches with a listed photo count only when windows_agree() confirms them.
    strategies = {
        "plain": [("plain", "plain", "any")],
        "dihedral": [("dihedral", "plain", "any")],
        "expanded-trim1": [("expanded-trim1", "plain", "any")],
        "expanded": [("expanded", "plain", "any")],
        "expanded+bands": [("expanded", "plain", "any"), ("bands", "plain", "any")],
        "crop set 16": [("expanded", "crop set 16", "any"), ("expanded", "plain", "any")],
        "crop set 100": [("expanded", "crop set 100", "any"), ("expanded", "plain", "any")],
        "windows, one": [("expanded", "plain", "any"), ("windows", "windows", "any")],
        "windows": [("expanded", "plain", "any"), ("windows", "windows", "agree")],
    }
    matched: dict[str, dict[int, set[int]]] = {}
    tails: dict[str, dict[str, Any]] = {}
    cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for strategy, parts in strategies.items():
        hits: dict[int, set[int]] = defaultdict(set)
        hist_total = np.zeros(257, np.int64)
        for q_kind, l_kind, rule in parts:
            if (q_kind, l_kind) not in cache:
                q, q_src, q_ids = _stack([(results[s]["queries"][name][q_kind], s, qid[(s, name)])
                                          for s in range(n) for name in query_names])
                lst, l_src, _ = _stack([(results[s]["listed"][l_kind], s, 0) for s in listed_order])
                rows, hist = _scan(q, q_src, q_ids, lst, l_src, THRESHOLD, 256)
                cache[(q_kind, l_kind)] = (rows, hist)
            rows, hist = cache[(q_kind, l_kind)]
            hist_total += hist
            if rule == "any":
                for query_id, src, *_ in rows:
                    hits[int(query_id)].add(int(src))
                continue
            # Views and windows in the order _stack laid the hashes out (both keep only quality >= 50).
            q_names = [x for s in range(n) for name in query_names
                       for x in results[s]["queries"][name]["windows_views"]]
            l_names = [x for s in listed_order for x in results[s]["listed"]["windows_found"]]
            pairs: dict[tuple[int, int], list[tuple[View, Window]]] = defaultdict(list)
            for query_id, src, _, _, q_row, l_row in rows:
                pairs[(int(query_id), int(src))].append((q_names[q_row], l_names[l_row]))
            for (query_id, src), found in pairs.items():
                if windows_agree(found):
                    hits[query_id].add(src)
        matched[strategy] = hits
        nonzero = np.nonzero(hist_total)[0]
        tails[strategy] = {"pairs": int(hist_total.sum()), "closest": int(nonzero[0]) if len(nonzero) else None,
                           **{f"<= {t}": int(hist_total[: t + 1].sum()) for t in TAIL}}
        log(f"matched {strategy}")

    # Recall: a listed photo's copy found its own listed photo. False positive: a query matched another.
    def recall(hits: dict[int, set[int]], name: str, sources: list[int]) -> float:
        return sum(s in hits.get(qid[(s, name)], set()) for s in sources) / max(len(sources), 1)

    def false_positives(hits: dict[int, set[int]], sources: list[int]) -> tuple[int, int]:
        fp_queries = fp_pairs = 0
        for s in sources:
            for name in query_names:
                others = hits.get(qid[(s, name)], set()) - {s}
                fp_queries += bool(others)
                fp_pairs += len(others)
        return fp_queries, fp_pairs

    orb_listed = listed_order[: args.orb_photos]
    orb_unlisted = unlisted_order[: args.orb_photos]
    combined = {q: matched["expanded"].get(q, set()) | orb_hits.get(q, set()) for q in range(len(query_index))}
    columns = list(strategies)
    rows_out = []
    data: dict[str, Any] = {"recall": {}, "false_positives": {}, "tails": tails}
    for name in query_names:
        row: list[object] = [name]
        for strategy in columns:
            r = recall(matched[strategy], name, listed_order)
            data["recall"].setdefault(strategy, {})[name] = r
            row.append(_pct(r))
        if ORB_SET:
            for label, hits in (("ORB+RANSAC", orb_hits), ("expanded ∪ ORB", combined)):
                r = recall(hits, name, orb_listed)
                data["recall"].setdefault(label, {})[name] = r
                row.append(_pct(r))
        rows_out.append(row)
    fp_row: list[object] = ["false positives (queries / pairs)"]
    for strategy in columns:
        fq, fpp = false_positives(matched[strategy], list(range(n)))
        data["false_positives"][strategy] = {"queries": fq, "pairs": fpp}
        fp_row.append(f"{fq} / {fpp}")
    if ORB_SET:
        for label, hits in (("ORB+RANSAC", orb_hits), ("expanded ∪ ORB", combined)):
            fq, fpp = false_positives(hits, orb_listed + orb_unlisted)
            data["false_positives"][label] = {"queries": fq, "pairs": fpp}
            fp_row.append(f"{fq} / {fpp}")
    rows_out.append(fp_row)

    # By source: real-photo tiles are fewer, but harder (blur, dark and flat areas) than synthetic scenes.
    by_source_rows = []
    groups = {src: [s for s in listed_order if PHOTOS[s].source == src] for src in ("tile", "synthetic")}
    for name in query_names:
        row = [name]
        for strategy in ("expanded", "windows"):
            row += [_pct(recall(matched[strategy], name, groups[src])) if groups[src] else "–" for src in groups]
        by_source_rows.append(row)

    # Targets
    edits = list(corpus.EDIT_NAMES)
    hash_only = [e for e in edits if e not in ("crop5", "crop12", "caption_bar")]
    target_rows = []
    for strategy in columns:
        worst_hash_only = min(data["recall"][strategy][e] for e in hash_only)
        worst_all = min(data["recall"][strategy][e] for e in edits)
        fp_total = data["false_positives"][strategy]["queries"]
        target_rows.append([strategy, _pct(worst_hash_only), _pct(worst_all), fp_total])

    # Costs
    listed_counts = {k: np.mean([len(results[s]["listed"][k]) for s in listed_order])
                     for k in ("plain", "windows", "crop set 16", "crop set 100")}
    queries_total = sum(r["n_queries"] for r in results)
    secs: dict[str, float] = defaultdict(float)
    for r in results:
        for k, v in r["seconds"].items():
            secs[k] += v
    lookups = {k: np.mean([len(results[s]["queries"][name][k]) for s in range(n) for name in query_names])
               for k in ("plain", "dihedral", "expanded", "expanded-trim1", "bands", "windows")}
    orb_q = max(1, sum(r["n_queries"] for i, r in enumerate(results) if i in ORB_SET))
    cost_rows = [
        ["plain (hash-only list: PDQ + MD5)", "48 B (1 PDQ + MD5)", fmt(1000 * secs["plain"] / queries_total), "1"],
        ["expanded (query_variants)", "48 B", fmt(1000 * (secs["plain"] + secs["expanded"]) / queries_total),
         fmt(lookups["expanded"], 1)],
        ["expanded+bands", "48 B", "+ 8 crops", fmt(lookups["expanded"] + lookups["bands"], 1)],
        ["crop set 16",
         f"{fmt(32 * (1 + listed_counts['crop set 16']), 0)} B (x{1 + listed_counts['crop set 16']:.0f})",
         "as expanded", fmt(lookups["expanded"], 1)],
        ["crop set 100",
         f"{fmt(32 * (1 + listed_counts['crop set 100']), 0)} B (x{1 + listed_counts['crop set 100']:.0f})",
         "as expanded", fmt(lookups["expanded"], 1)],
        ["windows (media_signals, query_windows)",
         f"{fmt(32 * (1 + listed_counts['windows']), 0)} B (x{1 + listed_counts['windows']:.1f})",
         fmt(1000 * (secs["plain"] + secs["expanded"] + secs["windows"]) / queries_total)
         + f"; listing {fmt(1000 * secs['media_signals'] / max(1, len(listed_order)))}",
         f"{fmt(lookups['expanded'], 1)} + {fmt(lookups['windows'], 1)} windows"],
    ]
    if ORB_SET:
        cost_rows.append(["ORB+RANSAC", f"~{ORB_FEATURES * 40 // 1000} KB (500 x 32 B descriptor + 8 B point)",
                          fmt(1000 * secs["orb extract"] / orb_q) + " extract + "
                          + fmt(1000 * float(np.mean(orb_seconds))) + f" match vs {len(orb_listed)} listed",
                          f"{ORB_FEATURES} descriptors (kNN in a descriptor index)"])
    tail_rows = [[s, fmt(t["pairs"] / 1e6, 1), t["closest"], *[t[f"<= {x}"] for x in TAIL]] for s, t in tails.items()
                 if s != "windows, one"]  # the same pairs as "windows": the rule differs, not the hashes

    lines = [
        "# Edit recall: finding edited copies of listed photos",
        "",
        "Command: `.venv/bin/python bench/edit_recall.py"
        + (f" --photos {args.photos}" if args.photos != 1000 else "") + "`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}; machine: {os.cpu_count()} CPUs, "
        f"{args.workers} workers; load average at start {', '.join(f'{x:.2f}' for x in os.getloadavg())}  ",
        f"Corpus: {n} distinct benign photos ({sum(p.source == 'tile' for p in PHOTOS)} real-photo tiles, "
        f"{sum(p.source == 'synthetic' for p in PHOTOS)} synthetic scenes), built in {build_s:.0f}s; "
        f"{len(listed_order)} listed, {len(unlisted_order)} unlisted; {queries_total} query images "
        f"(each photo as is, {len(corpus.EDIT_NAMES)} edits, {len(corpus.COMBINED_EDIT_NAMES)} double edits); "
        f"signals computed in {signals_s:.0f}s. Fast PDQ core: {_pdqcheck.AVAILABLE}.",
        "",
        "Strategies are described in the module docstring of `bench/edit_recall.py`. Recall is the share of the "
        f"{len(listed_order)} listed photos whose copy matched its own listed photo"
        + (f"; ORB columns use {len(orb_listed)} listed photos (and {len(orb_unlisted)} unlisted for false positives)"
           if ORB_SET else "; ORB skipped (OpenCV not installed)") + ".",
        "",
        "## Recall per edit",
        "",
        *table(["query", *columns, *(["ORB+RANSAC", "expanded ∪ ORB"] if ORB_SET else [])], rows_out),
        "Recall by kind of photo (listed real-photo tiles: "
        f"{len(groups['tile'])}, listed synthetic scenes: {len(groups['synthetic'])}):",
        "",
        *table(["query", "expanded, tiles", "expanded, synthetic", "windows, tiles", "windows, synthetic"],
               by_source_rows),
        "## Targets",
        "",
        "Hash-only list: >= 95% for every edit except crops and caption bars. Media-backed list: >= 90% for every "
        "edit. No false positives.",
        "",
        *table(["strategy", "worst, edits a hash-only list must find", "worst, all ten edits",
                "false-positive queries"],
               target_rows),
        "## Cost",
        "",
        *table(["strategy", "storage per listed photo", "query ms per photo (this machine)", "lookups per photo"],
               cost_rows),
        "## Margin: distances between a query and listed photos it was not made from",
        "",
        "All pairs compared for false positives, by strategy: the closest non-matching distance, and how many "
        "pairs came within 40, 48 and 56 bits (the threshold is 31). For windows these are single windows, "
        "before `windows_agree`: one window can match by chance (\"windows, one\" above), two that agree on one "
        "crop and scale did not.",
        "",
        *table(["strategy", "pairs (millions)", "closest", *[f"<= {t}" for t in TAIL]], tail_rows),
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "edit_recall.md").write_text("\n".join(lines))
    data.update({"photos": n, "listed": len(listed_order), "queries": queries_total, "lookups": lookups,
                 "listed_counts": listed_counts, "seconds": dict(secs)})
    (RESULTS / "edit_recall.json").write_text(json.dumps(data, indent=1, default=float))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
