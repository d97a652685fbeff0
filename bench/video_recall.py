"""Video recall: mirrored, letterboxed, pillarboxed, window-boxed and cropped copies of listed videos,
against a hash-only vPDQ list and a list made from the videos (add-media), in fast and exact mode;
false positives against unrelated benign videos; what it costs.

Run: ``bash bench/run video-recall`` (or ``.venv/bin/python bench/video_recall.py [--listed N --decoys N]``).
Writes bench/results/video_recall.md and .json.

The videos are generated (tests/benign_videos.py), benign and seeded: moving textured shapes, pans
over synthetic photos (tests/benign_corpus.py), smooth noise-free scenes, dark night scenes. Listed
videos are 12 s at 10 frames a second, 320x180, a key frame every 2 s; each copy is re-encoded
(CRF 26, a key frame every 3 s). Decoys are 6 s videos of the same kinds from other seeds; every
fourth is letterboxed and every fifth mirrored, so the new views are exercised on them too. Each
query is hashed as `vigil match` and `vigil scan` hash it (views on; frame windows on, as a list
made from media asks) and matched against both lists; a decoy that matches anything, or a copy that
matches another entry, is a false positive.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import RESULTS, ROOT, WORK, fmt, log, table

sys.path.insert(0, str(ROOT / "tests"))
import benign_videos as bv
from vigil.hashing import HashOptions, hash_files
from vigil.lists import Record, Signal
from vigil.lists.importing import import_records
from vigil.lists.media import add_media
from vigil.matching import Matcher, query_from_result
from vigil.signals.mode import Mode
from vigil.signals.vpdq import hash_video_views
from vigil.store import Store
from vigil.store.windows import unpack

FPS = 10
LISTED_SECONDS = 12.0
DECOY_SECONDS = 6.0
EDITS = bv.EDITS
HASH_ONLY_EDITS = ("mirror", "letterbox", "pillarbox", "windowbox")  # a crop needs the media


def _make(folder: Path, listed: int, decoys: int) -> tuple[list[Path], dict[Path, tuple[str | None, str]]]:
    """Listed videos, and every query with (the entry it must match or None, the edit)."""
    (folder / "listed").mkdir(parents=True, exist_ok=True)
    (folder / "queries").mkdir(parents=True, exist_ok=True)
    originals: list[Path] = []
    expected: dict[Path, tuple[str | None, str]] = {}
    for i in range(listed):
        kind = bv.KINDS[i % len(bv.KINDS)]
        name = f"{kind}-{i:03d}"
        path = folder / "listed" / f"{name}.mp4"
        originals.append(path)
        frames = bv.scene(kind, 1000 + i, seconds=LISTED_SECONDS, fps=FPS)
        if not path.exists():
            bv.write_video(path, frames, fps=FPS, gop=2 * FPS)
        for edit in EDITS:
            copy = folder / "queries" / f"{name}.{edit}.mp4"
            if not copy.exists():
                bv.write_video(copy, bv.edit(frames, edit, seed=i), fps=FPS, gop=3 * FPS, crf=26)
            expected[copy] = (name, edit)
    for i in range(decoys):
        kind = bv.KINDS[i % len(bv.KINDS)]
        edit = "letterbox" if i % 4 == 0 else "mirror" if i % 5 == 0 else "none"
        path = folder / "queries" / f"decoy-{kind}-{i:03d}.{edit}.mp4"
        if not path.exists():
            frames = bv.scene(kind, 5000 + i, seconds=DECOY_SECONDS, fps=FPS)
            bv.write_video(path, frames if edit == "none" else bv.edit(frames, edit, seed=i), fps=FPS, gop=3 * FPS,
                           crf=26)
        expected[path] = (None, f"decoy ({edit})")
        if i and i % 50 == 0:
            log(f"  {i}/{decoys} decoys")
    return originals, expected


def _lists(store: Store, originals: list[Path]) -> dict[str, float]:
    """The hash-only list (reference vPDQ of each listed video) and the list made from the media."""
    records = []
    for path in originals:
        features = hash_video_views(path, mode=Mode.EXACT).features
        records.append(Record(path.stem, [Signal.of("vpdq", "\n".join(f.to_line() for f in features))]))
    import_records(store, "hashes", records)
    start = time.perf_counter()
    added = add_media(store, "media", [str(p) for p in originals], jobs=2)
    seconds = time.perf_counter() - start
    assert not added.errors, added.summary()
    sizes: dict[str, float] = {}
    from sqlalchemy import text

    with store.connect() as conn:
        for name in ("hashes", "media"):  # an entry's signals (JSON) and its packed windows (store.windows)
            row = conn.execute(text("SELECT SUM(LENGTH(e.signals)), SUM(COALESCE(LENGTH(e.windows), 0)) FROM entries e "
                                    "JOIN lists l ON l.id = e.list_id WHERE l.name = :n"), {"n": name}).one()
            sizes[name] = float(row[0] or 0) + float(row[1] or 0)
        rows = conn.execute(text("SELECT e.windows FROM entries e JOIN lists l ON l.id = e.list_id "
                                 "WHERE l.name = 'media' AND e.windows IS NOT NULL")).all()
        windows = sum(len(unpack(r[0]).hashes) for r in rows)
    minutes = len(originals) * LISTED_SECONDS / 60
    return {"hash_only_bytes_per_minute": sizes["hashes"] / minutes, "media_bytes_per_minute": sizes["media"] / minutes,
            "windows_per_minute": windows / minutes, "add_media_seconds_per_minute": seconds / minutes}


def _costs(originals: list[Path]) -> dict[str, float]:
    """Hashing seconds per video minute, one thread, on the listed videos: plain vPDQ, with views,
    with views and frame windows, in each mode."""
    sample = originals[: min(8, len(originals))]
    minutes = len(sample) * LISTED_SECONDS / 60
    out: dict[str, float] = {}
    for mode in (Mode.FAST, Mode.EXACT):
        for what, kwargs in (("plain", {}), ("views", {"views": True}), ("views+windows", {"views": True,
                                                                                          "windows": True})):
            start = time.perf_counter()
            for path in sample:
                hash_video_views(path, mode=mode, threads=1, **kwargs)
            out[f"{mode.value} {what}"] = (time.perf_counter() - start) / minutes
    return out


def _run(store: Store, expected: dict[Path, tuple[str | None, str]], mode: Mode) -> dict[str, Any]:
    matcher = Matcher(store)
    found: dict[str, dict[str, int]] = {"hashes": defaultdict(int), "media": defaultdict(int)}
    asked: dict[str, int] = defaultdict(int)
    views: dict[str, dict[str, int]] = {"hashes": defaultdict(int), "media": defaultdict(int)}
    false_positives: list[str] = []
    boxes_on_decoys = 0
    paths = sorted(expected)
    options = HashOptions(mode=mode, variants=True, windows=matcher.wants_windows)
    start = time.perf_counter()
    for path, result in zip(paths, hash_files([str(p) for p in paths], options, jobs=2), strict=True):
        entry, edit = expected[path]
        if result.error:
            raise SystemExit(f"{path}: {result.error}")
        matches = matcher.match(query_from_result(result)).matches
        if entry is None:
            boxes_on_decoys += any(v.view.trimmed is not None for v in result.vpdq_views or ())
            false_positives += [f"{path.name} -> {m.list}/{m.entry} ({m.variant})" for m in matches]
            continue
        asked[edit] += 1
        for m in matches:
            if m.entry != entry:
                false_positives.append(f"{path.name} -> {m.list}/{m.entry} ({m.variant})")
        for name in ("hashes", "media"):
            mine = [m for m in matches if m.list == name and m.entry == entry]
            if mine:
                found[name][edit] += 1
                views[name][mine[0].variant.split(" ")[0]] += 1
    seconds = time.perf_counter() - start
    minutes = sum(LISTED_SECONDS if e is not None else DECOY_SECONDS for e, _ in expected.values()) / 60
    decoys = sum(1 for e, _ in expected.values() if e is None)
    return {"recall": {name: {e: found[name][e] / asked[e] for e in EDITS} for name in found},
            "asked": dict(asked), "false_positives": false_positives, "decoys": decoys,
            "decoys_with_a_box": boxes_on_decoys, "views": {k: dict(v) for k, v in views.items()},
            "seconds_per_minute_2_jobs": seconds / minutes}


def _markdown(raw: dict[str, Any]) -> str:
    lines = ["# Video recall: mirrored, letterboxed, pillarboxed, window-boxed and cropped copies", "",
             f"`bash bench/run video-recall` ({raw['listed']} listed videos, {raw['decoys']} unrelated decoys; "
             f"{raw['seconds']:.0f} s on this machine). Generated benign videos (tests/benign_videos.py): "
             f"{LISTED_SECONDS:g} s listed, {DECOY_SECONDS:g} s decoys, 320x180 at {FPS} fps; copies re-encoded "
             "(CRF 26). Queries hashed as `vigil match`/`vigil scan` hash them (views on, frame windows on).", ""]
    for mode in ("fast", "exact"):
        r = raw["modes"][mode]
        lines += [f"## {mode} mode", ""]
        rows = []
        for e in EDITS:
            rows.append([e, r["asked"].get(e, 0),
                         f"{r['recall']['hashes'][e]:.1%}" if e in HASH_ONLY_EDITS else
                         f"({r['recall']['hashes'][e]:.1%}: not expected)",
                         f"{r['recall']['media'][e]:.1%}"])
        lines += table(["edit", "copies", "hash-only vPDQ list", "list made from media"], rows)
        boxed = sum(1 for i in range(r["decoys"]) if i % 4 == 0)
        lines += ["", f"False positives: **{len(r['false_positives'])}** against {r['decoys']} decoys "
                  f"(and every copy against the other entries); decoys given a bar box: {r['decoys_with_a_box']} "
                  f"({boxed} of them are letterboxed). "
                  f"Found through (media list): {r['views']['media']}. "
                  f"Hashing and matching with 2 jobs: {r['seconds_per_minute_2_jobs']:.2f} s per video minute.", ""]
        for fp in r["false_positives"][:20]:
            lines.append(f"- {fp}")
    c = raw["costs"]
    lines += ["## Costs", "", "Hashing seconds per video minute, one thread (320x180, 10 fps):", ""]
    lines += table(["mode", "plain vPDQ", "+ views (mirror, bars)", "+ frame windows"],
                   [[m, fmt(c[f"{m} plain"], 3), fmt(c[f"{m} views"], 3), fmt(c[f"{m} views+windows"], 3)]
                    for m in ("fast", "exact")])
    s = raw["storage"]
    lines += ["", f"Storage per listed video minute (signals as stored): hash-only vPDQ "
              f"{s['hash_only_bytes_per_minute'] / 1024:.1f} KB; made from media (vPDQ, digests and frame "
              f"windows) {s['media_bytes_per_minute'] / 1024:.1f} KB, {s['windows_per_minute']:.0f} windows a "
              f"minute. add-media: {s['add_media_seconds_per_minute']:.2f} s per listed minute (2 jobs).", ""]
    lines += ["## Reading the numbers", "",
              "- Views (mirror, bars) are PDQ's own: each frame's mirrored hash comes from its DCT, and the trimmed "
              "view is hashed from the frame's luma kept by block means (57.6 KB a 640x360 frame) for the first "
              "120 hashed frames, from which the bars are decided; later frames are trimmed as they come.",
              "- A window-boxed copy scales the picture down (here to 78% of 320x180, 248x140 pixels) before "
              "re-encoding: its trimmed frames come out 12-30 bits from the listed ones, and a few copies stay "
              "over the threshold on too many frames. (Larger videos were not measured here.)",
              "- Crops are found only through the frame windows of a list made from media: a query frame matches a "
              "listed frame by two agreeing windows, and the video when half of its frames with "
              "windows do "
              "(`matching.matcher.WINDOW_FRAMES_PERCENT`). Moving content and smooth scenes keep few agreeing "
              "windows, so some copies stay under half.",
              "- Frame windows are most of a media list's storage: every window of every hashed frame (one "
              "scale; a checked frame looks at three, and at each window's mirror image), with its label.", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listed", type=int, default=24)
    parser.add_argument("--decoys", type=int, default=200)
    args = parser.parse_args()
    start = time.perf_counter()
    folder = WORK / "video_recall"
    log(f"generating {args.listed} listed videos, their copies and {args.decoys} decoys under {folder}")
    originals, expected = _make(folder, args.listed, args.decoys)
    db = folder / "vigil.db"
    for stale in (db, folder / "cache"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            os.remove(stale)
    store = Store.open(db)
    store.cache_dir = folder / "cache"
    log("listing: hash-only vPDQ list and add-media")
    storage = _lists(store, originals)
    raw: dict[str, Any] = {"listed": args.listed, "decoys": args.decoys, "storage": storage, "modes": {}}
    for mode in (Mode.FAST, Mode.EXACT):
        log(f"matching every query in {mode.value} mode")
        raw["modes"][mode.value] = _run(store, expected, mode)
        log(f"  {mode.value}: {raw['modes'][mode.value]['recall']}; "
            f"{len(raw['modes'][mode.value]['false_positives'])} false positives")
    log("costs")
    raw["costs"] = _costs(originals)
    raw["seconds"] = time.perf_counter() - start
    store.close()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_recall.json").write_text(json.dumps(raw, indent=1))
    (RESULTS / "video_recall.md").write_text(_markdown(raw))
    log(f"wrote {RESULTS / 'video_recall.md'}")


if __name__ == "__main__":
    main()
