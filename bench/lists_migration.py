"""A media-backed list made by an earlier Vigil, opened (and so migrated) by this one: the same entries
and the same matches, through the commands users run; how long the migration takes, what it saves.

    PYTHONPATH=/path/to/earlier/src .venv/bin/python bench/lists_migration.py make DIR
    .venv/bin/python bench/lists_migration.py check DIR

``make`` (with the earlier Vigil first on ``PYTHONPATH``): the committed photos of
``tests/data/recall/listed`` and two benign videos (``tests/benign_videos.py``) listed with ``vigil
lists add-media``; edited copies (photos cropped 5% and 12% a side, mirrored, captioned; videos cropped
10% and mirrored) matched with ``vigil match --json``; the list read back with ``vigil lists show
--json``. ``check`` (with this Vigil): the same on a copy of that store, which opening migrates, and a
comparison, output by output. Prints a JSON summary (``check`` exits 1 when anything differs).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import ROOT, VENV_BIN, log

sys.path.insert(0, str(ROOT / "tests"))
LISTED = ROOT / "tests" / "data" / "recall" / "listed"
PHOTO_EDITS = ("crop5", "crop12", "mirror", "caption_bar")
VIDEO_EDITS = ("crop10", "mirror")


def _vigil(*args: object, db: Path) -> str:
    proc = subprocess.run([str(VENV_BIN / "vigil"), *map(str, args), "--db", str(db)], capture_output=True,
                          text=True, env={**os.environ})
    if proc.returncode != 0:
        raise SystemExit(f"vigil {' '.join(map(str, args))} failed: {proc.stderr}")
    return proc.stdout


def _outputs(work: Path, db: Path) -> dict[str, object]:
    matches = [json.loads(line) for line in _vigil("match", work / "copies", "--list", "media", "--json",
                                                   db=db).splitlines() if line.strip()]
    shown = json.loads(_vigil("lists", "show", "media", "--json", "--entries", "1000", db=db))
    return {"matches": sorted(matches, key=lambda m: m["query"]), "entries": shown["entries"]}


def make(work: Path) -> None:
    import benign_corpus
    import benign_videos

    shutil.rmtree(work, ignore_errors=True)
    (work / "videos").mkdir(parents=True)
    (work / "copies").mkdir()
    for k, path in enumerate(sorted(LISTED.glob("*.jpg"))):
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        edits = benign_corpus.make_edits(rgb, benign_corpus.edit_rng(0, k))
        for edit in PHOTO_EDITS:
            Image.fromarray(edits[edit]).save(work / "copies" / f"{path.stem}.{edit}.png", compress_level=1)
    for k, kind in enumerate(("shapes", "pan")):
        frames = benign_videos.scene(kind, k)
        benign_videos.write_video(work / "videos" / f"{kind}.mp4", frames)
        for edit in VIDEO_EDITS:
            benign_videos.write_video(work / "copies" / f"{kind}.{edit}.mp4", benign_videos.edit(frames, edit, k))
    db = work / "before.db"
    t0 = time.perf_counter()
    _vigil("lists", "add-media", "media", LISTED, work / "videos", "--jobs", "2", db=db)
    log(f"listed in {time.perf_counter() - t0:.1f} s")
    (work / "before.json").write_text(json.dumps(_outputs(work, db)))


def _vacuumed(db: Path) -> int:
    """The file's size once compacted (on a copy, in rollback-journal mode: VACUUM in WAL mode leaves
    the file as large until a checkpoint)."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = db.with_suffix(".vacuum")
    shutil.copy(db, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("VACUUM")
    conn.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


def check(work: Path) -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from vigil.store import Store

    before_db, db = work / "before.db", work / "after.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{db}.index", ignore_errors=True)
    with sqlite3.connect(before_db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(before_db, db)
    t0 = time.perf_counter()
    Store.open(db).close()
    migrate_s = time.perf_counter() - t0
    before = json.loads((work / "before.json").read_text())
    after = _outputs(work, db)
    (work / "after.json").write_text(json.dumps(after))
    entries = len(after["entries"])  # type: ignore[arg-type]
    summary = {"entries": entries, "migration_s": round(migrate_s, 3),
               "sqlite_bytes_before": _vacuumed(before_db), "sqlite_bytes_after": _vacuumed(db),
               "queries": len(after["matches"]),  # type: ignore[arg-type]
               "queries_matched": sum(1 for m in after["matches"] if m["matches"]),  # type: ignore[union-attr]
               "same_matches": before["matches"] == after["matches"],
               "same_entries": before["entries"] == after["entries"]}
    print(json.dumps(summary, indent=1))
    return 0 if summary["same_matches"] and summary["same_entries"] else 1


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    work = Path(sys.argv[2])
    if sys.argv[1] == "make":
        make(work)
        return 0
    return check(work)


if __name__ == "__main__":
    sys.exit(main())
