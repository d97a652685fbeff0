"""Small pictures of the hits, for the examiner's report: one per photo, a strip of frames per video.

Made after the scan, for hits only (the least media kept), by reading each hit's first copy
again (through its archives, if it is a member). They are stored in the case database and
embedded in ``report.html``, where they stay blurred and greyscale until the examiner chooses
to reveal one. JPEG at fixed settings, so the same evidence gives byte-identical thumbnails.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageOps

from ..errors import MediaError
from ..media.limits import Limits
from ..media.photo import open_photo
from ..media.video import keyframes
from ..parallel import run_parallel
from .blobs import Blob, on_disk, read_file, spooled
from .casedb import CaseDB
from .containers import ArchiveLimits, MemberError, archive_format, iter_members

__all__ = ["make_thumbnails", "open_item", "photo_thumbnail", "pixels_thumbnail", "video_strip", "STRIP_FRAMES",
           "MAX_PICTURES"]

PHOTO_BOX = 320
FRAME_HEIGHT = 120
STRIP_FRAMES = 5
# Pictures for the first hits only: the page stays one that a browser opens (about 15 KB each);
# every hit, pictured or not, is in the report's pages, report.json and hits.csv.
MAX_PICTURES = 2000


@dataclass(frozen=True)
class _Task:
    sha256: str
    seq: int
    kind: str


def make_thumbnails(case: CaseDB, *, jobs: int | None = None, limits: Limits | None = None,
                    archives: ArchiveLimits | None = None) -> int:
    """Thumbnails for the first MAX_PICTURES hits not yet given one (resumable); returns how many were made."""
    rows = case.conn.execute(
        "SELECT sha256, seq, kind FROM (SELECT c.sha256, min(i.seq) AS seq, c.kind FROM contents c "
        "JOIN items i ON i.sha256 = c.sha256 WHERE c.matches != '[]' AND c.kind IN ('image', 'video') "
        "GROUP BY c.sha256 ORDER BY min(i.seq) LIMIT ?) WHERE sha256 NOT IN (SELECT sha256 FROM thumbs)",
        (MAX_PICTURES,)).fetchall()
    if not rows:
        return 0
    tasks = [_Task(sha, seq, kind) for sha, seq, kind in rows]
    made = 0
    results = run_parallel(_thumb, tasks, extra=(str(case.path), limits or Limits(), archives or ArchiveLimits()),
                           jobs=jobs, timeout=600.0, on_timeout=_late, on_crash=_crashed)
    for sha, data, frames, error in results:
        with case.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO thumbs (sha256, data, frames, error) VALUES (?, ?, ?, ?)",
                         (sha, data, frames, error))
        made += 1
    return made


def _late(task: _Task, seconds: float) -> tuple[str, None, int, str]:
    return task.sha256, None, 0, f"making the thumbnail took longer than {seconds:g} s"


def _crashed(task: _Task, reason: str) -> tuple[str, None, int, str]:
    return task.sha256, None, 0, f"the decoder crashed ({reason})"


def _thumb(task: _Task, case_path: str, limits: Limits, archives: ArchiveLimits) -> tuple[str, bytes | None, int,
                                                                                            str | None]:
    conn = sqlite3.connect(f"file:{quote(case_path)}?mode=ro", uri=True)
    try:
        with open_item(conn, task.seq, archives) as blob:
            if task.kind == "image":
                return task.sha256, photo_thumbnail(blob, limits), 1, None
            with on_disk(blob) as path:
                data, frames = video_strip(path, limits)
            return task.sha256, data, frames, None
    except (MediaError, MemberError, OSError, LookupError) as exc:
        return task.sha256, None, 0, str(exc)
    finally:
        conn.close()


@contextlib.contextmanager
def open_item(conn: sqlite3.Connection, seq: int, archives: ArchiveLimits) -> Iterator[Blob]:
    """The bytes of an item read again: the file itself, or the member out of its archives."""
    row = conn.execute("SELECT parent, name, path FROM items WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        raise LookupError(f"no item {seq} in the case")
    parent, name, path = row
    if parent is None:
        yield read_file(os.fsdecode(path))
        return
    container = conn.execute("SELECT path FROM items WHERE seq = ?", (parent,)).fetchone()[0]
    depth = _depth(conn, parent)
    wanted = os.fsdecode(container) + "!/" + os.fsdecode(name)
    with open_item(conn, parent, archives) as outer:
        fmt = archive_format(outer.head())
        if fmt is None:
            raise LookupError(f"{os.fsdecode(container)} is no longer an archive")
        with outer.open() as stream:
            for member in iter_members(os.fsdecode(container), stream, fmt, limits=archives, depth=depth):
                if member.path == wanted and member.opener is not None:
                    with spooled(member.open()) as inner:
                        yield inner
                    return
    raise LookupError(f"{os.fsdecode(path)} was not found again in its archive")


def _depth(conn: sqlite3.Connection, seq: int) -> int:
    depth = 1
    parent = conn.execute("SELECT parent FROM items WHERE seq = ?", (seq,)).fetchone()[0]
    while parent is not None:
        depth += 1
        parent = conn.execute("SELECT parent FROM items WHERE seq = ?", (parent,)).fetchone()[0]
    return depth


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=70, optimize=False, progressive=False)
    return out.getvalue()


_TRANSPOSE = {2: [Image.Transpose.FLIP_LEFT_RIGHT], 3: [Image.Transpose.ROTATE_180],
              4: [Image.Transpose.FLIP_TOP_BOTTOM], 5: [Image.Transpose.TRANSPOSE], 6: [Image.Transpose.ROTATE_270],
              7: [Image.Transpose.TRANSVERSE], 8: [Image.Transpose.ROTATE_90]}


def pixels_thumbnail(pixels: np.ndarray, orientation: int = 1) -> bytes:
    """A thumbnail from pixels already decoded (for hashing), turned as EXIF says a viewer shows them."""
    picture = Image.fromarray(pixels)
    for step in _TRANSPOSE.get(orientation, []):
        picture = picture.transpose(step)
    picture.thumbnail((PHOTO_BOX, PHOTO_BOX), Image.Resampling.LANCZOS)
    return _jpeg(picture)


def photo_thumbnail(blob: Blob, limits: Limits) -> bytes:
    source = io.BytesIO(blob.data) if blob.data is not None else str(blob.path)
    with open_photo(source, limits) as image:
        image.draft("RGB", (PHOTO_BOX, PHOTO_BOX))  # JPEG: decoded at the smallest scale that still covers the box
        shown = ImageOps.exif_transpose(image) or image
        shown.thumbnail((PHOTO_BOX, PHOTO_BOX), Image.Resampling.LANCZOS)
        return _jpeg(shown)


def video_strip(path: str, limits: Limits) -> tuple[bytes, int]:
    """A strip of up to STRIP_FRAMES key frames spread over the video, and how many it holds."""
    kept: list[Image.Image] = []
    stride = 1
    frames = keyframes(path, lambda w, h: max(1, min(w, h) // (FRAME_HEIGHT * 2)), limits, frame_threads=False)
    for seen, frame in enumerate(frames):
        if seen % stride == 0:
            picture = Image.fromarray(frame.rgb())
            picture.thumbnail((FRAME_HEIGHT * 4, FRAME_HEIGHT), Image.Resampling.LANCZOS)
            kept.append(picture)
            if len(kept) >= 4 * STRIP_FRAMES:  # keep the memory small: thin out evenly
                kept = kept[::2]
                stride *= 2
    if not kept:
        raise MediaError("no frame could be decoded for the thumbnail")
    step = len(kept) / min(STRIP_FRAMES, len(kept))
    chosen = [kept[int(i * step)] for i in range(min(STRIP_FRAMES, len(kept)))]
    strip = Image.new("RGB", (sum(p.width for p in chosen) + 4 * (len(chosen) - 1), FRAME_HEIGHT), (0, 0, 0))
    x = 0
    for picture in chosen:
        strip.paste(picture, (x, (FRAME_HEIGHT - picture.height) // 2))
        x += picture.width + 4
    return _jpeg(strip), len(chosen)
