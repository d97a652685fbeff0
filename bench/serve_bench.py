"""The match service side by side with Meta's HMA: `vigil serve` against `run-hma.sh` (../shared/anchors/hma),
same hashes, same queries, same clients, one run.

Both hold the same N random PDQ hashes (numpy default_rng(12345), as run-hma.sh loads them). Vigil gets
them the way a user would: one list file POSTed to /v1/lists/{name}/import, timed from the upload's first
byte until a lookup finds the last hash ("upload to searchable"), then three more imports of 1,000 hashes
each, timed until lookups on new connections (any worker) find the last ten times in a row ("change to
searchable": compiled as a delta beside the list, not the list again). Then, for each service, 8 client threads
(HTTP keep-alive where the server allows it; HMA's sync worker closes after each answer) send the query
mix: 1,000 near-duplicates of listed hashes (10-25 bits flipped) and 1,000 random hashes. Recall: every
near-duplicate found at its distance, no random one matched. Also: Vigil's batch lookups (10,000 hashes a
request), an uploaded 3000x2000 JPEG hashed and matched (Vigil's POST /v1/match against HMA's POST /h/hash),
and the resident memory of each server (all its processes).

    python bench/serve_bench.py [--hashes 1000000] [--clients 8] [--workers 2] [--hma-work DIR]

HMA is measured before Vigil and again after it (the machine is shared: the two are pooled).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, VENV_BIN, log, percentile, table, verdict

HMA_SCRIPT = ROOT.parent / "shared" / "anchors" / "hma" / "run-hma.sh"
NEAR, RANDOM = 1000, 1000
CHANGE = 1000  # hashes in each small import after the big one (freshness: a delta, not a rebuild)


def listed_hashes(n: int) -> np.ndarray:
    return np.random.default_rng(12345).integers(0, 256, (n, 32), np.uint8)


def query_mix(bits: np.ndarray) -> list[tuple[str, int | None, int | None]]:
    """(hex, listed index or None, expected distance or None): near-duplicates then random hashes."""
    rng = np.random.default_rng(777)
    out: list[tuple[str, int | None, int | None]] = []
    for i in rng.choice(len(bits), NEAR, replace=False):
        flips = int(rng.integers(10, 26))
        row = np.unpackbits(bits[i])
        row[rng.choice(256, flips, replace=False)] ^= 1
        out.append((np.packbits(row).tobytes().hex(), int(i), flips))
    for row in rng.integers(0, 256, (RANDOM, 32), np.uint8):
        out.append((row.tobytes().hex(), None, None))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory_mb(pid: int, measure: Any) -> float:
    """``measure`` (a psutil.Process -> bytes) of a server: the process and all its children."""
    proc = psutil.Process(pid)
    total = measure(proc)
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += measure(child)
    return float(total) / 2**20


def rss_mb(pid: int) -> float:
    """Resident memory of a server, all its processes (shared pages counted in each)."""
    return _memory_mb(pid, lambda p: p.memory_info().rss)


def pss_mb(pid: int) -> float:
    """Proportional memory of a server (a page shared by two processes counts half in each): what the
    processes together take from the machine, the memory-mapped index counted once."""
    return _memory_mb(pid, lambda p: p.memory_full_info().pss)


def hammer(get: Any, queries: list[tuple[str, int | None, int | None]], clients: int,
           rounds: int = 1) -> dict[str, Any]:
    """Send every query ``rounds`` times over ``clients`` threads; latency per request, and what each found."""
    work = [q for _ in range(rounds) for q in queries]
    latencies: list[float] = []
    found: dict[str, list[int]] = {}
    lock = threading.Lock()
    cursor = [0]
    errors = [0]

    def run() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    k = cursor[0]
                    cursor[0] += 1
                if k >= len(work):
                    return
                hexhash = work[k][0]
                t0 = time.perf_counter()
                try:
                    distances = get(client, hexhash)
                except (httpx.HTTPError, ValueError):
                    with lock:
                        errors[0] += 1
                    continue
                seconds = time.perf_counter() - t0
                with lock:
                    latencies.append(seconds)
                    found[hexhash] = distances

    threads = [threading.Thread(target=run) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    near_ok = sum(found.get(h) == [d] for h, i, d in queries if i is not None)
    random_hits = sum(bool(found.get(h)) for h, i, _ in queries if i is None)
    return {"qps": len(latencies) / wall, "p50_ms": 1000 * percentile(latencies, 50),
            "p99_ms": 1000 * percentile(latencies, 99), "requests": len(latencies), "errors": errors[0],
            "near_found": near_ok, "random_matched": random_hits}


# ---------------------------------------------------------------- HMA
def hma_start(work: Path, port: int, n: int) -> int:
    out = subprocess.run(["bash", str(HMA_SCRIPT), "start", str(work), "--port", str(port), "--hashes", str(n)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def hma_stop(work: Path) -> None:
    subprocess.run(["bash", str(HMA_SCRIPT), "stop", str(work)], capture_output=True, check=False)


def hma_lookups(port: int, queries: list[tuple[str, int | None, int | None]], clients: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/m/raw_lookup"

    def get(client: httpx.Client, hexhash: str) -> list[int]:
        r = client.get(url, params={"signal_type": "pdq", "signal": hexhash, "include_distance": "true"})
        r.raise_for_status()
        return sorted(int(m["distance"]) for m in r.json()["matches"])

    return hammer(get, queries, clients)


def hma_hash_upload(port: int, jpeg: bytes, repeat: int) -> list[float]:
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(repeat):
            t0 = time.perf_counter()
            r = client.post(f"http://127.0.0.1:{port}/h/hash", files={"photo": ("p.jpg", jpeg, "image/jpeg")})
            r.raise_for_status()
            times.append(time.perf_counter() - t0)
    return times


# ---------------------------------------------------------------- Vigil
class Vigil:
    def __init__(self, workers: int, db: str, work: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "VIGIL_CACHE": str(work / "cache")}
        out = subprocess.run([str(VENV_BIN / "vigil"), "keys", "create", "bench", "--role", "admin", "--db", db],
                             capture_output=True, text=True, check=True, env=env)
        self.key = out.stdout.strip().splitlines()[-1]
        self.headers = {"Authorization": f"Bearer {self.key}"}
        self._log = open(work / "serve.log", "wb")  # noqa: SIM115 - the server's, kept open while it runs
        self.proc = subprocess.Popen([str(VENV_BIN / "vigil"), "serve", "--port", str(self.port), "--db", db,
                                      "--workers", str(workers), "--rate", "0", "--max-body-mb", "256"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.base}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"vigil serve did not start; see {work / 'serve.log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()

    def lookups(self, queries: list[tuple[str, int | None, int | None]], clients: int) -> dict[str, Any]:
        url = f"{self.base}/v1/lookup"

        def get(client: httpx.Client, hexhash: str) -> list[int]:
            r = client.get(url, params={"signal_type": "pdq", "signal": hexhash}, headers=self.headers)
            r.raise_for_status()
            return sorted(int(m["distance"]) for m in r.json()["matches"])

        return hammer(get, queries, clients)

    def batch(self, hexes: list[str], size: int = 10_000) -> dict[str, Any]:
        t0 = time.perf_counter()
        matched = 0
        with httpx.Client(timeout=300) as client:
            for k in range(0, len(hexes), size):
                body = {"signals": [{"type": "pdq", "value": h} for h in hexes[k:k + size]]}
                r = client.post(f"{self.base}/v1/lookup", json=body, headers=self.headers)
                r.raise_for_status()
                matched += sum(bool(x["matches"]) for x in r.json()["results"])
        seconds = time.perf_counter() - t0
        return {"hashes": len(hexes), "seconds": seconds, "hashes_per_s": len(hexes) / seconds, "matched": matched}

    def upload_to_searchable(self, te_file: Path, last_hex: str) -> dict[str, Any]:
        with httpx.Client(timeout=600) as client:
            client.post(f"{self.base}/v1/lists", json={"name": "bench", "source": "bench"},
                        headers=self.headers).raise_for_status()
            t0 = time.perf_counter()
            with open(te_file, "rb") as f:
                r = client.post(f"{self.base}/v1/lists/bench/import?format=te", content=f, headers=self.headers)
            r.raise_for_status()
            uploaded = time.perf_counter() - t0
            job = r.json()["job"]
            while True:
                state = client.get(f"{self.base}/v1/jobs/{job}", headers=self.headers).json()
                if state["state"] in ("done", "failed"):
                    break
                time.sleep(0.2)
            imported = time.perf_counter() - t0
            if state["state"] != "done":
                raise SystemExit(f"the import failed: {state['error']}")
            while True:
                found = client.get(f"{self.base}/v1/lookup", params={"signal_type": "pdq", "signal": last_hex},
                                   headers=self.headers).json()
                if found.get("matches"):
                    break
                if time.perf_counter() - t0 > 900:
                    raise SystemExit("the imported list did not become searchable in 15 minutes")
                time.sleep(0.2)
            return {"upload_s": uploaded, "imported_s": imported, "searchable_s": time.perf_counter() - t0,
                    "entries": state["entries"]}

    def change_to_searchable(self, hexes: list[str], work: Path) -> dict[str, Any]:
        """A small import into the list served: from the upload's first byte until lookups, each on a new
        connection (so any worker may answer), find its last hash ten times in a row."""
        path = work / "change.txt"
        path.write_text("".join(f"pdq {h}\n" for h in hexes))
        with httpx.Client(timeout=600) as client:
            t0 = time.perf_counter()
            with open(path, "rb") as f:
                r = client.post(f"{self.base}/v1/lists/bench/import?format=te", content=f, headers=self.headers)
            r.raise_for_status()
            job = r.json()["job"]
            while client.get(f"{self.base}/v1/jobs/{job}", headers=self.headers).json()["state"] not in (
                    "done", "failed"):
                time.sleep(0.05)
            imported = time.perf_counter() - t0
        streak = 0
        params = {"signal_type": "pdq", "signal": hexes[-1]}
        while streak < 10:
            found = httpx.get(f"{self.base}/v1/lookup", params=params, headers=self.headers, timeout=60).json()
            streak = streak + 1 if found.get("matches") else 0
            if time.perf_counter() - t0 > 600:
                raise SystemExit("a change did not become searchable in 10 minutes")
            if not streak:
                time.sleep(0.05)
        return {"hashes": len(hexes), "imported_s": imported, "searchable_s": time.perf_counter() - t0}

    def match_upload(self, jpeg: bytes, repeat: int) -> list[float]:
        times = []
        with httpx.Client(timeout=120) as client:
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = client.post(f"{self.base}/v1/match", files={"file": ("p.jpg", jpeg, "image/jpeg")},
                                headers=self.headers)
                r.raise_for_status()
                times.append(time.perf_counter() - t0)
        return times


def test_jpeg() -> bytes:
    """A 3000x2000 camera-like JPEG (benign: a smooth gradient scene with noise)."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:2000, 0:3000].astype(np.float32)
    base = np.stack([128 + 80 * np.sin(x / 300), 128 + 60 * np.cos(y / 250), 100 + 50 * np.sin((x + y) / 400)], -1)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy).save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--uploads", type=int, default=15, help="uploaded JPEGs timed per service")
    parser.add_argument("--db", default=None, help="Vigil's database (default: a fresh SQLite file)")
    parser.add_argument("--hma-work", default=str(ROOT / "bench" / "work" / "hma"))
    parser.add_argument("--hma-port", type=int, default=5100)
    parser.add_argument("--skip-hma", action="store_true")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    bits = listed_hashes(args.hashes)
    hexes = [row.tobytes().hex() for row in bits]
    queries = query_mix(bits)
    jpeg = test_jpeg()
    work = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    te_file = work / "list.txt"
    te_file.write_text("".join(f"pdq {h}\n" for h in hexes))
    log(f"{args.hashes:,} hashes, list file {te_file.stat().st_size / 2**20:.0f} MiB")
    results: dict[str, Any] = {"hashes": args.hashes, "clients": args.clients, "workers": args.workers,
                               "started": started, "load": load}
    hma_work = Path(args.hma_work)
    try:
        if not args.skip_hma:
            hma_work.mkdir(parents=True, exist_ok=True)
            log("starting HMA (first time: installs it, loads the hashes, builds its index) …")
            pid = hma_start(hma_work, args.hma_port, args.hashes)
            results["hma_before"] = hma_lookups(args.hma_port, queries, args.clients)
            results["hma_rss_mb"] = rss_mb(pid)
            results["hma_pss_mb"] = pss_mb(pid)
            results["hma_hash"] = hma_hash_upload(args.hma_port, jpeg, args.uploads)
            log(f"HMA: {results['hma_before']['qps']:.0f} q/s")
            hma_stop(hma_work)
        db = args.db or str(work / "vigil.db")
        vigil = Vigil(args.workers, db, work)
        try:
            log("Vigil: uploading the list …")
            results["vigil_searchable"] = vigil.upload_to_searchable(te_file, hexes[-1])
            log(f"Vigil: searchable after {results['vigil_searchable']['searchable_s']:.1f} s")
            fresh = [row.tobytes().hex() for row in np.random.default_rng(777).integers(0, 256, (3 * CHANGE, 32),
                                                                                        dtype=np.uint8)]
            results["vigil_changes"] = [vigil.change_to_searchable(fresh[k:k + CHANGE], work)
                                        for k in range(0, len(fresh), CHANGE)]
            log("Vigil: changes searchable after " + ", ".join(
                f"{c['searchable_s']:.1f} s" for c in results["vigil_changes"]))
            vigil.lookups(queries[:200], args.clients)  # warm: every worker has mapped the index
            results["vigil"] = vigil.lookups(queries, args.clients)
            results["vigil_rss_mb"] = rss_mb(vigil.proc.pid)
            results["vigil_pss_mb"] = pss_mb(vigil.proc.pid)
            log(f"Vigil: {results['vigil']['qps']:.0f} q/s")
            results["vigil_batch"] = vigil.batch([q[0] for q in queries] * 50)
            results["vigil_match"] = vigil.match_upload(jpeg, args.uploads)
        finally:
            vigil.stop()
        if not args.skip_hma:
            pid = hma_start(hma_work, args.hma_port, args.hashes)
            results["hma_after"] = hma_lookups(args.hma_port, queries, args.clients)
            hma_stop(hma_work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(results)


def write(r: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(r, indent=2))
    v = r["vigil"]
    hma = [r[k] for k in ("hma_before", "hma_after") if k in r]
    hma_qps = sum(h["qps"] for h in hma) / len(hma) if hma else float("nan")
    vm = percentile(r["vigil_match"], 50)
    hh = percentile(r["hma_hash"], 50) if "hma_hash" in r else float("nan")
    searchable = r["vigil_searchable"]
    hma_rss = r.get("hma_rss_mb", float("nan"))
    batch = r["vigil_batch"]["hashes_per_s"]
    changes = r["vigil_changes"]
    rows = [
        ["single lookups, 8 clients", f"{v['qps']:,.0f} q/s (p50 {v['p50_ms']:.1f} ms, p99 {v['p99_ms']:.1f} ms)",
         " / ".join(f"{h['qps']:,.0f} q/s (p99 {h['p99_ms']:.0f} ms)" for h in hma) or "–",
         f"{v['qps'] / hma_qps:.1f}x" if hma else "–", verdict(v["qps"] >= 10 * hma_qps and v["p99_ms"] <= 20)],
        ["recall: near-duplicates found at their distance / random matched",
         f"{v['near_found']}/{NEAR} / {v['random_matched']}",
         " / ".join(f"{h['near_found']}/{NEAR} / {h['random_matched']}" for h in hma) or "–", "",
         verdict(v["near_found"] == NEAR and v["random_matched"] == 0)],
        ["batch lookups (10,000 a request)", f"{batch:,.0f} hashes/s", "(one hash a request)", "",
         verdict(batch >= 100_000)],
        [f"{r['hashes']:,} hashes uploaded as one file -> searchable",
         f"{searchable['searchable_s']:.1f} s (upload {searchable['upload_s']:.1f} s, "
         f"import done {searchable['imported_s']:.1f} s)", "hours through its API; 180 s from SQL rows", "",
         verdict(searchable["searchable_s"] <= 30)],
        [f"then {CHANGE:,} more hashes, three times -> searchable on every worker",
         " / ".join(f"{c['searchable_s']:.1f} s" for c in changes) + " (import done "
         + " / ".join(f"{c['imported_s']:.1f}" for c in changes) + " s)",
         "a full index rebuild each time", "", verdict(max(c["searchable_s"] for c in changes) <= 10)],
        ["3000x2000 JPEG: Vigil hash-and-match vs HMA /h/hash, p50", f"{1000 * vm:.0f} ms", f"{1000 * hh:.0f} ms",
         f"{vm / hh:.2f}" if hma else "–", verdict(vm <= hh / 4)],
        ["server memory (RSS, all processes)", f"{r['vigil_rss_mb']:.0f} MB ({r['workers']} workers)",
         f"{hma_rss:.0f} MB", f"{r['vigil_rss_mb'] / hma_rss:.2f}", verdict(r["vigil_rss_mb"] <= hma_rss / 4)],
        ["server memory (PSS: shared pages counted once)", f"{r['vigil_pss_mb']:.0f} MB",
         f"{r.get('hma_pss_mb', float('nan')):.0f} MB", f"{r['vigil_pss_mb'] / r.get('hma_pss_mb', float('nan')):.2f}",
         ""],
    ]
    lines = ["# The match service against HMA", "",
             f"**Command:** `.venv/bin/python bench/serve_bench.py --hashes {r['hashes']} --clients {r['clients']} "
             f"--workers {r['workers']}`; started {r['started']}, load {r['load'][0]:.1f}; "
             f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}.", "",
             *table(["measure", "Vigil", "HMA (before / after Vigil)", "ratio", "target"], rows)]
    (RESULTS / "serve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
