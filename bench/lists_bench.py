"""Lists in a store, end to end, as a user runs them: import speed, compile time, and the time a
fresh `vigil match` process takes to answer with a stored 10-million-hash list.

    .venv/bin/python bench/lists_bench.py [--n 10000000] [--vics 1000000] [--skip-vics] [--skip-stored]

* VICS import: a 1,000,000-entry VICS 2.0 hash set (MD5, SHA1 and a PDQ alternative hash a
  Media; made by ``formats_speed.py``) imported into a fresh SQLite store with
  ``vigil lists import`` (entries/s; the import alone, then compiling the match index).
* A stored 10M PDQ list: the hashes of ``pdq_index.py`` (real-image hashes among random ones)
  written as a ThreatExchange signal file, imported, compiled; then a fresh
  ``vigil match --hashes FILE --json`` process is timed from its start to its first answer,
  and to its last over the 10,000 queries of ``pdq_index.py`` (queries/s through the whole
  command).

Inputs are cached in bench/work/. Results: bench/results/lists.md and lists.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from common import RESULTS, ROOT, VENV_BIN, WORK, log

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _vigil(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV_BIN / "vigil"), *args, "--db", str(db)], capture_output=True, text=True,
                          check=True)


def _fresh_db(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    cache = Path(f"{path}.index")
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    return path


def bench_vics_import(records: int) -> dict[str, Any]:
    import formats_speed

    source = WORK / f"vics20_{records}.json"
    if not source.exists():
        log(f"generating {source.name}")
        formats_speed.generate(source, records)
    from vigil.lists import import_file
    from vigil.lists.catalog import get_list
    from vigil.lists.segments import load_whole
    from vigil.store import Store

    out: dict[str, Any] = {"records": records, "file_mb": round(source.stat().st_size / 1e6, 1)}
    for label, pipeline in (("two processes", True), ("one process", False)):
        db = _fresh_db(WORK / "lists-vics.db")
        store = Store.open(db)
        log(f"VICS import of {records:,} entries ({label})")
        start, cpu = time.perf_counter(), time.process_time()
        result = import_file(store, source, "vics", pipeline=pipeline)
        seconds = time.perf_counter() - start
        out[label] = {"seconds": round(seconds, 2), "entries_per_s": round(result.records / seconds),
                      "parent_cpu_s": round(time.process_time() - cpu, 2), "added": result.added}
        if pipeline:
            with store.connect() as conn:
                info = get_list(conn, "vics")
            start = time.perf_counter()
            load_whole(store, info.id, info.content_version)
            out["compile_seconds"] = round(time.perf_counter() - start, 2)
        store.close()
    return out


def _te_file(n: int) -> tuple[Path, Path]:
    from pdq_index import CACHE

    stem = next(iter(sorted(CACHE.glob(f"v1-n{n}-*-list.npy"))), None)
    if stem is None:
        raise SystemExit(f"run bench/pdq_index.py --n {n} first (it makes the hashes)")
    hashes = np.load(stem)
    queries = np.load(str(stem).replace("-list.npy", "-queries.npy"))
    te = WORK / f"lists-pdq-{n}.txt"
    if not te.exists():
        log(f"writing {te.name}")
        tmp = te.with_suffix(".tmp")
        with tmp.open("w") as f:
            for start in range(0, len(hashes), 100_000):
                block = hashes[start:start + 100_000]
                f.write("".join(f"pdq {row.tobytes().hex()}\n" for row in block))
        tmp.replace(te)
    qfile = WORK / f"lists-pdq-{n}-queries.txt"
    qfile.write_text("".join(f"pdq {row.tobytes().hex()}\n" for row in queries))
    return te, qfile


def bench_stored_list(n: int) -> dict[str, Any]:
    te, qfile = _te_file(n)
    db = WORK / f"lists-pdq-{n}.db"
    out: dict[str, Any] = {"hashes": n, "queries": sum(1 for _ in qfile.open())}
    if not db.exists():
        log(f"importing {n:,} PDQ hashes (and compiling the index)")
        start = time.perf_counter()
        proc = _vigil("lists", "import", str(te), "--list", "pdq", "--json", db=db)
        out["import_and_compile_seconds"] = round(time.perf_counter() - start, 1)
        out["import"] = json.loads(proc.stdout)
    index_bytes = sum(p.stat().st_size for p in Path(f"{db}.index").rglob("*") if p.is_file())
    out["index_cache_mb"] = round(index_bytes / 1e6, 1)
    for attempt in ("first (cold page cache may apply)", "second"):
        log(f"fresh `vigil match --hashes` process, {attempt}")
        start = time.perf_counter()
        rss_file = WORK / "lists-match-rss.txt"
        proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), str(VENV_BIN / "vigil"), "match",
                                 "--hashes", str(qfile), "--json", "--list", "pdq", "--db", str(db)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        first_answer = time.perf_counter() - start
        lines = 1 + sum(1 for _ in proc.stdout)
        proc.wait()
        hwm = int(rss_file.read_text().split()[-1])
        total = time.perf_counter() - start
        out[attempt] = {"first_answer_s": round(first_answer, 2), "all_answers_s": round(total, 2),
                        "answers": lines, "queries_per_s_after_first": round((lines - 1) / max(total - first_answer,
                                                                                             1e-9)),
                        "peak_rss_mb": round(hwm / 1024, 1) if hwm else None}
        json.loads(first)
    return out


def _stamp() -> dict[str, Any]:
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}",
            "load_at_start": [round(x, 2) for x in os.getloadavg()]}


def render(report: dict[str, Any]) -> str:
    lines = ["# Lists end to end", "",
             "Command: `.venv/bin/python bench/lists_bench.py` (each part says when it ran).", ""]
    vics = report.get("vics_import")
    if vics:
        lines += [f"## VICS 2.0 import, {vics['records']:,} entries ({vics['file_mb']} MB)", "",
                  f"{vics['date']}; {vics['machine']}; load average at start {vics['load_at_start']}.", "",
                  "| reading | seconds | entries/s | importing process CPU s |", "|---|---|---|---|"]
        for label in ("two processes", "one process"):
            r = vics[label]
            lines.append(f"| {label} | {r['seconds']} | {r['entries_per_s']:,} | {r['parent_cpu_s']} |")
        lines += ["", f"Compiling its match index afterwards: {vics['compile_seconds']} s.", ""]
    stored = report.get("stored_list")
    if stored:
        lines += [f"## A stored list of {stored['hashes']:,} PDQ hashes", "",
                  f"{stored['date']}; {stored['machine']}; load average at start {stored['load_at_start']}.", "",
                  f"Index cache {stored['index_cache_mb']} MB."]
        if "import" in stored:
            lines.append(f"Import + compile: {stored['import_and_compile_seconds']} s.")
        lines += ["", "| fresh `vigil match --hashes` process | first answer s | all answers s | queries/s | "
                  "peak RSS MB |", "|---|---|---|---|---|"]
        for attempt in ("first (cold page cache may apply)", "second"):
            r = stored[attempt]
            lines.append(f"| {attempt} | {r['first_answer_s']} | {r['all_answers_s']} | "
                         f"{r['queries_per_s_after_first']:,} | {r['peak_rss_mb']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000_000, help="hashes in the stored PDQ list")
    parser.add_argument("--vics", type=int, default=1_000_000, help="entries in the VICS file")
    parser.add_argument("--skip-vics", action="store_true", help="keep the VICS results of an earlier run")
    parser.add_argument("--skip-stored", action="store_true", help="keep the stored-list results of an earlier run")
    args = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "lists.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if not args.skip_vics:
        report["vics_import"] = {**_stamp(), **bench_vics_import(args.vics)}
    if not args.skip_stored:
        report["stored_list"] = {**_stamp(), **bench_stored_list(args.n)}
    path.write_text(json.dumps(report, indent=2))
    text = render(report)
    (RESULTS / "lists.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
