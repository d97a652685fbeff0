"""``vigil hash`` and ``vigil demo`` as a user runs them: in this process (``invoke``), and as the real
command where the process is the point (exit statuses as the shell sees them, terminals, pipes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import BUNDLED_REFDATA
from helpers import invoke, json_lines, run_vigil
from vigil.signals import pdq

PHOTO = BUNDLED_REFDATA / "pdq-images/reg-test-input/labelme-subset/q0122.jpg"
VIDEO = BUNDLED_REFDATA / "videos/test-padded-dimensions.mp4"


def test_text_output_is_path_then_signal_lines() -> None:
    proc = invoke("hash", PHOTO)
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == str(PHOTO)
    assert [line.split()[0] for line in lines[1:5]] == ["md5", "sha1", "sha256", "pdq"]
    assert lines[5] == ""
    assert proc.stderr == b""  # not a terminal: no progress bar


def test_json_output_follows_the_contract() -> None:
    proc = invoke("hash", "--json", "--mode", "exact", PHOTO, VIDEO)
    photo, video = json_lines(proc)
    assert set(photo) == {"path", "kind", "size", "signals", "error"}
    assert photo["kind"] == "image" and photo["size"] == PHOTO.stat().st_size and photo["error"] is None
    signals = photo["signals"]
    assert isinstance(signals, dict) and set(signals) == {"md5", "sha1", "sha256", "pdq"}
    assert signals["pdq"] == {"hash": pdq.hash_photo(PHOTO, mode=pdq.Mode.EXACT).hash, "quality": 100}
    assert video["kind"] == "video"
    vsignals = video["signals"]
    assert isinstance(vsignals, dict)
    expected = (BUNDLED_REFDATA / "vpdq-reference-hashes/test-padded-dimensions.1s.txt").read_text().splitlines()
    got = [f"{f['frame']},{f['quality']},{f['hash']},{f['timestamp']:.3f}" for f in vsignals["vpdq"]]
    assert got == expected


def test_seconds_per_hash_zero_hashes_every_frame() -> None:
    [row] = json_lines(invoke("hash", "--json", "--mode", "exact", "--seconds-per-hash", "0", VIDEO))
    signals = row["signals"]
    assert isinstance(signals, dict) and len(signals["vpdq"]) == 150


def test_folders_are_walked_recursively_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    shutil.copy(PHOTO, tmp_path / "b" / "deeper" / "z.jpg")
    shutil.copy(PHOTO, tmp_path / "a.jpg")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)  # never followed
    rows = json_lines(invoke("hash", "--json", tmp_path))
    assert [Path(str(r["path"])).name for r in rows] == ["a.jpg", "z.jpg"]


def test_dihedral_option_prints_rotations_and_mirrors() -> None:
    lines = invoke("hash", "--dihedral", PHOTO).stdout.decode().splitlines()
    names = [line.split()[2] for line in lines if line.startswith("pdq ") and len(line.split()) == 3]
    assert names == ["rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"]


def test_usage_errors_exit_2() -> None:
    assert invoke("hash", "--mode", "turbo", PHOTO).returncode == 2
    assert invoke("hash", "--seconds-per-hash", "-1", PHOTO).returncode == 2
    assert invoke("hash").returncode == 2
    assert invoke("frobnicate").returncode == 2


@pytest.mark.parametrize(("args", "code", "said"), [
    (["--version"], 0, b""),
    (["hash", "{tmp}/nope.jpg"], 3, b"vigil: cannot open {tmp}/nope.jpg\n"),
    (["match", "--db", "{tmp}/v.db"], 2, b"vigil: give PATH"),
    (["lists", "show", "nope", "--db", "{tmp}/v.db"], 2, b"vigil: no list named 'nope'"),
    (["scan", "{tmp}/missing", "--case", "c", "--out", "{tmp}/out", "--db", "{tmp}/v.db"], 3,
     b"vigil: evidence '{tmp}/missing' does not exist"),
    (["case", "verify", "{tmp}"], 3, b"vigil: {tmp} holds no readable case database"),
    (["demo", "--dir", "{tmp}"], 2, b"vigil: {tmp} exists and is not a Vigil demo folder"),
], ids=["version", "hash", "match", "lists", "scan", "case", "demo"])
def test_the_real_command_exits_with_one_line_and_its_status(tmp_path: Path, args: list[str], code: int,
                                                               said: bytes) -> None:
    """Each verb group once as the real command: it starts, and the shell sees the exit status and
    the error as one line on stderr, never a stack trace (the other tests run it in process)."""
    tmp = str(tmp_path)
    proc = run_vigil(*(a.replace("{tmp}", tmp) for a in args))
    assert proc.returncode == code, proc.stderr
    said = said.replace(b"{tmp}", tmp.encode())
    if code == 0:
        assert proc.stderr == b""
    else:  # the error is the last line and the only one that says "vigil:" (demo says what it builds first)
        assert proc.stderr.endswith(b"\n") and b"Traceback" not in proc.stderr
        *before, error = proc.stderr.splitlines(keepends=True)
        assert error.startswith(said) and not any(b"vigil: " in line for line in before)


def test_parallel_output_equals_serial(tmp_path: Path) -> None:
    for i, src in enumerate(sorted((BUNDLED_REFDATA / "pdq-images").rglob("*.jpg"))):
        shutil.copy(src, tmp_path / f"{i:02d}.jpg")
    one = invoke("hash", "--json", "--jobs", "1", tmp_path).stdout
    two = invoke("hash", "--json", "--jobs", "2", tmp_path).stdout
    assert one == two and len(one.splitlines()) >= 14


def test_demo_builds_a_benign_case_scans_it_and_says_where_the_report_is(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    proc = invoke("demo", "--dir", folder)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "8 hits" in text and str(folder / "case" / "report.html") in text
    report = json.loads((folder / "case" / "report.json").read_text())
    found = {Path(i["path"]).name: i for i in report["items"]}
    assert found["holiday-small.mp4"]["matches"][0]["signal"] == "vpdq"  # re-encoded at half size
    assert found["shared-mirrored.jpg"]["matches"] and found["screenshot-framed.png"]["matches"]
    assert found["invoice.pdf"]["kind"] == "image"  # kind by content, not by name
    assert "truncated" in found["IMG_2043.jpg"]["error"]
    assert invoke("case", "verify", folder / "case").returncode == 0
    # Run again: the earlier demo is replaced; a folder that is not a demo never is.
    assert invoke("demo", "--dir", folder, "-q").returncode == 0
    (tmp_path / "mine").mkdir()
    refused = invoke("demo", "--dir", tmp_path / "mine")
    assert refused.returncode == 2 and b"not a Vigil demo folder" in refused.stderr


def test_version() -> None:
    from vigil import __version__

    assert invoke("--version").stdout.decode().strip() == f"vigil {__version__}"


def _on_terminal(*args: str) -> tuple[int, bytes]:
    """Run vigil with stderr on a pseudo-terminal; the exit status and what was drawn there."""
    import os
    import pty
    import subprocess
    import sys
    import threading

    leader, follower = pty.openpty()
    drawn = bytearray()

    def drain() -> None:  # keep reading, or a full terminal buffer would block the command
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "vigil", *args], stdout=subprocess.PIPE, stderr=follower,
                              timeout=300, env=dict(os.environ, COLUMNS="160"))
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    return proc.returncode, bytes(drawn)


def test_progress_bar_is_drawn_on_a_terminal_only() -> None:
    code, drawn = _on_terminal("hash", str(PHOTO), str(VIDEO))
    assert code == 0
    assert b"2/2 files" in drawn and b"0 errors" in drawn
    quiet = invoke("hash", "--quiet", PHOTO)
    assert quiet.stderr == b""


def test_scan_progress_shows_files_bytes_hits_errors_and_time_left(tmp_path: Path) -> None:
    code, drawn = _on_terminal("demo", "--dir", str(tmp_path / "demo"))
    assert code == 0
    for shown in (b"17 files", b"8 hits", b"2 errors", b"time left", b"kB"):
        assert shown in drawn, shown


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    for i in range(8):  # every frame of 8 videos: far more output than a pipe holds
        shutil.copy(VIDEO, tmp_path / f"{i}.mp4")
    proc = subprocess.run(f"'{sys.executable}' -m vigil hash --seconds-per-hash 0 '{tmp_path}' | head -1",
                          shell=True, capture_output=True, timeout=300)
    assert proc.stdout.decode().strip() == str(tmp_path / "0.mp4")
    assert proc.stderr == b""
