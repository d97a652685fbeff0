"""Mirrored, letterboxed, pillarboxed, window-boxed and cropped copies of listed videos are found,
as users run Vigil: `lists import` (a hash-only vPDQ list), `lists add-media` (a list made from the
videos), then `vigil match` and `vigil scan`, in fast and exact mode. An unrelated video and a dark
scene (near-black rows that are not bars) match nothing, and the dark scene gets no box.

The videos are generated (tests/benign_videos.py): 8 s at 10 frames a second, 320x180 (the 4:3
one 240x180), a key frame every 2 s. Recall on many more videos is bench/video_recall.py's work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import benign_videos as bv
from helpers import invoke, json_lines
from vigil.signals.mode import Mode
from vigil.signals.video_views import bars_box, reduce_luma
from vigil.signals.views import Box
from vigil.signals.vpdq import hash_video, hash_video_views

# Copy -> (the entry it must match, the view it is found through; None: found through frame windows).
COPIES: dict[str, tuple[str, str | None]] = {
    "mirror": ("wide", "flipy"),
    "letterbox": ("wide", "trimmed"),
    "windowbox": ("wide", "trimmed"),
    "pillarbox": ("narrow", "trimmed"),
    "crop10": ("wide", None),
}
HASH_ONLY_FINDS = {"mirror", "letterbox", "windowbox", "pillarbox"}  # a crop needs the media


def _luma(rgb: np.ndarray) -> np.ndarray:
    return reduce_luma(rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32), 2)


def test_bars_are_found_across_frames_and_a_dark_scene_is_not_a_bar() -> None:
    frames = bv.scene("shapes", 3, seconds=4)
    boxed = bv.edit(frames, "letterbox")
    assert bars_box([_luma(f) for f in boxed[::10]]) == Box(15, 105, 0, 160)  # 30-pixel bars, at half size
    pillar = bv.edit(frames, "pillarbox")
    box = bars_box([_luma(f) for f in pillar[::10]])
    assert box is not None and (box.top, box.bottom) == (0, 90) and abs(box.left - 26) <= 1
    dark = bv.scene("dark", 3, seconds=4)
    assert bars_box([_luma(f) for f in dark[::10]]) is None  # near-black rows, but textured and changing
    assert bars_box([_luma(boxed[0])] * 4) is None  # a still: bars cannot be told from the picture
    assert bars_box([_luma(f) for f in frames[::10]]) is None


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    (root / "listed").mkdir()
    (root / "evidence").mkdir()
    wide = bv.scene("shapes", 3)
    narrow = bv.scene("pan", 12, size=(240, 180))
    bv.write_video(root / "listed" / "wide.mp4", wide)
    bv.write_video(root / "listed" / "narrow.mp4", narrow)
    for name, (entry, _) in COPIES.items():
        source = wide if entry == "wide" else narrow
        bv.write_video(root / "evidence" / f"{name}.mp4", bv.edit(source, name, seed=5), crf=28)
    bv.write_video(root / "evidence" / "unrelated.mp4", bv.scene("smooth", 13))
    bv.write_video(root / "evidence" / "dark.mp4", bv.scene("dark", 14))
    return {"root": root, "listed": root / "listed", "evidence": root / "evidence"}


@pytest.fixture(scope="module")
def db(videos: dict[str, Path]) -> Path:
    """A hash-only vPDQ list (a ThreatExchange signal file of the listed videos' reference vPDQ) and
    a list made from the same videos."""
    root = videos["root"]
    lines = [f"vpdq {';'.join(f.to_line() for f in hash_video(p))}\n" for p in sorted(videos["listed"].iterdir())]
    (root / "hashes.txt").write_text("".join(lines))
    path = root / "vigil.db"
    assert invoke("lists", "import", root / "hashes.txt", "--list", "hashes", "--format", "threatexchange",
                  "--db", path).returncode == 0
    added = invoke("lists", "add-media", "media", videos["listed"], "--jobs", "1", "--db", path)
    assert added.returncode == 0, added.stderr
    return path


def _entries(db: Path) -> dict[str, str]:
    """The hash-only list's entry ids (vpdq:<sha1>) by listed video."""
    shown = json.loads(invoke("lists", "show", "hashes", "--json", "-n", "10", "--db", db).stdout)
    listed = {e["id"]: e for e in shown["entries"]}
    out = {}
    for name in ("wide", "narrow"):
        first = hash_video(Path(db).parent / "listed" / f"{name}.mp4")[0].hash
        out[name] = next(i for i, e in listed.items() if first in json.dumps(e))
    return out


def _check(found: dict[str, list[dict[str, Any]]], hash_ids: dict[str, str]) -> None:
    for name, (entry, view) in COPIES.items():
        matches = found[name]
        media = [m for m in matches if m["list"] == "media"]
        assert [m["entry"] for m in media] == [entry], (name, matches)
        if view is None:
            assert media[0]["variant"].startswith("window") and media[0]["derived"].startswith("frame ")
        else:
            assert media[0]["variant"].startswith(view), (name, media)
        hashes = [m for m in matches if m["list"] == "hashes"]
        assert [m["entry"] for m in hashes] == ([hash_ids[entry]] if name in HASH_ONLY_FINDS else []), (name, hashes)
    assert found["unrelated"] == [] and found["dark"] == []


@pytest.mark.parametrize("mode", [Mode.FAST, Mode.EXACT])
def test_match_finds_every_copy_and_nothing_else(videos: dict[str, Path], db: Path, mode: Mode) -> None:
    proc = invoke("match", videos["evidence"], "--json", "--mode", mode.value, "--jobs", "2", "--db", db)
    assert proc.returncode == 0, proc.stderr
    found = {Path(r["query"]).stem: r["matches"] for r in json_lines(proc)}
    _check(found, _entries(db))


def test_scan_finds_every_copy_and_nothing_else(videos: dict[str, Path], db: Path) -> None:
    out = videos["root"] / "case"
    proc = invoke("scan", videos["evidence"], "--case", "c", "--out", out, "--jobs", "2", "-q", "--db", db)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    found = {Path(i["path"]).stem: i.get("matches", []) for i in report["items"]}
    _check(found, _entries(db))


def test_views_name_the_box_in_full_size_pixels_in_either_mode(videos: dict[str, Path]) -> None:
    letterbox = videos["evidence"] / "letterbox.mp4"  # 320x240: the 320x180 picture between 30-pixel bars
    for mode in (Mode.FAST, Mode.EXACT):
        views = hash_video_views(letterbox, mode=mode, views=True).views
        assert [v.label for v in views] == ["flipy", "trimmed 320x180+0+30", "trimmed 320x180+0+30 flipy"]
        assert all(len(v.features) == len(views[0].features) for v in views)
    dark = hash_video_views(videos["evidence"] / "dark.mp4", mode=Mode.EXACT, views=True).views
    assert [v.label for v in dark] == ["flipy"]
