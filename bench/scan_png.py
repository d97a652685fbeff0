"""`vigil scan` with a hash list AND a media-backed list, on a PNG-heavy drive, against the user's pipeline.

Issue 11's speed item: on a seized drive where large PNGs (4K wallpapers, screenshots) are about
half the bytes, a scan against a media-backed list (`lists add-media`, whose windows make every
photo bring its own query windows) must stay >= 10x the peer's MB/s, in the same run.

Corpus (bench/work/scan-png/, seeded, made once): 4K PNG wallpapers (smooth gradients, abstract
art, skies; some with grain), PNG screenshots (1080x2400 and 2560x1440 UI with text, some with a
photo inside), camera JPEGs (bench/gen_inputs.py's photos with grain; all from bench/png_corpus.py),
720p H.264 videos, and planted copies of a quarter of the photos and a third of the wallpapers:
exact copies under other names, copies in a zip, re-encoded at half size, mirrored, cropped by 5%
and by 12% (crops: found through the media-backed list only), and videos re-encoded at 360p.
Lists: "bench" holds md5 + PDQ of every listed photo and md5 + vPDQ of each listed video (what
lists in the field hold); "media" is `add_media` of the listed photos and wallpapers.

Peer: bench/scan_bench.py's (MD5 + threatexchange `pdq_from_file` + `vpdq`, one file at a time).
Vigil: `run_scan` with its defaults against both lists, then against the hash list alone.
Profile: every photo of the evidence hashed and checked in this process, one at a time, as a scan
worker does, with the time of each step summed: reading + digests, decode, PDQ (with its
orientations), border boxes, query variants, query windows, matching; the scan's wall time less
the workers' share is the database, reports and start-up.

Usage: python bench/scan_png.py [--photos N] [--wallpapers N] [--screenshots N] [--video-seconds S]
       [--profile-only] [--tag T] [--window-side N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, WORK, fmt, log, table
from gen_inputs import PHOTO_SOURCES, SEED, ensure_photos, ensure_videos
from hashing import machine
from png_corpus import ensure_camera_photos, ensure_screenshots, ensure_wallpapers
from scan_bench import PHOTO_EXT, _bytes_by_kind, make_list, peer_scan, plant_videos, recall, vigil_scan
from vigil.lists.media import add_media
from vigil.store import Store

OUT = WORK / "scan-png"
MEDIA_ONLY = ("cropped 5%", "cropped 12%")  # kinds plain PDQ cannot find: only a media-backed list does


def _save_jpeg(img: Image.Image, path: Path, quality: int) -> None:
    img.convert("RGB").save(path, "JPEG", quality=quality)


def _source_of(path: str) -> str | None:
    """Which reference scene a gen_inputs photo was cut from: overlapping cuts of one scene are copies.
    The reference photos come in families of one scene: exif-rotn-1/3/6/8 (one photo stored in four
    orientations) and bridge-mods (one photo, its saturation changed)."""
    name = Path(path).stem
    if not name.startswith("camera-"):
        return None
    rng = np.random.default_rng([SEED, int(name.split("-")[1])])
    source = PHOTO_SOURCES[int(rng.integers(len(PHOTO_SOURCES)))]
    return source.rsplit("-", 1)[0] if "exif-rotn" in source else source.split("/")[0] if "bridge" in source \
        else source


def build(args: argparse.Namespace) -> tuple[Path, dict[str, tuple[str, str]], list[str], list[str], list[str]]:
    """The evidence, planted copies {relative path: (kind, listed entry)}, listed photos, videos, every photo."""
    photos = ensure_camera_photos(ensure_photos(args.photos))
    walls = ensure_wallpapers(args.wallpapers)
    listed_photos = photos[::4] + walls[::3]
    shots = ensure_screenshots(args.screenshots)
    videos = ensure_videos(args.video_seconds)
    listed_videos = [v for v in videos if "bridge" in v or "fastpan" in v]
    every_photo = photos + walls + shots
    ev = OUT / "evidence"
    plan_file = OUT / "plan.json"
    key = {"photos": args.photos, "wallpapers": args.wallpapers, "screenshots": args.screenshots,
           "video_seconds": args.video_seconds, "version": 3}
    if plan_file.exists() and ev.exists():
        plan = json.loads(plan_file.read_text())
        if plan["key"] == key:
            planted = {k: (v[0], v[1]) for k, v in plan["planted"].items()}
            return ev, planted, listed_photos, listed_videos, every_photo
    shutil.rmtree(OUT, ignore_errors=True)
    log(f"scan-png: building the evidence under {ev}")
    planted: dict[str, tuple[str, str]] = {}
    for sub in ("Pictures", "Wallpapers", "Screenshots", "Videos", "Downloads", "Backup"):
        (ev / sub).mkdir(parents=True)
    for folder, files in (("Pictures", photos), ("Wallpapers", walls), ("Screenshots", shots), ("Videos", videos)):
        for p in files:
            shutil.copy(p, ev / folder / Path(p).name)
    rng = np.random.default_rng(1130)
    for p in listed_photos:
        entry = Path(p).stem
        folder = "Wallpapers" if entry.startswith("wallpaper") else "Pictures"
        planted[f"{folder}/{Path(p).name}"] = ("exact copy", entry)
        shutil.copy(p, ev / "Downloads" / f"IMG_{entry}{Path(p).suffix}")
        planted[f"Downloads/IMG_{entry}{Path(p).suffix}"] = ("exact copy, renamed", entry)
        with Image.open(p) as im:
            im = im.convert("RGB")
            w, h = im.size
            half = im.resize((w // 2, h // 2), Image.Resampling.LANCZOS)
            copies = {"re-encoded, half size": half, "mirrored": ImageOps.mirror(half)}
            for kind, share in (("cropped 5%", 0.05), ("cropped 12%", 0.12)):
                cx, cy = int(w * share * rng.random()), int(h * share * rng.random())
                cut = im.crop((cx, cy, cx + int(w * (1 - share)), cy + int(h * (1 - share))))
                copies[kind] = cut.resize((cut.width // 2, cut.height // 2), Image.Resampling.LANCZOS)
            for kind, img in copies.items():
                name = f"{entry}-{kind.split(',')[0].replace(' ', '').replace('%', '')}.jpg"
                _save_jpeg(img, ev / "Downloads" / name, int(rng.integers(70, 92)))
                planted[f"Downloads/{name}"] = (kind, entry)
    with zipfile.ZipFile(ev / "Backup" / "phone.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in listed_photos[::3]:
            z.write(p, f"DCIM/{Path(p).name}")
            planted[f"Backup/phone.zip!/DCIM/{Path(p).name}"] = ("inside an archive", Path(p).stem)
    plant_videos(ev, listed_videos, planted)
    plan_file.write_text(json.dumps({"key": key, "planted": planted}, indent=1))
    return ev, planted, listed_photos, listed_videos, every_photo


# ---------------------------------------------------------------- where a worker's time goes
class _Clock:
    """Seconds per step, summed over calls; a step timed inside another is taken out of the outer one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []

    def wrap(self, step: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([0.0])
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - t0
                inner = self._stack.pop()[0]
                self.seconds[step] += spent - inner
                if self._stack:
                    self._stack[-1][0] += spent

        return timed


class _Cpu:
    """CPU seconds (user + system) of this process and its finished children since the last lap."""

    def __init__(self) -> None:
        self._last = self._now()

    @staticmethod
    def _now() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def lap(self) -> float:
        now = self._now()
        spent, self._last = now - self._last, now
        return spent


def _peer_photo(path: Path) -> None:
    """What the peer does with a photo (scan_bench.peer_scan): MD5 of the file, threatexchange's PDQ."""
    import hashlib

    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    hashlib.md5(path.read_bytes()).hexdigest()
    pdq_from_file(path)


def profile(ev: Path, store: Store, lists: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """CPU milliseconds per step, summed per kind of photo (PNG >= 4 MP, other PNG, JPEG), one photo at a
    time; and the peer's for the same photos."""
    import vigil.hashing.photo as hphoto
    import vigil.signals.variants as variants
    from vigil.hashing import HashOptions
    from vigil.hashing.pipeline import hash_file
    from vigil.matching.matcher import Matcher
    from vigil.scan.checking import ListCheck
    from vigil.scan.reading import ORIGINAL
    from vigil.signals.pdq import warm_up
    from vigil.signals.variants import Variant

    warm_up()
    clock = _Clock()
    saved = {(hphoto, "open_photo"): hphoto.open_photo, (hphoto, "decode_rgb"): hphoto.decode_rgb,
             (hphoto, "hash_decoded"): hphoto.hash_decoded, (variants, "content_boxes"): variants.content_boxes,
             (variants, "may_have_border"): variants.may_have_border,
             (variants, "query_variants"): variants.query_variants,
             (variants, "query_windows"): variants.query_windows,
             (variants.QueryWindows, "first"): variants.QueryWindows.first,
             (variants.QueryWindows, "complete"): variants.QueryWindows.complete}
    steps = {"open_photo": "decode", "decode_rgb": "decode", "hash_decoded": "PDQ + orientations",
             "content_boxes": "border boxes", "may_have_border": "border boxes",
             "query_variants": "query variants", "query_windows": "query windows", "first": "query windows",
             "complete": "query windows"}
    matcher = Matcher(store, list(lists))
    check = ListCheck(matcher)
    options = HashOptions(variants=True, windows=matcher.wants_windows, windows_in_steps=True)  # as a scan hashes
    per_kind: dict[str, dict[str, float]] = {}
    try:
        for (module, name), fn in saved.items():
            setattr(module, name, clock.wrap(steps[name], fn))
        timed_hash = clock.wrap("read + digests", hash_file)
        timed_check = clock.wrap("matching", check.check)
        photos = sorted(p for p in ev.rglob("*") if p.suffix.lower() in PHOTO_EXT)
        for path in [p for p in photos if p.suffix == ".png"][:2] + [p for p in photos if p.suffix != ".png"][:2]:
            r = hash_file(str(path), options)  # warm: kernels compiled or loaded, the lists' index mapped
            check.check({}, list(r.pdq_variants or []) + (r.pdq_windows or []), None, probe=r.probe)
        clock.seconds.clear()
        for path in photos:
            with Image.open(path) as im:
                big_png = im.format == "PNG" and im.width * im.height >= 4e6
                kind = "PNG >= 4 MP" if big_png else "PNG, smaller" if im.format == "PNG" else "JPEG"
            before = dict(clock.seconds)
            t0 = time.process_time()
            r = timed_hash(str(path), options)
            assert r.pdq is not None, (path, r.error)
            queries = list(r.pdq_variants or [Variant(ORIGINAL, r.pdq.hash, r.pdq.quality)]) + (r.pdq_windows or [])
            timed_check(r.digests.as_dict() if r.digests else {}, queries, None, probe=r.probe)
            total = time.process_time() - t0
            t0 = time.process_time()
            _peer_photo(path)
            peer = time.process_time() - t0
            row = per_kind.setdefault(kind, defaultdict(float))
            row["photos"] += 1
            row["MB"] += path.stat().st_size / 1e6
            row["total"] += total * 1e3
            row["peer"] += peer * 1e3
            row["windows"] += len(r.pdq_windows or [])
            for step, seconds in clock.seconds.items():
                row[step] += (seconds - before.get(step, 0.0)) * 1e3
    finally:
        for (module, name), fn in saved.items():
            setattr(module, name, fn)
        check.close()
    return per_kind


STEPS = ["read + digests", "decode", "PDQ + orientations", "border boxes", "query variants", "query windows",
         "matching"]


def profile_table(per_kind: dict[str, dict[str, float]]) -> list[str]:
    rows = []
    for kind, row in sorted(per_kind.items()):
        n = row["photos"]
        rest = row["total"] - sum(row[s] for s in STEPS)
        rows.append([kind, int(n), fmt(row["MB"], 0), *(fmt(row[s] / n, 1) for s in STEPS), fmt(rest / n, 1),
                     f"**{row['total'] / n:.1f}**", fmt(row["windows"] / n, 0), fmt(row["peer"] / n, 1),
                     f"{row['peer'] / row['total']:.1f}x"])
    return table(["photos", "n", "MB", *(f"{s} ms" for s in STEPS), "other ms", "total ms a photo",
                  "query windows a photo", "peer ms a photo", "peer / Vigil"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--wallpapers", type=int, default=20)
    ap.add_argument("--screenshots", type=int, default=24)
    ap.add_argument("--video-seconds", type=float, default=16.0)
    ap.add_argument("--profile-only", action="store_true", help="build, list and profile; no scans")
    ap.add_argument("--tag", default="", help="suffix of the result files (scan_png{TAG}.md)")
    ap.add_argument("--window-side", type=int, default=None,
                    help="fast mode's query windows on a copy of this long side (hashing.photo.WINDOW_QUERY_SIDE; "
                         "default: Vigil's own); the scan's workers inherit it")
    args = ap.parse_args()
    if args.window_side is not None:
        import vigil.hashing.photo as hphoto

        hphoto.WINDOW_QUERY_SIDE = args.window_side
    info = machine()
    ev, planted, listed_photos, listed_videos, every_photo = build(args)
    db = OUT / "bench.db"
    db.unlink(missing_ok=True)
    store = Store.open(db)
    store.cache_dir = OUT / "cache"
    listed = make_list(store, listed_photos, listed_videos)
    log(f"scan-png: add_media of {len(listed_photos)} listed photos into 'media'")
    t0 = time.perf_counter()
    media = add_media(store, "media", listed_photos)
    media_seconds = time.perf_counter() - t0
    assert not media.errors, media.errors
    both = ("bench", "media")
    log("scan-png: profile (one photo at a time, in this process)")
    per_kind = profile(ev, store, both)
    print("\n".join(profile_table(per_kind)))
    if args.profile_only:
        store.close()
        return
    log("scan-png: Vigil against both lists")
    cpu = _Cpu()
    v_seconds, v_hits, summary = vigil_scan(ev, store, lists=both, out=OUT / "vigil-out")
    v_cpu = cpu.lap()
    log(f"scan-png: Vigil {v_seconds:.1f} s ({v_cpu:.1f} s of CPU); against the hash list alone")
    h_seconds, h_hits, _ = vigil_scan(ev, store, lists=("bench",), out=OUT / "vigil-out-hashes")
    h_cpu = cpu.lap()
    log(f"scan-png: Vigil (hash list) {h_seconds:.1f} s ({h_cpu:.1f} s of CPU); peer")
    p_seconds, p_hits, files, size = peer_scan(ev, listed)
    p_cpu = cpu.lap()
    log(f"scan-png: peer {p_seconds:.1f} s ({p_cpu:.1f} s of CPU)")
    store.close()

    mb = size / 1e6
    v_rate, h_rate, p_rate = mb / v_seconds, mb / h_seconds, mb / p_seconds
    by_kind = _bytes_by_kind(ev)
    png_bytes = sum(p.stat().st_size for p in ev.rglob("*.png"))
    big_png = sum(1 for p in ev.rglob("*.png") if Image.open(p).size[0] * Image.open(p).size[1] >= 4e6)
    sources = {_source_of(p) for p in listed_photos} - {None}

    def false_hits(hits: dict[str, set[str]]) -> tuple[list[str], list[str]]:
        wrong, same_source = [], []
        for path, entries in sorted(hits.items()):
            if not entries or path in planted or path.endswith(".zip"):
                continue
            (same_source if _source_of(path) in sources else wrong).append(path)
        return wrong, same_source

    recalls = {"vigil": recall(planted, v_hits), "hashes": recall(planted, h_hits), "peer": recall(planted, p_hits)}
    rows = [[kind, *(f"{recalls[w][kind][0]}/{recalls[w][kind][1]}" for w in ("vigil", "hashes", "peer"))]
            for kind in sorted(recalls["vigil"])]
    falses = {w: false_hits(h) for w, h in (("vigil", v_hits), ("hashes", h_hits), ("peer", p_hits))}
    md = [
        "## `vigil scan` with a media-backed list on a PNG-heavy drive (issue 11)",
        "",
        f"Command: `bash bench/run scan-png` (`bench/scan_png.py --photos {args.photos} --wallpapers "
        f"{args.wallpapers} --screenshots {args.screenshots} --video-seconds {args.video_seconds:g}`); "
        f"{info['date_utc']}; {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB; load at start "
        f"{fmt(info['loadavg_at_start'][0])}; vigil {info['versions']['vigil git']}.",
        "",
        f"Evidence: {files} files, {mb:,.0f} MB ({summary['items']} items with archive members); "
        f"{len(every_photo)} photos made ({args.wallpapers} 4K wallpapers, {args.screenshots} screenshots, "
        f"{args.photos} camera photos); {big_png} PNGs of >= 4 MP on disk; PNG bytes {png_bytes / 1e6:,.0f} MB "
        f"(**{100 * png_bytes / size:.0f}%** of all bytes). Bytes by kind: "
        + ", ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in by_kind.items()) + ".",
        f"Lists: `bench` (md5 + PDQ of {len(listed_photos)} listed photos, md5 + vPDQ of {len(listed_videos)} "
        f"videos) and `media` (`add_media` of the {len(listed_photos)} photos: {fmt(media_seconds, 1)} s).",
        "",
        *table(["", "seconds", "MB/s", "files/s", "ratio (MB/s)", "CPU seconds", "CPU ratio"], [
            ["Vigil `run_scan`, hash list + media-backed list (windows)", fmt(v_seconds, 1), fmt(v_rate, 1),
             fmt(files / v_seconds, 1), f"**{v_rate / p_rate:.1f}x**", fmt(v_cpu, 1), f"{p_cpu / v_cpu:.1f}x"],
            ["Vigil `run_scan`, hash list alone", fmt(h_seconds, 1), fmt(h_rate, 1), fmt(files / h_seconds, 1),
             f"{h_rate / p_rate:.1f}x", fmt(h_cpu, 1), f"{p_cpu / h_cpu:.1f}x"],
            ["peer: threatexchange PDQ + vpdq + MD5, one file at a time", fmt(p_seconds, 1), fmt(p_rate, 1),
             fmt(files / p_seconds, 1), "1.0x", fmt(p_cpu, 1), "1.0x"],
        ]),
        "CPU seconds: user + system time of the process and its workers (Vigil's reports included), which other "
        "sessions' load on the machine does not inflate as it does wall time; on an idle machine the wall-time "
        f"ratio would be about the CPU ratio times the cores Vigil keeps busy (at most {info['nproc']}).",
        "",
        "Recall (found / planted):",
        "",
        *table(["kind of copy", "Vigil, both lists", "Vigil, hash list", "peer"], rows),
        "Hits on files that are no planted copy: "
        + "; ".join(f"{w}: {len(a)} false" + (f" ({', '.join(a[:4])})" if a else "")
                    + f", {len(b)} cut from the same reference scene as a listed one" for w, (a, b) in falses.items())
        + ".",
        "",
        "Where a worker's time goes (every photo on disk, hashed and checked one at a time in one process "
        "as a scan worker does with both lists; CPU milliseconds per photo; the peer's MD5 + `pdq_from_file` "
        "of the same photo beside it):",
        "",
        *profile_table(per_kind),
        f"CPU of the profile: {sum(r['total'] for r in per_kind.values()) / 1e3:.1f} s for the photos on disk "
        f"(the peer: {sum(r['peer'] for r in per_kind.values()) / 1e3:.1f} s); the scan took {v_cpu:.1f} s of CPU "
        "(videos, archive members, the case database and the reports included).",
    ]
    text = "\n".join(md) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"scan_png{args.tag}.md").write_text(text)
    (RESULTS / f"scan_png{args.tag}.json").write_text(json.dumps({
        "machine": info, "files": files, "bytes": size, "png_bytes": png_bytes, "vigil_seconds": v_seconds,
        "vigil_hash_list_seconds": h_seconds, "peer_seconds": p_seconds, "vigil_cpu": v_cpu,
        "vigil_hash_list_cpu": h_cpu, "peer_cpu": p_cpu, "load_at_end": os.getloadavg(), "recall": recalls,
        "false": falses, "profile": per_kind, "summary": summary, "media_seconds": media_seconds}, indent=1,
        default=str))
    print(text)
    os.sync()


if __name__ == "__main__":
    main()
