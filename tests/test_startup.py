"""Start-up: what loads when (not how fast: bench/startup.py measures that), the once-per-install
check of the PDQ core, and fast mode's numpy path giving the numba kernels' numbers to the bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BUNDLED_REFDATA
from vigil.signals import _pdqcheck, _pdqcore, _pdqfast

HEAVY = ("numba", "av", "sqlalchemy", "alembic", "PIL", "pillow_heif", "pyspng", "py7zr", "jinja2", "numpy",
         "pdqhash", "rich.progress")


def _loaded_after(code: str, tmp_path: Path) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_import_vigil_loads_no_heavy_module(tmp_path: Path) -> None:
    assert _loaded_after("import vigil", tmp_path) == []


def test_help_loads_no_library_stack(tmp_path: Path) -> None:
    code = ("import sys\nfrom vigil.cli.main import app\nsys.argv = ['vigil', '--help']\n"
            "try:\n    app()\nexcept SystemExit:\n    pass")
    assert _loaded_after(code, tmp_path) == []


def test_a_large_photo_in_fast_mode_needs_no_numba_video_or_database(tmp_path: Path) -> None:
    """Once the PDQ core's check has run on this install (the first process runs it, with numba)."""
    assert "numba" in _loaded_after("from vigil.signals import _pdqcheck", tmp_path)
    assert "numba" not in _loaded_after("from vigil.signals import _pdqcheck", tmp_path)
    photo = tmp_path / "large.jpg"
    rng = np.random.default_rng(5)
    Image.fromarray(rng.integers(0, 256, (1500, 2000, 3), dtype=np.uint8)).save(photo, quality=85)
    code = (f"from vigil import hash_files\nr = list(hash_files([{str(photo)!r}], jobs=1))[0]\n"
            "assert r.error is None and r.pdq is not None, r")
    loaded = _loaded_after(code, tmp_path)
    assert not {"numba", "av", "sqlalchemy", "pillow_heif", "pyspng", "rich.progress"} & set(loaded)
    assert {"numpy", "PIL", "pdqhash"} <= set(loaded)


def test_a_heif_photo_hashes_in_a_fresh_process(tmp_path: Path) -> None:
    """pillow-heif now joins Pillow only when a photo Pillow cannot identify turns up."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    rgb = np.asarray(Image.open(BUNDLED_REFDATA / "pdq-images/bridge-mods/square-256x256.jpg").convert("RGB"))
    photo = tmp_path / "phone.heic"
    Image.fromarray(rgb).save(photo, format="HEIF", quality=90)
    code = (f"from vigil import hash_file, Mode, HashOptions\n"
            f"r = hash_file({str(photo)!r}, HashOptions(mode=Mode.EXACT))\n"
            "print(r.kind.value, r.format, r.pdq.hash if r.pdq else r.error)")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    kind, fmt, value = out.stdout.split()
    from vigil.signals import pdq

    decoded = np.asarray(Image.open(photo).convert("RGB"))
    assert (kind, fmt, value) == ("image", "heif", pdq.hash_rgb(decoded).hash)


def test_an_unidentifiable_photo_still_says_so(tmp_path: Path) -> None:
    from vigil.errors import CorruptMedia
    from vigil.media.photo import open_photo

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"not a jpeg at all" * 10)
    for _ in range(2):  # before and after pillow-heif joined
        with pytest.raises(CorruptMedia, match="cannot read photo header"):
            open_photo(bad)


# ---------------------------------------------------------------- the once-per-install check
def test_the_check_runs_once_then_its_verdict_is_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[bool] = []
    monkeypatch.setattr(_pdqcheck, "_run_check", lambda: runs.append(True) or True)
    path = tmp_path / "vigil" / "check.json"
    assert _pdqcheck.check(path) is True
    assert _pdqcheck.check(path) is True
    assert runs == [True]
    kept = json.loads(path.read_text())
    assert kept["available"] is True and kept["key"]["numba"] and kept["key"]["pdqhash"]


def test_a_new_version_or_a_damaged_file_runs_the_check_again(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[bool] = []
    monkeypatch.setattr(_pdqcheck, "_run_check", lambda: runs.append(True) or False)
    path = tmp_path / "check.json"
    assert _pdqcheck.check(path) is False
    kept = json.loads(path.read_text())
    kept["key"]["numba"] = "0.0.1"
    path.write_text(json.dumps(kept))
    assert _pdqcheck.check(path) is False
    assert len(runs) == 2
    path.write_text('{"key": ')  # cut short
    assert _pdqcheck.check(path) is False
    assert len(runs) == 3
    assert _pdqcheck.check(path) is False  # rewritten whole
    assert len(runs) == 3


def test_a_cache_that_cannot_be_written_only_means_checking_each_time(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[bool] = []
    monkeypatch.setattr(_pdqcheck, "_run_check", lambda: runs.append(True) or True)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    assert _pdqcheck.check(blocker / "vigil" / "check.json") is True
    assert _pdqcheck.check(blocker / "vigil" / "check.json") is True
    assert len(runs) == 2


def test_the_cache_lives_in_the_users_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _pdqcheck.cache_file() == tmp_path / "vigil" / "pdq-core-check.json"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _pdqcheck.cache_file() == Path.home() / ".cache" / "vigil" / "pdq-core-check.json"


def test_the_real_check_agrees_with_pdqhash() -> None:
    assert _pdqcore.agrees_with_pdqhash()
    assert _pdqcheck.AVAILABLE


def test_numbas_cache_spares_a_second_process_the_compiling(tmp_path: Path) -> None:
    """Every kernel is compiled with cache=True: a second process loads them, it does not compile."""
    code = ("import numpy as np\nfrom vigil.signals import _pdqcore\n"
            "_pdqcore.hash_from_luma(_pdqcore.luma_like_pdqhash(np.zeros((70, 90, 3), np.uint8)))\n"
            "_pdqcore.luma_like_cpp(np.zeros((8, 8, 3), np.uint8))")
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1", "XDG_CACHE_HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert "data loaded from" in second.stdout
    assert "data saved to" not in second.stdout


# ---------------------------------------------------------------- numpy's numbers are the kernels'
@pytest.mark.parametrize("shape", [(378, 504), (200, 320), (1, 7), (513, 97)])
def test_numpy_luma_is_the_kernels_luma_to_the_bit(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0] * shape[1])
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert np.array_equal(_pdqfast._luma64_numpy(rgb), _pdqcore.luma_like_pdqhash(rgb))
    assert np.array_equal(_pdqfast._luma32_numpy(rgb), _pdqcore.luma_like_cpp(rgb))
    assert _pdqfast._luma64_numpy(rgb).dtype == _pdqfast._luma32_numpy(rgb).dtype == np.float32


def test_loading_the_kernels_hands_them_the_per_photo_work() -> None:
    """Imported here (as by a run that needs them), the kernels serve fast mode too."""
    assert _pdqfast._kernels is not None
    assert _pdqfast._kernels.apply is _pdqcore._apply


def _weights_by_loops(n: int, scale: int, m: int) -> tuple[list[int], list[list[float]]]:
    """The banded weights as the loops that define them, in plain Python."""
    w = _pdqfast.window(n, 64)
    half = (w + 2) // 2
    left, right = w - half, half - 1
    centres = [int(c) for c in _pdqfast.centers(n)]
    starts = [max(max(c - left, 0) - left, 0) // scale for c in centres]
    ends = [min(min(c + right, n - 1) + right, n - 1) // scale + 1 for c in centres]
    width = max(e - s for s, e in zip(starts, ends, strict=True))
    band = [[0.0] * width for _ in range(64)]
    for k, c in enumerate(centres):
        starts[k] = min(starts[k], m - width)
        lo_c, hi_c = max(c - left, 0), min(c + right, n - 1)
        for i in range(lo_c, hi_c + 1):
            lo_i, hi_i = max(i - left, 0), min(i + right, n - 1)
            weight = 1.0 / ((hi_c - lo_c + 1) * (hi_i - lo_i + 1))
            for j in range(lo_i, hi_i + 1):
                band[k][j // scale - starts[k]] += weight
    return starts, band


@pytest.mark.parametrize(("full", "scale"), [((640, 480), 2), ((1024, 771), 4), ((1531, 1203), 8), ((3000, 259), 2)])
def test_fast_weights_and_their_product_are_the_loops_to_the_bit(full: tuple[int, int], scale: int) -> None:
    width, height = full
    w, h = -(-width // scale), -(-height // scale)
    for n, m in ((width, w), (height, h)):
        starts, band = _pdqfast._banded_weights(n, scale, m)
        want_starts, want_band = _weights_by_loops(n, scale, m)
        assert starts.tolist() == want_starts
        assert band.tolist() == want_band
    rng = np.random.default_rng(width)
    luma = (rng.random((h, w)) * 255).astype(np.float32)
    (sy, by), (sx, bx) = _pdqfast._weights(height, scale, h), _pdqfast._weights(width, scale, w)
    rows = [[sum((float(luma[i, sx[k] + j]) * bx[k, j] for j in range(bx.shape[1])), 0.0) for k in range(64)]
            for i in range(h)]
    want = np.array([[sum((by[r, i] * rows[sy[r] + i][k] for i in range(by.shape[1])), 0.0) for k in range(64)]
                     for r in range(64)], np.float32)
    for apply in (_pdqfast._apply_numpy, _pdqcore._apply):  # numpy, and the numba kernel
        assert np.array_equal(apply(sy, by, luma, sx, bx), want)
