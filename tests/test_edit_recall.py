"""Edited copies of listed photos are found by ``vigil scan``, textured and low-texture photos alike,
and unrelated photos never match: the whole pipeline, as users run it.

The corpus is committed (``tests/data/recall``, made by its ``make.py``): 32 listed photos, 16
textured (real-photo tiles, synthetic scenes) and 16 low-texture (gradient, sky, abstract and
landscape scenes, 4 of each), and 24 decoys (other scenes of the same corpus and scenes of the same
style as listed ones). The listed photos become two lists through the CLI: a hash-only list (their
PDQ in a VICS file, ``vigil lists import``) and a media-backed list (``vigil lists add-media``).
Every listed photo is edited ten ways (``make_edits``) into an evidence folder, and ``vigil scan``
runs over it and the decoys, in fast mode and in exact mode. Asserted per half (textured,
low-texture): recall per edit against the issue's targets (or, where the method falls short of them
today, the allowances below), that fast mode finds what exact mode finds, and no false positive. The bench
(``bench/edit_recall.py``, bench/results/edit_recall.md) measures the same on hundreds of photos
and 10,000 decoys.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benign_corpus import EDIT_NAMES, edit_rng, make_edits
from helpers import invoke
from vigil.hashing import HashOptions, hash_files
from vigil.lists import Record, Signal
from vigil.lists.formats import get_format
from vigil.signals.mode import Mode

DATA = Path(__file__).parent / "data" / "recall"
HALVES = ("textured", "low-texture")
NOT_PDQ = {"crop5", "crop12", "caption_bar"}  # edits PDQ and its query variants cannot undo
PER_HALF = 16  # listed photos in each half
# Copies each half may miss (of 16). Media-backed: the issue's >= 95% is one miss (15 of 16 is 94%);
# hash-only with expansion: its >= 97% is none, and one is allowed for another JPEG coder's rounding.
# Where this corpus falls short of that today, the allowance is one more than it misses now (fast and
# exact mode alike), so a regression fails and the gap stays in sight: crops of low-texture photos
# (issue 11), and the five real-photo tiles (small, detailed labelme photos) shrunk to 15% or shown
# in a screenshot.
MEDIA_MISSES = 1
MEDIA_MISSES_EXCEPT = {("crop12", "low-texture"): 4}
HASH_ONLY_MISSES = 1
HASH_ONLY_MISSES_EXCEPT = {("screenshot", "textured"): 4, ("resize15", "textured"): 4}

def _half(name: str) -> str:
    return "low-texture" if name.startswith("smooth_") else "textured"


@dataclass
class Outcome:
    """For one list: per (edit, half), how many listed copies were found; and every false positive."""

    found: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    asked: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    false_positives: list[str] = field(default_factory=list)

    def recall(self, edit: str, half: str) -> float:
        return self.found[(edit, half)] / self.asked[(edit, half)]

    def misses(self, edit: str, half: str) -> int:
        assert self.asked[(edit, half)] == PER_HALF
        return PER_HALF - self.found[(edit, half)]

    def table(self) -> str:
        return "; ".join(f"{h}: " + ", ".join(f"{e} {self.recall(e, h):.0%}" for e in EDIT_NAMES) for h in HALVES)


@dataclass
class Scans:
    entry_in: dict[str, dict[str, str]]  # list -> photo -> its entry id there
    reports: dict[str, dict[str, object]]  # mode -> report.json

    def outcome(self, mode: str, list_name: str) -> Outcome:
        out = Outcome()
        entries = self.entry_in[list_name]
        items = self.reports[mode]["items"]
        assert isinstance(items, list)
        for item in items:
            file = Path(item["path"]).name
            got = {m["entry"] for m in item["matches"] if m["list"] == list_name}
            photo, _, rest = file.partition(".")
            edit = rest.removesuffix(".png") if rest != "jpg" else None
            want = entries[photo] if edit is not None else None  # a decoy (name.jpg) must match nothing
            if want is not None:
                assert edit is not None
                out.asked[(edit, _half(photo))] += 1
                out.found[(edit, _half(photo))] += want in got
            if got - {want}:
                out.false_positives.append(f"{file} -> {sorted(got - {want})}")
        return out


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    root = tmp_path_factory.mktemp("recall")
    listed = sorted(DATA.glob("listed/*.jpg"))
    assert len(listed) == 2 * PER_HALF and len(list(DATA.glob("decoys/*.jpg"))) >= 20
    evidence = root / "evidence"
    evidence.mkdir()
    for k, path in enumerate(listed):
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        for edit, copy in make_edits(rgb, edit_rng(0, k)).items():
            # Lossless: the edits chose their own JPEG losses.
            Image.fromarray(copy).save(evidence / f"{path.stem}.{edit}.png", compress_level=1)

    db = str(root / "vigil.db")
    # Hash-only: what a VICS file carries (MD5, and PDQ as an alternative hash).
    records, by_md5 = [], {}
    for result in hash_files([str(p) for p in listed], HashOptions(mode=Mode.EXACT)):
        assert result.digests is not None and result.pdq is not None
        records.append(Record(Path(result.path).stem, [Signal.of("md5", result.digests.md5),
                                                       Signal.of("pdq", result.pdq.hash)]))
        by_md5[Path(result.path).stem] = result.digests.md5
    vics = root / "hashes.json"
    with open(vics, "wb") as out:
        get_format("vics").write(records, out, list_name="hash-only")
    for args in (("lists", "import", vics, "--list", "hash-only"),
                 ("lists", "add-media", "media", DATA / "listed")):
        ran = invoke(*args, "--db", db)
        assert ran.returncode == 0, ran.stderr.decode()

    reports = {}
    for mode in ("fast", "exact"):
        out_dir = root / f"scan-{mode}"
        ran = invoke("scan", evidence, DATA / "decoys", "--out", out_dir, "--case", "recall", "--mode", mode,
                     "--db", db, "--quiet")
        assert ran.returncode == 0, ran.stderr.decode()
        reports[mode] = json.loads((out_dir / "report.json").read_text())
    # VICS entries are named by MD5; a media-backed list's by file name.
    return Scans({"hash-only": by_md5, "media": {p.stem: p.stem for p in listed}}, reports)


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_media_backed_list_finds_every_edit_in_both_halves(scans: Scans, mode: str) -> None:
    o = scans.outcome(mode, "media")
    for half in HALVES:
        for edit in EDIT_NAMES:
            allowed = MEDIA_MISSES_EXCEPT.get((edit, half), MEDIA_MISSES)
            assert o.misses(edit, half) <= allowed, f"{edit}, {half}: {o.table()}"


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_hash_only_list_finds_every_edit_pdq_can_undo_in_both_halves(scans: Scans, mode: str) -> None:
    o = scans.outcome(mode, "hash-only")
    for half in HALVES:
        for edit in EDIT_NAMES:
            if edit not in NOT_PDQ:
                allowed = HASH_ONLY_MISSES_EXCEPT.get((edit, half), HASH_ONLY_MISSES)
                assert o.misses(edit, half) <= allowed, f"{edit}, {half}: {o.table()}"


@pytest.mark.parametrize("mode", ["fast", "exact"])
@pytest.mark.parametrize("list_name", ["hash-only", "media"])
def test_no_false_positives(scans: Scans, mode: str, list_name: str) -> None:
    """Decoys match nothing, and no copy matches another listed photo."""
    assert scans.outcome(mode, list_name).false_positives == []


def test_fast_mode_finds_what_exact_mode_finds(scans: Scans) -> None:
    """A scan's default (fast) mode may lose a copy to its reduced decodes, never more than one a half."""
    for list_name in ("hash-only", "media"):
        fast, exact = scans.outcome("fast", list_name), scans.outcome("exact", list_name)
        for half in HALVES:
            for edit in EDIT_NAMES:
                assert fast.found[(edit, half)] >= exact.found[(edit, half)] - 1, f"{list_name} {edit} {half}"
