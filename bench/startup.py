"""Start-up as a user meets it: ``vigil`` run as a command, against ``threatexchange hash photo`` on
the same photos in the same run.

Every measurement is a fresh process (``subprocess``), timed by the wall clock from before it starts
to after it exits, output discarded. The first run of each command is reported on its own, with Vigil's
user cache emptied first (so it includes the once-per-install check of the PDQ core, as right after
an install); then the median of ``--repeat`` runs. `vigil hash` of many photos and `threatexchange
hash photo` of the same photos take turns, so both see the same machine.

Targets (issue 10): `vigil --help` <= 0.3 s; `vigil hash` of one large photo (>= 12 MP) <= 0.7 s;
`vigil hash` of 40 large JPEGs >= 20x `threatexchange hash photo` of the same 40.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from PIL import Image

import gen_inputs
from common import RESULTS, VENV_BIN, WORK, command_output, log, table, verdict

HELP_TARGET_S = 0.3
ONE_PHOTO_TARGET_S = 0.7
MANY_PHOTOS_TARGET_X = 20.0
MIN_LARGE_PIXELS = 12_000_000
CACHE = WORK / "startup-cache"  # Vigil's user cache for these runs (XDG_CACHE_HOME)


def machine() -> dict[str, Any]:
    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    model = next((line.split(":", 1)[1].strip() for line in command_output("lscpu").splitlines()
                  if line.startswith("Model name")), "?")
    versions = {name: installed(name) for name in ("vigil", "threatexchange", "pdqhash", "pillow", "numpy", "numba",
                                                  "typer", "pydantic")}
    versions["vigil git"] = command_output("git", "rev-parse", "--short", "HEAD")
    return {"nproc": command_output("nproc"), "cpu": model, "date_utc": command_output("date", "-u"),
            "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(), "versions": versions}


def _env() -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(CACHE)}


_CPU: dict[str, list[float]] = {}  # command name -> CPU seconds (user + system, its workers included) per run


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(cmd: list[str], name: str = "") -> tuple[float, str]:
    """Wall seconds of one process, and its standard output (its CPU seconds kept under ``name``)."""
    cpu = _cpu_children()
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} … exited {done.returncode}: {done.stderr.strip()[-500:]}")
    if name:
        _CPU.setdefault(name, []).append(_cpu_children() - cpu)
    return seconds, done.stdout


def _pixels(path: str) -> int:
    with Image.open(path) as im:
        return im.width * im.height


def _inputs(count: int) -> tuple[str, list[str]]:
    """One JPEG of at least 12 MP, and ``count`` JPEGs from the benchmark's photos (2560x1600 to 4032x3024)."""
    made = count + count // 8 + 4  # every tenth generated photo is a PNG
    photos = gen_inputs.ensure_photos(made)
    jpegs = [p for p in photos if p.endswith(".jpg")][:count]
    if len(jpegs) < count:
        raise SystemExit(f"startup: only {len(jpegs)} JPEGs among {made} photos")
    large = next((p for p in photos if p.endswith(".jpg") and _pixels(p) >= MIN_LARGE_PIXELS), None)
    if large is None:
        raise SystemExit("startup: no JPEG of 12 MP or more among the benchmark photos")
    return large, jpegs


def _measure(name: str, cmd: list[str], repeat: int, rows: dict[str, dict[str, Any]],
             check: Any = None) -> None:
    shutil.rmtree(CACHE, ignore_errors=True)  # the first run meets an empty user cache, as after an install
    first, out = _run(cmd)
    if check is not None:
        check(out)
    runs = [_run(cmd, name)[0] for _ in range(repeat)]
    rows[name] = {"first_s": first, "median_s": statistics.median(runs), "runs_s": runs, "command": cmd,
                  "cpu_median_s": statistics.median(_CPU[name])}
    log(f"  {name}: first {first:.3f} s, median {rows[name]['median_s']:.3f} s of {repeat}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--photos", type=int, default=40, help="JPEGs hashed by both tools in one call (default 40)")
    ap.add_argument("--repeat", type=int, default=7, help="runs per command after the first (median reported)")
    ap.add_argument("--vigil-venv", type=Path, default=VENV_BIN.parent,
                    help="the virtual environment whose `vigil` is measured (default: this checkout's .venv; "
                    "another checkout's to measure its code, e.g. before a change)")
    args = ap.parse_args()

    info = machine()
    log(f"machine: {info['nproc']} x {info['cpu']}; load {info['loadavg_at_start']}")
    large, jpegs = _inputs(args.photos)
    megapixels = [_pixels(p) / 1e6 for p in jpegs]
    for p in [large, *jpegs]:  # into the page cache: start-up is measured, not the disk
        Path(p).read_bytes()
    vigil, python = str(args.vigil_venv / "bin" / "vigil"), str(args.vigil_venv / "bin" / "python")
    peer = str(VENV_BIN / "threatexchange")

    def pdq_lines(want: int) -> Any:
        def check(out: str) -> None:
            got = sum(line.startswith("pdq ") for line in out.splitlines())
            if got != want:
                raise RuntimeError(f"expected {want} pdq lines, got {got}")
        return check

    rows: dict[str, dict[str, Any]] = {}
    log("startup: vigil --help, import vigil, vigil hash of one photo")
    _measure("vigil --help", [vigil, "--help"], args.repeat, rows)
    _measure("python -c 'import vigil'", [python, "-c", "import vigil"], args.repeat, rows)
    _measure(f"vigil hash ONE.jpg ({_pixels(large) / 1e6:.1f} MP)", [vigil, "hash", large], args.repeat, rows,
             pdq_lines(1))
    one = next(k for k in rows if k.startswith("vigil hash ONE"))

    log(f"startup: {len(jpegs)} JPEGs, `vigil hash` and `threatexchange hash photo` taking turns")
    many_vigil = [vigil, "hash", *jpegs]
    many_peer = [peer, "hash", "photo", *jpegs]
    shutil.rmtree(CACHE, ignore_errors=True)
    first_vigil, out = _run(many_vigil)
    pdq_lines(len(jpegs))(out)
    first_peer, out = _run(many_peer)
    peer_lines = sum(line.startswith("pdq ") for line in out.splitlines())  # it omits quality < 50
    vigil_runs, peer_runs = [], []
    name_v, name_p = f"vigil hash ({len(jpegs)} JPEGs)", f"threatexchange hash photo ({len(jpegs)} JPEGs)"
    for _ in range(args.repeat):
        vigil_runs.append(_run(many_vigil, name_v)[0])
        peer_runs.append(_run(many_peer, name_p)[0])
    rows[name_v] = {"first_s": first_vigil, "median_s": statistics.median(vigil_runs), "runs_s": vigil_runs,
                    "command": [*many_vigil[:2], "JPEG…"], "cpu_median_s": statistics.median(_CPU[name_v])}
    rows[name_p] = {"first_s": first_peer, "median_s": statistics.median(peer_runs), "runs_s": peer_runs,
                    "command": [*many_peer[:3], "JPEG…"], "pdq_lines": peer_lines,
                    "cpu_median_s": statistics.median(_CPU[name_p])}
    ratio = rows[name_p]["median_s"] / rows[name_v]["median_s"]
    # Each run's own ratio (the two ran one after the other, under the same load), and the median of those
    pair_ratio = statistics.median(p / v for p, v in zip(peer_runs, vigil_runs, strict=True))
    first_ratio = first_peer / first_vigil
    log(f"  {name_v}: median {rows[name_v]['median_s']:.2f} s; {name_p}: {rows[name_p]['median_s']:.2f} s "
        f"({ratio:.1f}x)")

    help_s, one_s = rows["vigil --help"]["median_s"], rows[one]["median_s"]
    md = ["# Vigil start-up", "",
          f"Command: `bash bench/run startup` (`bench/startup.py {' '.join(sys.argv[1:])}`); Vigil from "
          f"{args.vigil_venv}  ",
          f"Machine: {info['nproc']} cores, {info['cpu']}, load average at start "
          f"{', '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}  ",
          f"Date: {info['date_utc']}  ",
          "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + f", Python {info['python']}",
          "",
          f"Photos: one JPEG of {_pixels(large) / 1e6:.1f} MP ({Path(large).name}); {len(jpegs)} JPEGs of "
          f"{min(megapixels):.1f}-{max(megapixels):.1f} MP (median {statistics.median(megapixels):.1f} MP), "
          f"{sum(os.path.getsize(p) for p in jpegs) / 1e6:.0f} MB, from bench/gen_inputs.py. "
          f"threatexchange printed {peer_lines} PDQ lines (it leaves out quality < 50), Vigil {len(jpegs)}.",
          "",
          *table(["command", "first run (s)", f"median of {args.repeat} (s)", "runs (s)", "CPU, median (s)"],
                 [[k, r["first_s"], r["median_s"], " ".join(f"{x:.2f}" for x in r["runs_s"]), r["cpu_median_s"]]
                  for k, r in rows.items()]),
          "## Targets", "",
          *table(["target", "measured", ""],
                 [[f"`vigil --help` <= {HELP_TARGET_S} s", f"{help_s:.3f} s", verdict(help_s <= HELP_TARGET_S)],
                  [f"`vigil hash` of one photo of 12 MP or more <= {ONE_PHOTO_TARGET_S} s", f"{one_s:.3f} s",
                   verdict(one_s <= ONE_PHOTO_TARGET_S)],
                  [f"`vigil hash` of {len(jpegs)} JPEGs >= {MANY_PHOTOS_TARGET_X:.0f}x `threatexchange hash photo`",
                   f"{ratio:.1f}x (run by run: {pair_ratio:.1f}x; first runs: {first_ratio:.1f}x; CPU time: "
                   f"{rows[name_p]['cpu_median_s'] / rows[name_v]['cpu_median_s']:.1f}x)",
                   verdict(ratio >= MANY_PHOTOS_TARGET_X)]]),
          "## Method", "",
          "- Each command is a fresh process started by `subprocess.run`, timed by the wall clock "
          "(`time.perf_counter`) from before it starts to after it exits; output is captured and discarded "
          "(so `vigil hash` draws no progress bar, as in a pipe). Photos are read into the page cache first.",
          "- First run: Vigil's user cache (`XDG_CACHE_HOME`, here bench/work/startup-cache) emptied just before, "
          "so it includes the once-per-install check of the PDQ core; numba's own compiled-code cache stays. "
          "Then the median of the runs that follow. `vigil hash` of the photos and `threatexchange hash photo` "
          "of the same photos take turns.",
          "- Vigil's defaults: fast mode, one worker per core; it also computes md5, sha1 and sha256 of every file.",
          "- CPU: user + system seconds of the process and its workers (`getrusage(RUSAGE_CHILDREN)`), which "
          "other load on the machine changes less than the wall clock. The ratio is of medians; run by run, each "
          "`threatexchange` run over the `vigil` run just before it.",
          ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.md").write_text("\n".join(md))
    (RESULTS / "startup.json").write_text(json.dumps(
        {"machine": info, "args": vars(args), "timings": rows, "ratio_median": ratio, "ratio_run_by_run": pair_ratio,
         "ratio_first": first_ratio,
         "one_photo": large, "photos": jpegs}, indent=1, default=str))
    print("\n".join(md))
    log(f"wrote {RESULTS / 'startup.md'} and startup.json")


if __name__ == "__main__":
    main()
