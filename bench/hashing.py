"""Vigil's hashing core against its peers, in one run: ``bash bench/run`` (or ``./dev bench``).

Prints a markdown report and writes it to bench/results/latest.md, with the raw
numbers in bench/results/latest.json. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from typing import Any

import gen_inputs
import photo_bench
import video_bench
from common import RESULTS, command_output, log

METHOD = """## Method

- Every number above comes from this one run: Vigil and its peers hash the same files on the same machine,
  one measurement after another (never at the same time). Wall-clock time (`time.perf_counter`), files already in
  the page cache (inputs are generated or read before they are timed), warm start (imports and Numba JIT caches
  loaded before timing). Cheap measurements are repeated and the median is reported (runs are in latest.json);
  expensive ones run once. The machine is shared and noisy: expect a few per cent of jitter, more on 2 cores.
- Peers: `threatexchange` (Meta's python-threatexchange; `pdq_from_file` is its in-process PDQ: Pillow decode +
  `pdqhash.compute`), its CLI `threatexchange hash photo FILE...` (it accepts many files per call, so it is measured
  with all files in one call, and separately one process per file on a few files), and the PyPI `vpdq` package
  (`vpdq.computeHash`, thread_count 0 = all cores), built against the system FFmpeg.
- Vigil is measured through its library (`vigil.hashing.hash_files`, worker processes; `hash_video`) and its CLI.
  `hash_files` and the CLI also compute md5/sha1/sha256 of every file, which the peers do not: that cost is in
  Vigil's numbers.
- Photos: seeded crops / mirrors / brightness, contrast and colour jitter of the ThreatExchange reference photos,
  scaled to camera sizes (2560x1600 to 4032x3024, some portrait), JPEG quality 75-95 (Pillow, 4:2:0) and every
  tenth photo PNG. Videos: the ThreatExchange sample videos, and 720p30 H.264 videos generated with PyAV/libx264
  (crf 23, preset medium, default GOP 250 with scene-cut key frames), slow pans/zooms across the reference photos
  with a new scene every 2.5-6 s. Inputs live in bench/work/ and are reused.
- Video match decision (vPDQ reference semantics): a query matches a listed video when >= 80% of the query's
  frames of quality >= 50 are within 31 bits of some listed frame of quality >= 50.
"""


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in command_output("lscpu").splitlines()
                  if line.startswith("Model name")), "?")
    import av

    versions = {name: version(name) for name in ("vigil", "threatexchange", "vpdq", "pdqhash", "av", "pillow",
                                                 "numpy", "numba")}
    versions["pyav ffmpeg"] = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    versions["system libavcodec (vpdq)"] = command_output("pkg-config", "--modversion", "libavcodec")
    git = command_output("git", "rev-parse", "--short", "HEAD")
    dirty = [line for line in command_output("git", "status", "--porcelain", "src").splitlines() if line.strip()]
    versions["vigil git"] = git + (f" + {len(dirty)} uncommitted files in src/" if dirty else " (src/ clean)")
    return {"nproc": command_output("nproc"), "cpu": model, "date_utc": command_output("date", "-u"),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(), "versions": versions,
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=int, default=200, help="number of generated photos (default 200)")
    ap.add_argument("--video-seconds", type=float, default=60.0, help="length of each generated video (default 60)")
    ap.add_argument("--cli-photos", type=int, default=50,
                    help="photos given to one `threatexchange hash photo` call (default 50; it costs as much as the "
                    "library per photo, plus start-up)")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the cheap measurements (median reported)")
    ap.add_argument("--skip", choices=["photos", "videos"], action="append", default=[], help="skip a section")
    args = ap.parse_args()

    started = time.monotonic()
    info = machine()
    log(f"machine: {info['nproc']} x {info['cpu']}; load {info['loadavg_at_start']}")
    raw: dict[str, Any] = {"machine": info, "args": vars(args)}
    md = ["# Vigil hashing benchmarks", "",
          f"Command: `./dev bench` (= `bash bench/run{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`)  ",
          f"Machine: {info['nproc']} cores (`nproc`), {info['cpu']} (`lscpu`), {info['memory_gib']} GiB RAM, "
          f"load average at start {', '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}  ",
          f"Date: {info['date_utc']}  ",
          "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f", Python {info['python']}", ""]

    photos = gen_inputs.ensure_photos(args.photos) if "photos" not in args.skip else []
    generated = gen_inputs.ensure_videos(args.video_seconds) if "videos" not in args.skip else []
    if photos:
        raw["photos"], part = photo_bench.run(photos, args.repeat, args.cli_photos)
        md += part
    if generated:
        samples = video_bench.sample_videos()
        raw["videos_reference"], part, exact = video_bench.run_reference(samples)
        md += part
        raw["videos_fast"], part = video_bench.run_fast(generated, samples, exact, args.repeat)
        md += part
    elapsed = time.monotonic() - started
    raw["elapsed_s"] = elapsed
    md += [METHOD, f"Whole run: {elapsed / 60:.1f} min.", ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = "\n".join(md)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(raw, indent=1, default=str))
    print(text)
    log(f"done in {elapsed / 60:.1f} min; wrote {RESULTS / 'latest.md'} and latest.json")


if __name__ == "__main__":
    main()
