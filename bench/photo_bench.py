"""Photos: Vigil's PDQ (fast and exact) against ThreatExchange's PDQ, same files, same run."""

from __future__ import annotations

import json
import os
import subprocess
from multiprocessing import Pool
from pathlib import Path
from typing import Any

from common import VENV_BIN, hamming, log, summary, table, timed, timed_median, verdict
from vigil.hashing import FileResult, HashOptions, hash_files
from vigil.signals.mode import Mode

CLI_ONE_PER_FILE = 10  # photos hashed with one `threatexchange` process each (the per-call start-up cost)
PEER_CLI_QUALITY = 50  # `threatexchange hash` prints nothing for a photo whose PDQ quality is under 50


def _peer_hash(path: str) -> tuple[str, int]:
    from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

    hexhash, quality = pdq_from_file(Path(path))
    return hexhash, int(quality)


def _peer_loop(paths: list[str]) -> list[tuple[str, int]]:
    return [_peer_hash(p) for p in paths]


def _peer_pool(paths: list[str]) -> list[tuple[str, int]]:
    with Pool(2) as pool:
        return pool.map(_peer_hash, paths, chunksize=1)


def _peer_cli(paths: list[str]) -> list[str]:
    out = subprocess.run([str(VENV_BIN / "threatexchange"), "hash", "photo", *paths],
                         check=True, capture_output=True, text=True).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("pdq ")]


def _mismatches(a: list[str], b: list[str]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _vigil(paths: list[str], mode: Mode, jobs: int) -> list[FileResult]:
    results = list(hash_files(paths, HashOptions(mode=mode), jobs=jobs))
    bad = [r for r in results if r.error or r.pdq is None]
    if bad:
        raise RuntimeError(f"Vigil failed on {bad[0].path}: {bad[0].error}")
    return results


def _vigil_cli(paths: list[str], mode: str) -> list[str]:
    out = subprocess.run([str(VENV_BIN / "vigil"), "hash", "--json", "--quiet", "--mode", mode, *paths],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["signals"]["pdq"]["hash"] for line in out.splitlines() if line.strip()]


def run(paths: list[str], repeat: int, cli_photos: int) -> tuple[dict[str, Any], list[str]]:
    n = len(paths)
    megabytes = sum(os.path.getsize(p) for p in paths) / 1e6
    is_png = [p.endswith(".png") for p in paths]
    log(f"photos: {n} files, {megabytes:.0f} MB; warming up (JIT caches, imports)")
    _vigil(paths[:2], Mode.FAST, 1)
    _vigil(paths[:2], Mode.EXACT, 1)
    _peer_loop(paths[:1])

    rows: dict[str, dict[str, Any]] = {}

    def record(name: str, seconds: float, runs: list[float] | None = None, files: int = n,
               mb: float = megabytes) -> None:
        rows[name] = {"seconds": seconds, "runs": runs or [seconds], "files": files,
                      "files_per_s": files / seconds, "mb_per_s": mb / seconds}
        log(f"  {name}: {seconds:.2f} s, {files / seconds:.2f} files/s")

    log("photos: peer, threatexchange library in one process (pdq_from_file loop)")
    seconds, peer = timed(lambda: _peer_loop(paths))
    record("peer library, 1 process", seconds)
    log("photos: peer, threatexchange library on 2 processes (multiprocessing.Pool)")
    seconds, peer2 = timed(lambda: _peer_pool(paths))
    record("peer library, 2 processes", seconds)
    batch = paths[:cli_photos]
    log(f"photos: peer CLI, {len(batch)} files in one `threatexchange hash photo` call")
    seconds, peer_cli = timed(lambda: _peer_cli(batch))
    record(f"peer CLI, one call for {len(batch)} files", seconds, files=len(batch),
           mb=sum(os.path.getsize(p) for p in batch) / 1e6)
    few = paths[:CLI_ONE_PER_FILE]
    few_mb = sum(os.path.getsize(p) for p in few) / 1e6
    log(f"photos: peer CLI, one process per file ({len(few)} files)")
    seconds, _ = timed(lambda: [_peer_cli([p]) for p in few])
    record(f"peer CLI, one process per file (first {len(few)})", seconds, files=len(few), mb=few_mb)

    results: dict[tuple[Mode, int], list[FileResult]] = {}
    for mode in (Mode.FAST, Mode.EXACT):
        for jobs in (1, 2):
            reps = repeat if mode is Mode.FAST else 1
            log(f"photos: Vigil {mode.value}, hash_files jobs={jobs} (x{reps})")
            seconds, runs, results[mode, jobs] = timed_median(lambda m=mode, j=jobs: _vigil(paths, m, j), reps)
            record(f"Vigil {mode.value}, hash_files jobs={jobs}", seconds, runs)
    vigil_cli: dict[str, list[str]] = {}
    for mode_name in ("fast", "exact"):
        log(f"photos: Vigil CLI `vigil hash --json --quiet --mode {mode_name}` (2 workers)")
        seconds, vigil_cli[mode_name] = timed(lambda m=mode_name: _vigil_cli(paths, m))
        record(f"Vigil CLI --mode {mode_name}", seconds)

    exact = [r.pdq for r in results[Mode.EXACT, 2]]
    fast = [r.pdq for r in results[Mode.FAST, 2]]
    assert all(exact) and all(fast)
    checks = {
        "exact_vs_peer_hash_mismatches": sum(e.hash != p[0] for e, p in zip(exact, peer, strict=True)),
        "exact_vs_peer_quality_mismatches": sum(e.quality != p[1] for e, p in zip(exact, peer, strict=True)),
        "peer_quality_under_50": sum(q < PEER_CLI_QUALITY for _, q in peer),
        "peer_cli_vs_peer_library_mismatches": _mismatches(
            peer_cli, [h for h, q in peer[:len(batch)] if q >= PEER_CLI_QUALITY]),
        "peer_2proc_vs_peer_mismatches": sum(a != b for a, b in zip(peer2, peer, strict=True)),
        "exact_jobs1_vs_jobs2_mismatches": sum(
            a.pdq != b.pdq for a, b in zip(results[Mode.EXACT, 1], results[Mode.EXACT, 2], strict=True)),
        "fast_jobs1_vs_jobs2_mismatches": sum(
            a.pdq != b.pdq for a, b in zip(results[Mode.FAST, 1], results[Mode.FAST, 2], strict=True)),
        "vigil_cli_vs_library_mismatches": _mismatches(vigil_cli["exact"], [e.hash for e in exact])
        + _mismatches(vigil_cli["fast"], [f.hash for f in fast]),
        "distinct_exact_hashes": len({e.hash for e in exact}),
    }
    ints = [int(e.hash, 16) for e in exact]
    checks["min_pairwise_distance_between_photos"] = min(
        (a ^ b).bit_count() for i, a in enumerate(ints) for b in ints[i + 1:])
    dist = [hamming(f.hash, e.hash) for f, e in zip(fast, exact, strict=True)]
    distances = {
        "all": summary(dist),
        "jpeg": summary([d for d, png in zip(dist, is_png, strict=True) if not png]),
        "png": summary([d for d, png in zip(dist, is_png, strict=True) if png]),
    }
    low = [i for i, e in enumerate(exact) if e.quality < PEER_CLI_QUALITY]
    checks["photos_with_exact_quality_under_50"] = ", ".join(f"{Path(paths[i]).name} (q{exact[i].quality})"
                                                             for i in low) or "none"
    quality_drop = [e.quality - f.quality for f, e in zip(fast, exact, strict=True)]
    base = rows["peer library, 1 process"]["files_per_s"]
    base2 = rows["peer library, 2 processes"]["files_per_s"]
    base_cli = rows[f"peer CLI, one call for {len(batch)} files"]["files_per_s"]
    for row in rows.values():
        row["x_peer_1proc"] = row["files_per_s"] / base
        row["x_peer_2proc"] = row["files_per_s"] / base2
        row["x_peer_cli"] = row["files_per_s"] / base_cli
    raw = {"files": n, "megabytes": megabytes, "png_files": sum(is_png), "timings": rows, "checks": checks,
           "fast_vs_exact_distance": distances, "fast_vs_exact_distance_per_file": dist,
           "fast_vs_exact_quality_drop": summary(quality_drop)}
    return raw, _markdown(raw)


def _markdown(raw: dict[str, Any]) -> list[str]:
    rows, checks, dist = raw["timings"], raw["checks"], raw["fast_vs_exact_distance"]
    md = [f"## Photos: PDQ on {raw['files']} photos ({raw['megabytes']:.0f} MB, >= 2560x1600, "
          f"{raw['files'] - raw['png_files']} JPEG q75-95 + {raw['png_files']} PNG)", ""]
    md += table(
        ["what", "seconds", "files/s", "MB/s", "x peer lib 1 proc", "x peer lib 2 proc", "x peer CLI"],
        [[name, r["seconds"], r["files_per_s"], r["mb_per_s"], r["x_peer_1proc"], r["x_peer_2proc"], r["x_peer_cli"]]
         for name, r in rows.items()])
    md.append("Fast-mode PDQ vs exact-mode PDQ, Hamming distance in bits (of 256):")
    md.append("")
    md += table(["photos", "n", "mean", "median", "p95", "p99", "max"],
                [[k, v["n"], v.get("mean"), v.get("median"), v.get("p95"), v.get("p99"), v.get("max")]
                 for k, v in dist.items()])
    md.append("Correctness checks (counts of photos):")
    md.append("")
    md += table(["check", "value"], [[k, v] for k, v in checks.items()])
    fast1 = rows["Vigil fast, hash_files jobs=1"]
    fast2 = rows["Vigil fast, hash_files jobs=2"]
    exact1 = rows["Vigil exact, hash_files jobs=1"]
    exact2 = rows["Vigil exact, hash_files jobs=2"]
    p99 = dist["all"]["p99"]
    md += ["Targets:", "",
           f"- fast >= 20x peer throughput: jobs=2 vs peer library on 1 process = {fast2['x_peer_1proc']:.1f}x "
           f"({verdict(fast2['x_peer_1proc'] >= 20)}); per core (jobs=1 vs 1 process) = {fast1['x_peer_1proc']:.1f}x "
           f"({verdict(fast1['x_peer_1proc'] >= 20)}); same 2 cores (jobs=2 vs peer on 2 processes) = "
           f"{fast2['x_peer_2proc']:.1f}x ({verdict(fast2['x_peer_2proc'] >= 20)}); vs peer CLI = "
           f"{fast2['x_peer_cli']:.1f}x.",
           f"- p99 fast-vs-exact distance <= 10 bits: {p99:.1f} ({verdict(p99 <= 10)}).",
           f"- exact faster than the peer: per core {exact1['x_peer_1proc']:.2f}x, on 2 cores vs 2 processes "
           f"{exact2['x_peer_2proc']:.2f}x ({verdict(exact1['x_peer_1proc'] > 1 and exact2['x_peer_2proc'] > 1)}).",
           f"- exact equals the peer bit for bit: {checks['exact_vs_peer_hash_mismatches']} hash mismatches, "
           f"{checks['exact_vs_peer_quality_mismatches']} quality mismatches "
           f"({verdict(checks['exact_vs_peer_hash_mismatches'] == 0)}).", ""]
    return md
