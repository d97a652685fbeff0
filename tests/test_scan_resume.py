"""A scan killed with SIGKILL at several points and resumed gives the report of a scan never interrupted."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vigil.lists.media import add_media
from vigil.store import Store


def _photo(rng: np.random.Generator) -> bytes:
    blocks = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    rgb = np.kron(blocks, np.ones((20, 20, 1), dtype=np.uint8))
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=85)
    return out.getvalue()


def _corpus(root: Path) -> tuple[Path, list[Path]]:
    rng = np.random.default_rng(7)
    ev = root / "evidence"
    listed = []
    for folder in range(6):
        (ev / f"f{folder}").mkdir(parents=True)
        for n in range(40):
            path = ev / f"f{folder}" / f"{folder}-{n:03d}.jpg"
            path.write_bytes(_photo(rng))
            if n % 4 == 0:
                listed.append(path)
    for k, path in enumerate(listed[:10]):  # copies, inside archives too
        (ev / f"f{k % 6}" / f"copy-{k}.jpg").write_bytes(path.read_bytes())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n in range(30):
            z.writestr(f"zipped/{n}.jpg", _photo(rng) if n % 3 else listed[n].read_bytes())
    (ev / "f2" / "archive.zip").write_bytes(buf.getvalue())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for n in range(20):
            data = listed[n + 20].read_bytes() if n % 2 else _photo(rng)
            info = tarfile.TarInfo(f"t/{n}.jpg")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    (ev / "f4" / "archive.tgz").write_bytes(buf.getvalue())
    (ev / "f5" / "broken.jpg").write_bytes(listed[0].read_bytes()[:700])
    return ev, listed


def _start(ev: Path, out: Path, env: dict[str, str], resume: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "vigil", "scan", str(ev), "--case", "K", "--out", str(out), "--jobs", "2", "-q"]
    with open(out.with_name(out.name + ".stderr"), "ab") as err:
        return subprocess.Popen(args + (["--resume"] if resume else []), env=env, stdout=subprocess.DEVNULL,
                                stderr=err)


def _errors(out: Path) -> str:
    return out.with_name(out.name + ".stderr").read_text(errors="replace")


def _state(out: Path) -> tuple[str | None, int]:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{out / 'case.db'}?mode=ro", uri=True, timeout=0.2)) as db:
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('state', 'done_entries')").fetchall())
    except sqlite3.Error:
        return None, 0
    return (json.loads(rows["state"]) if "state" in rows else None,
            int(json.loads(rows.get("done_entries", "0"))))


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists()
                 and "Z" not in Path(f"/proc/{p}/stat").read_text().split(")")[-1][:3]]
        time.sleep(0.05)
    assert not alive, f"workers {alive} outlived the killed scan"


def _kill_when(proc: subprocess.Popen[bytes], out: Path, want: Any) -> bool:
    """SIGKILL the scan once ``want(state, done)`` holds; False if it finished first."""
    while proc.poll() is None:
        if (out / "case.db").exists() and want(*_state(out)):
            workers = _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            _assert_gone(workers)  # no worker outlives the scan to compete with the resumed one
            return True
        time.sleep(0.01)
    assert proc.returncode == 0, _errors(out)
    return False


def _comparable(out: Path) -> dict[str, Any]:
    report = json.loads((out / "report.json").read_text())
    for key in ("started", "finished"):
        report["evidence"].pop(key)
    report["summary"].pop("seconds")
    return report


def _thumbs(out: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(out / "case.db")) as db:
        return db.execute("SELECT sha256, data, frames, error FROM thumbs ORDER BY sha256").fetchall()


def test_sigkill_at_several_points_then_resume_gives_the_clean_report(tmp_path: Path) -> None:
    ev, listed = _corpus(tmp_path)
    store = Store.open(tmp_path / "vigil.db")
    add_media(store, "known", [str(p) for p in listed])
    store.close()
    env = {**os.environ, "VIGIL_DB": str(tmp_path / "vigil.db")}
    total = sum(1 for p in ev.rglob("*") if p.is_file())

    clean = tmp_path / "clean"
    proc = _start(ev, clean, env, resume=False)
    assert proc.wait(timeout=600) == 0, _errors(clean)

    out = tmp_path / "killed"
    points = [
        ("before the first checkpoint", lambda state, done: state == "scanning"),
        ("a third of the way", lambda state, done: done >= total // 3),
        ("two thirds of the way", lambda state, done: done >= 2 * total // 3),
        ("while writing the reports", lambda state, done: state == "reporting"),
    ]
    killed = []
    proc = _start(ev, out, env, resume=False)
    for name, want in points:
        if _kill_when(proc, out, want):
            killed.append(name)
            proc = _start(ev, out, env, resume=True)
    assert proc.wait(timeout=600) == 0, _errors(out)
    assert killed[:3] == [name for name, _ in points[:3]]  # the reporting stage may be too quick to catch

    assert _comparable(out) == _comparable(clean)
    for name in ("hits.csv", "vics-case.json"):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
    assert _thumbs(out) == _thumbs(clean)
    report = _comparable(out)
    assert report["summary"]["evidence_files"] == total
    assert len({item["path"] for item in report["items"]}) == len(report["items"])  # nothing counted twice
    assert report["summary"]["hits"]["contents"] == len(listed)

    verify = subprocess.run([sys.executable, "-m", "vigil", "case", "verify", str(out)], capture_output=True)
    assert verify.returncode == 0, verify.stdout
    log = subprocess.run([sys.executable, "-m", "vigil", "case", "log", str(out)], capture_output=True, check=True)
    events = [json.loads(line)["event"] for line in log.stdout.decode().splitlines()]
    assert events.count("scan resumed") == len(killed)
