"""Triage end to end: `vigil scan` against the pipeline a user has today, on a benign mixed corpus.

Corpus (bench/work/scan/, seeded, made once): >= 2 MP photos (bench/gen_inputs.py), 720p H.264
videos, and planted copies of a third of the photos and two of the videos: exact copies under
other names, copies inside a zip and a tar.gz, photos re-encoded at half size, mirrored, framed in
black borders, cropped by 5%, and videos re-encoded at 360p. The list holds what lists in the field
hold: md5 + PDQ of each listed photo, md5 + vPDQ (reference settings) of each listed video.

Peer: what a user scripts with Meta's tools today, one file at a time in one process: MD5 of every
file, `threatexchange`'s PDQ (`pdq_from_file`) for files named like photos, `vpdq.computeHash` at one
frame a second for files named like videos; PDQ matched at <= 31 bits, videos by vPDQ's rule (>= 80%
of the query's frames within 31 bits of the listed video). It cannot look inside archives.

Vigil: `run_scan` (the library under `vigil scan`) with its defaults (fast mode, query expansion,
every core), timed from start to the reports written, on a fresh output folder.

Usage: python bench/scan_bench.py [--photos N] [--video-seconds S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tarfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, WORK, fmt, log, table
from gen_inputs import ensure_photos, ensure_videos
from hashing import machine
from vigil.hashing import HashOptions, hash_file
from vigil.lists.importing import import_records
from vigil.lists.model import Record, Signal
from vigil.scan.scanner import ScanOptions, run_scan
from vigil.signals.mode import Mode
from vigil.store import Store

SCAN = WORK / "scan"
PHOTO_EXT = {".jpg", ".jpeg", ".png"}
VIDEO_EXT = {".mp4", ".mov", ".mkv"}


def plant_videos(ev: Path, listed_videos: list[str], planted: dict[str, tuple[str, str]]) -> None:
    """The planted video copies (the originals sit in ev/Videos): recorded as is, and re-encoded at 360p."""
    for v in listed_videos:
        planted[f"Videos/{Path(v).name}"] = ("video, exact copy", Path(v).stem)
        target = ev / "Downloads" / f"{Path(v).stem}-360p.mp4"
        _reencode_video(v, target)
        planted[f"Downloads/{target.name}"] = ("video, re-encoded 360p", Path(v).stem)


def _save_jpeg(img: Image.Image, path: Path, quality: int) -> None:
    img.convert("RGB").save(path, "JPEG", quality=quality)


def _reencode_video(src: str, dst: Path) -> None:
    import av

    with av.open(src) as inp, av.open(str(dst), "w") as out:
        stream = inp.streams.video[0]
        enc = out.add_stream("libx264", rate=stream.average_rate)
        enc.width, enc.height = 640, 360
        enc.pix_fmt = "yuv420p"
        enc.options = {"crf": "28", "preset": "veryfast"}
        for frame in inp.decode(stream):
            small = frame.reformat(width=640, height=360, format="yuv420p")
            small.pts = frame.pts
            small.time_base = frame.time_base
            for packet in enc.encode(small):
                out.mux(packet)
        for packet in enc.encode(None):
            out.mux(packet)


def build(photo_count: int, video_seconds: float) -> tuple[Path, dict[str, tuple[str, str]], list[str], list[str]]:
    """The evidence folder, planted copies {relative path: (kind of copy, listed entry)}, listed originals."""
    photos = ensure_photos(photo_count)
    videos = ensure_videos(video_seconds)
    listed_photos = photos[::3]
    listed_videos = [v for v in videos if "bridge" in v or "fastpan" in v]
    ev = SCAN / "evidence"
    plan_file = SCAN / "plan.json"
    if plan_file.exists() and ev.exists():
        plan = json.loads(plan_file.read_text())
        if plan["photos"] == photo_count and plan["video_seconds"] == video_seconds:
            return ev, {k: tuple(v) for k, v in plan["planted"].items()}, listed_photos, listed_videos
    shutil.rmtree(SCAN, ignore_errors=True)
    log(f"scan: building the evidence under {ev}")
    planted: dict[str, tuple[str, str]] = {}
    for sub in ("Pictures", "Videos", "Downloads", "Backup"):
        (ev / sub).mkdir(parents=True)
    rng = np.random.default_rng(11)
    for p in photos:  # every photo, as found on the drive
        shutil.copy(p, ev / "Pictures" / Path(p).name)
    for v in videos:
        shutil.copy(v, ev / "Videos" / Path(v).name)
    for p in listed_photos:
        name, entry = Path(p).stem, Path(p).stem
        planted[f"Pictures/{Path(p).name}"] = ("exact copy", entry)
        with Image.open(p) as im:
            im = im.convert("RGB")
            w, h = im.size
            half = im.resize((w // 2, h // 2), Image.Resampling.LANCZOS)
            _save_jpeg(half, ev / "Downloads" / f"{name}-small.jpg", 70)
            planted[f"Downloads/{name}-small.jpg"] = ("re-encoded, half size", entry)
            _save_jpeg(ImageOps.mirror(half), ev / "Downloads" / f"{name}-mirrored.jpg", 85)
            planted[f"Downloads/{name}-mirrored.jpg"] = ("mirrored", entry)
            bx, by = int(w * 0.08), int(h * 0.08)
            _save_jpeg(ImageOps.expand(half, border=(bx // 2, by // 2), fill="black"),
                       ev / "Downloads" / f"{name}-framed.jpg", 90)
            planted[f"Downloads/{name}-framed.jpg"] = ("black border", entry)
            cx, cy = int(w * 0.05 * rng.random()), int(h * 0.05 * rng.random())
            _save_jpeg(im.crop((cx, cy, cx + int(w * 0.95), cy + int(h * 0.95))).resize((w // 2, h // 2)),
                       ev / "Downloads" / f"{name}-crop5.jpg", 90)
            planted[f"Downloads/{name}-crop5.jpg"] = ("cropped 5%", entry)
    with zipfile.ZipFile(ev / "Backup" / "phone.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in listed_photos[::2]:
            z.write(p, f"DCIM/{Path(p).stem}.jpg")
            planted[f"Backup/phone.zip!/DCIM/{Path(p).stem}.jpg"] = ("inside an archive", Path(p).stem)
    with tarfile.open(ev / "Backup" / "old.tar.gz", "w:gz") as t:
        for p in listed_photos[1::2][:5] + listed_videos[:1]:
            t.add(p, f"old/{Path(p).name}")
            planted[f"Backup/old.tar.gz!/old/{Path(p).name}"] = ("inside an archive", Path(p).stem)
    plant_videos(ev, listed_videos, planted)
    plan_file.write_text(json.dumps({"photos": photo_count, "video_seconds": video_seconds, "planted": planted},
                                    indent=1))
    return ev, planted, listed_photos, listed_videos


def make_list(store: Store, listed_photos: list[str], listed_videos: list[str]) -> dict[str, Any]:
    """Hash-only entries (what a list in the field holds), also kept for the peer's matching."""
    records = []
    peer: dict[str, Any] = {"md5": {}, "pdq": [], "vpdq": {}}
    for path in listed_photos + listed_videos:
        r = hash_file(path, HashOptions(mode=Mode.EXACT))
        entry = Path(path).stem
        assert r.digests is not None and r.error is None, (path, r.error)
        signals = [Signal("md5", r.digests.md5)]
        peer["md5"][r.digests.md5] = entry
        if r.pdq is not None:
            signals.append(Signal("pdq", r.pdq.hash, r.pdq.quality))
            peer["pdq"].append((r.pdq.hash, entry))
        if r.vpdq:
            signals.append(Signal("vpdq", "\n".join(f.to_line() for f in r.vpdq)))
            peer["vpdq"][entry] = [(f.hash, f.quality) for f in r.vpdq]
        records.append(Record(entry, signals))
    import_records(store, "bench", records)
    return peer


def _bits(hexes: list[str]) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32), axis=1)


def peer_scan(ev: Path, listed: dict[str, Any],
              root: Path | None = None) -> tuple[float, dict[str, set[str]], int, int]:
    """The user's pipeline today: one file at a time; returns seconds, hits per path, files, bytes."""
    import vpdq
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    pdq_bits = _bits([h for h, _ in listed["pdq"]])
    pdq_entries = [e for _, e in listed["pdq"]]
    videos = {e: _bits([h for h, q in frames if q >= 50]) for e, frames in listed["vpdq"].items()}
    hits: dict[str, set[str]] = defaultdict(set)
    files = size = 0
    t0 = time.perf_counter()
    for folder, dirs, names in os.walk(root or ev):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ev)
            files += 1
            size += os.path.getsize(path)
            h = hashlib.md5()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            if h.hexdigest() in listed["md5"]:
                hits[rel].add(listed["md5"][h.hexdigest()])
            ext = os.path.splitext(name)[1].lower()
            try:
                if ext in PHOTO_EXT:
                    hexhash, quality = pdq_from_file(Path(path))
                    if quality >= 50:
                        d = (_bits([hexhash]) != pdq_bits).sum(axis=1)
                        hits[rel].update(pdq_entries[i] for i in np.nonzero(d <= 31)[0])
                elif ext in VIDEO_EXT:
                    frames = [f.hex for f in vpdq.computeHash(path, seconds_per_hash=1) if f.quality >= 50]
                    if frames:
                        q = _bits(frames)
                        for entry, lb in videos.items():
                            near = ((q[:, None, :] != lb[None, :, :]).sum(axis=2) <= 31).any(axis=1)
                            if near.mean() >= 0.8:
                                hits[rel].add(entry)
            except Exception as exc:
                log(f"peer: {rel}: {exc}")
    return time.perf_counter() - t0, hits, files, size


def vigil_scan(ev: Path, store: Store, root: Path | None = None, *, lists: tuple[str, ...] = ("bench",),
               out: Path | None = None) -> tuple[float, dict[str, set[str]], dict[str, Any]]:
    """Vigil's scan of ``root`` (default: all the evidence) against ``lists``: seconds, hits per path, summary."""
    out = out or SCAN / "vigil-out"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    run_scan(ScanOptions([str(root or ev)], out, "bench", list(lists)), store)
    seconds = time.perf_counter() - t0
    report = json.loads((out / "report.json").read_text())
    hits: dict[str, set[str]] = defaultdict(set)
    for item in report["items"]:
        rel = os.path.relpath(item["path"].split("!/", 1)[0], ev)
        if "!/" in item["path"]:
            rel += "!/" + item["path"].split("!/", 1)[1]
        hits[rel].update(m["entry"] for m in item["matches"])
    return seconds, hits, report["summary"]


def _duration(path: str) -> float:
    import av

    with av.open(path) as c:
        return float(c.duration or 0) / 1e6


def _bytes_by_kind(ev: Path) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for p in ev.rglob("*"):
        if p.is_file():
            ext = p.suffix.lower()
            kind = "photos" if ext in PHOTO_EXT else "videos" if ext in VIDEO_EXT else "archives" \
                if ext in (".zip", ".gz") else "other"
            out[kind] += p.stat().st_size
    return dict(sorted(out.items()))


def recall(planted: dict[str, tuple[str, str]], hits: dict[str, set[str]]) -> dict[str, tuple[int, int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, (kind, entry) in planted.items():
        out[kind][1] += 1
        out[kind][0] += int(entry in hits.get(path, set()))
    return {k: (v[0], v[1]) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=90)
    ap.add_argument("--video-seconds", type=float, default=40.0)
    args = ap.parse_args()
    info = machine()
    ev, planted, listed_photos, listed_videos = build(args.photos, args.video_seconds)
    db = SCAN / "bench.db"
    db.unlink(missing_ok=True)
    store = Store.open(db)
    store.cache_dir = SCAN / "cache"
    listed = make_list(store, listed_photos, listed_videos)
    planted_set = set(planted)

    log("scan: Vigil (run_scan, defaults, every core)")
    v_seconds, v_hits, summary = vigil_scan(ev, store)
    log(f"scan: Vigil {v_seconds:.1f} s")
    log("scan: peer (threatexchange PDQ, vpdq, MD5, one file at a time)")
    p_seconds, p_hits, files, size = peer_scan(ev, listed)
    log(f"scan: peer {p_seconds:.1f} s")
    videos = ev / "Videos"
    video_seconds = sum(_duration(str(p)) for p in videos.iterdir())
    log("scan: videos only, Vigil then peer")
    vv_seconds = vigil_scan(ev, store, videos)[0]
    pv_seconds = peer_scan(ev, listed, videos)[0]
    store.close()
    by_kind = _bytes_by_kind(ev)

    v_recall, p_recall = recall(planted, v_hits), recall(planted, p_hits)
    v_false = sorted(p for p, e in v_hits.items() if e and p not in planted_set and not p.endswith((".zip", ".gz")))
    p_false = sorted(p for p, e in p_hits.items() if e and p not in planted_set)
    mb = size / 1e6
    v_rate, p_rate = mb / v_seconds, mb / p_seconds
    tb8_hours = 8e12 / (v_rate * 1e6) / 3600
    # A drive of video: hours of video in 8 TB at a typical 2.5 Mbit/s for 720p H.264 (an assumption:
    # the generated slow pans compress far better), at each pipeline's measured times real time.
    video_hours = 8e12 * 8 / 2.5e6 / 3600
    v_realtime, p_realtime = video_seconds / vv_seconds, video_seconds / pv_seconds
    rows = [[kind, f"{v_recall[kind][0]}/{v_recall[kind][1]}", f"{p_recall[kind][0]}/{p_recall[kind][1]}",
             "yes" if v_recall[kind][0] >= p_recall[kind][0] else "**NO**"] for kind in sorted(v_recall)]
    md = [
        "## Triage: `vigil scan` against the user's pipeline today",
        "",
        f"Command: `./dev bench scan` (`bench/scan_bench.py --photos {args.photos} --video-seconds "
        f"{args.video_seconds:g}`); {info['date_utc']}; {info['nproc']} cores, {info['cpu']}, "
        f"{info['memory_gib']} GiB; load at start {fmt(info['loadavg_at_start'][0])}; "
        f"vigil {info['versions']['vigil git']}.",
        "",
        f"Evidence: {files} files on disk, {mb:,.0f} MB ({summary['items']} items for Vigil, members of archives "
        f"included; {len(listed_photos)} photos and {len(listed_videos)} videos listed; "
        f"{len(planted)} planted copies).",
        "",
        *table(["", "seconds", "MB/s", "files/s", "ratio (MB/s)"], [
            ["Vigil `run_scan` (fast mode, expansion, 2 workers, reports included)", fmt(v_seconds, 1),
             fmt(v_rate, 1), fmt(files / v_seconds, 1), f"**{v_rate / p_rate:.1f}x**"],
            ["peer: threatexchange PDQ + vpdq + MD5, one file at a time", fmt(p_seconds, 1), fmt(p_rate, 1),
             fmt(files / p_seconds, 1), "1.0x"],
        ]),
        "",
        "Bytes by kind: " + ", ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in by_kind.items()) + ".",
        "",
        f"8 TB of this mix at Vigil's rate on this machine: **{tb8_hours:,.0f} hours** ({tb8_hours / 24:.1f} days).",
        "",
        f"Videos alone ({video_seconds:,.0f} s of 720p H.264 in `Videos/`): Vigil {vv_seconds:.1f} s "
        f"({v_realtime:,.0f}x real time), peer {pv_seconds:.1f} s ({p_realtime:,.0f}x real time): "
        f"**{pv_seconds / vv_seconds:.1f}x**. A seized server of 8 TB of 720p video at 2.5 Mbit/s holds "
        f"{video_hours:,.0f} hours of video: Vigil **{video_hours / v_realtime / 24:,.1f} days** on this machine, "
        f"the peer {video_hours / p_realtime / 24:,.0f} days.",
        "",
        "Recall on every kind of planted copy (found / planted):",
        "",
        *table(["kind of copy", "Vigil", "peer", "Vigil >= peer"], rows),
        "",
        f"False positives (hits on files that are no copy of a listed item): Vigil {len(v_false)}, peer {len(p_false)}"
        + (f" ({', '.join(v_false[:5])})" if v_false else "") + ".",
    ]
    text = "\n".join(md) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scan.md").write_text(text)
    (RESULTS / "scan.json").write_text(json.dumps({
        "machine": info, "files": files, "bytes": size, "vigil_seconds": v_seconds, "peer_seconds": p_seconds,
        "vigil_recall": v_recall, "peer_recall": p_recall, "vigil_false": v_false, "peer_false": p_false,
        "video_seconds": video_seconds, "vigil_video_seconds": vv_seconds, "peer_video_seconds": pv_seconds,
        "summary": summary}, indent=1, default=str))
    print(text)


if __name__ == "__main__":
    main()
