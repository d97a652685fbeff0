"""Every bad input the hashing core names: a one-line error, and the run goes on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUNDLED_REFDATA
from helpers import invoke, json_lines, write_huge_png

GOOD_JPEG = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-256x256.jpg"
GOOD_MP4 = BUNDLED_REFDATA / "videos/doorknob-hd-no-bar.mp4"


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    d = tmp_path / "evidence"
    d.mkdir()
    (d / "a-empty.jpg").write_bytes(b"")
    (d / "b-truncated.jpg").write_bytes(GOOD_JPEG.read_bytes()[:5000])
    (d / "c-random.png").write_bytes(os.urandom(4096))
    (d / "d-truncated.mp4").write_bytes(GOOD_MP4.read_bytes()[: GOOD_MP4.stat().st_size // 2])
    (d / "e-notes.txt").write_text("benign notes, not media\n" * 20)
    shutil.copy(GOOD_JPEG, d / "f-good.jpg")
    return d


def _by_name(results: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(r["path"]).rsplit("/", 1)[-1]: r for r in results}


def test_bad_files_are_error_rows_and_the_run_goes_on(bad_dir: Path) -> None:
    proc = invoke("hash", "--json", bad_dir)
    assert proc.returncode == 0, proc.stderr
    rows = _by_name(json_lines(proc))
    assert set(rows) == {"a-empty.jpg", "b-truncated.jpg", "c-random.png", "d-truncated.mp4", "e-notes.txt",
                         "f-good.jpg"}
    for name, row in rows.items():
        error = row["error"]
        if name == "f-good.jpg":
            assert error is None
            continue
        assert isinstance(error, str) and error and "\n" not in error, name
    assert rows["a-empty.jpg"]["error"] == "empty file (0 bytes)"
    assert "truncated" in str(rows["b-truncated.jpg"]["error"])
    assert rows["c-random.png"]["kind"] == "other"  # content decides, not the name
    assert "not a photo or video" in str(rows["c-random.png"]["error"])
    assert rows["d-truncated.mp4"]["kind"] == "video" and "truncated" in str(rows["d-truncated.mp4"]["error"])
    assert rows["e-notes.txt"]["error"] == "not a photo or video (content looks like text)"
    # File hashes are still reported for files whose content is not usable media.
    signals = rows["c-random.png"]["signals"]
    assert isinstance(signals, dict) and len(str(signals["sha256"])) == 64
    good = rows["f-good.jpg"]["signals"]
    assert isinstance(good, dict) and isinstance(good["pdq"], dict) and good["pdq"]["quality"] == 100


def test_text_output_gives_one_error_line_per_bad_file(bad_dir: Path) -> None:
    proc = invoke("hash", bad_dir)
    assert proc.returncode == 0
    errors = [line for line in proc.stdout.decode().splitlines() if line.startswith("error ")]
    assert len(errors) == 5


def test_truncated_video_keeps_the_frames_it_could_hash(bad_dir: Path) -> None:
    [row] = json_lines(invoke("hash", "--json", "--mode", "exact", "--seconds-per-hash", "0",
                                 bad_dir / "d-truncated.mp4"))
    signals = row["signals"]
    assert isinstance(signals, dict)
    assert 0 < len(signals["vpdq"]) < 120
    assert "of 120 frames decoded" in str(row["error"])


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    write_huge_png(bomb, 30000, 30000)
    assert bomb.stat().st_size < 1_000_000
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'vigil', 'hash', '--json', '--jobs', '1', sys.argv[1]],"
        " capture_output=True, text=True)\n"
        "print(p.stdout)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(bomb)], capture_output=True, text=True, timeout=300)
    *out, peak_kib = proc.stdout.strip().splitlines()
    assert "30000x30000" in out[0] and "refused before decoding" in out[0]
    assert int(peak_kib) < 1024 * 1024 // 2  # well under 1 GB (the decoded image would be 900 MB)


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    [row] = json_lines(invoke("hash", "--json", "--max-pixels", "10000", GOOD_JPEG))
    assert "over the limit" in str(row["error"])


def test_unreadable_file_is_an_error_row(tmp_path: Path) -> None:
    locked = tmp_path / "locked.jpg"
    shutil.copy(GOOD_JPEG, locked)
    locked.chmod(0)
    shutil.copy(GOOD_JPEG, tmp_path / "open.jpg")
    prefix: list[str] = []
    if os.geteuid() == 0:
        # Root reads everything: drop the capabilities that bypass file permissions,
        # so the run sees what an unprivileged examiner's account would.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file unreadable")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    proc = subprocess.run([*prefix, sys.executable, "-m", "vigil", "hash", "--json", str(locked),
                           str(tmp_path / "open.jpg")], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = _by_name(json_lines(proc))
    assert rows["locked.jpg"]["kind"] == "error"
    assert rows["locked.jpg"]["error"] == "cannot read: Permission denied"
    assert rows["open.jpg"]["error"] is None


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    weird = os.path.join(os.fsencode(tmp_path), b"caf\xe9-\xff.jpg")
    shutil.copy(GOOD_JPEG, weird)
    proc = invoke("hash", "--json", tmp_path)
    [row] = json_lines(proc)
    assert str(row["path"]).endswith("caf\\xe9-\\xff.jpg")
    assert row["error"] is None and row["kind"] == "image"
    text = invoke("hash", weird).stdout.decode("utf-8")
    assert text.splitlines()[0].endswith("caf\\xe9-\\xff.jpg")


def test_missing_path_is_reported_and_exits_3(tmp_path: Path) -> None:
    proc = invoke("hash", "--json", tmp_path / "nope.jpg", GOOD_JPEG)
    assert proc.returncode == 3
    rows = json_lines(proc)
    assert rows[0]["error"] == "cannot open: No such file or directory"
    assert rows[1]["error"] is None
    assert b"nope.jpg" in proc.stderr and len(proc.stderr.decode().strip().splitlines()) == 1


def test_decode_time_limit_stops_a_file_and_the_run_goes_on() -> None:
    proc = invoke("hash", "--json", "--mode", "exact", "--seconds-per-hash", "0", "--max-seconds", "0.001",
                     GOOD_MP4, GOOD_JPEG)
    video, photo = json_lines(proc)
    assert "decoding took longer than 0.001 s" in str(video["error"])
    assert photo["kind"] == "image"
