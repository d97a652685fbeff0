"""Derived windows packed: entries.windows, filled from the windows kept as JSON items until now.

A media-backed entry kept each window as a JSON item of ``signals``:
``["pdq", "<64 hex>", quality, "window l12.5 t3.1 r40.0 b22.7"]`` (or ``"frame 30 window ..."`` for a
window of a video's frame). This moves every window whose label the packed layout gives back exactly
(``vigil.store.windows``) into ``windows`` and leaves the rest, and every other signal, in ``signals``.
``content_hash`` is unchanged (it is a digest of what was imported, whatever the layout).

The label grammar is this revision's own copy: what stores made by revision 0001 hold.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

from vigil.store.windows import CUT_MAX, NO_FRAME, QUALITY_UNKNOWN, WindowArrays, pack, unpack

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_BATCH = 2000
_WINDOW = re.compile(r"window l([\d.]+) t([\d.]+) r([\d.]+) b([\d.]+)( mirrored)?")
_FRAME = re.compile(r"frame (\d+) (window .*)")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _render(cuts: tuple[int, ...], mirrored: bool) -> str:
    text = "window " + " ".join(f"{side}{value / 10:.1f}" for side, value in zip("ltrb", cuts, strict=True))
    return f"{text} mirrored" if mirrored else text


def _parse(label: str) -> tuple[int, tuple[int, ...], bool] | None:
    """(frame or NO_FRAME, cuts in tenths, mirrored) when the label renders back exactly."""
    frame = NO_FRAME
    m = _FRAME.fullmatch(label)
    if m is not None:
        frame = int(m.group(1))
        if frame >= 1 << 31:
            return None
        label = m.group(2)
    w = _WINDOW.fullmatch(label)
    if w is None:
        return None
    try:
        cuts = tuple(round(float(w.group(k)) * 10) for k in range(1, 5))
    except ValueError:
        return None
    mirrored = w.group(5) is not None
    if not all(0 <= c <= CUT_MAX for c in cuts) or _render(cuts, mirrored) != label:
        return None
    return frame, cuts, mirrored


def _packable(item: Any) -> tuple[int, tuple[int, ...], bool] | None:
    if not isinstance(item, list) or len(item) < 4 or item[0] != "pdq" or not isinstance(item[3], str):
        return None
    value, quality = item[1], item[2]
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        return None
    if quality is not None and not (isinstance(quality, int) and not isinstance(quality, bool) and 0 <= quality <= 100):
        return None
    return _parse(item[3])


def _split(signals_json: str) -> tuple[str, bytes] | None:
    items = json.loads(signals_json)
    kept, hashes, quality, cuts, mirrored, frames = [], [], [], [], [], []
    for item in items:
        found = _packable(item)
        if found is None:
            kept.append(item)
            continue
        hashes.append(item[1])
        quality.append(QUALITY_UNKNOWN if item[2] is None else item[2])
        frames.append(found[0])
        cuts.append(found[1])
        mirrored.append(found[2])
    if not hashes:
        return None
    n = len(hashes)
    arrays = WindowArrays(np.frombuffer(bytes.fromhex("".join(hashes)), np.uint8).reshape(n, 32),
                          np.asarray(quality, np.int16), np.asarray(cuts, np.uint16).reshape(n, 4),
                          np.asarray(mirrored, bool), np.asarray(frames, np.int64))
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":")), pack(arrays)


_entries = sa.table("entries", sa.column("pk", sa.BigInteger), sa.column("signals", sa.Text),
                    sa.column("windows", sa.LargeBinary))


def upgrade() -> None:
    op.add_column("entries", sa.Column("windows", sa.LargeBinary, nullable=True))
    conn = op.get_bind()
    last = -1
    while True:
        rows = conn.execute(sa.select(_entries.c.pk, _entries.c.signals)
                            .where(_entries.c.pk > last, _entries.c.signals.like('%window l%'))
                            .order_by(_entries.c.pk).limit(_BATCH)).all()
        if not rows:
            break
        changes = []
        for pk, signals in rows:
            split = _split(signals)
            if split is not None:
                changes.append({"b_pk": pk, "signals": split[0], "windows": split[1]})
        if changes:
            conn.execute(_entries.update().where(_entries.c.pk == sa.bindparam("b_pk"))
                         .values(signals=sa.bindparam("signals"), windows=sa.bindparam("windows")), changes)
        last = rows[-1][0]


def downgrade() -> None:
    conn = op.get_bind()
    last = -1
    while True:
        rows = conn.execute(sa.select(_entries.c.pk, _entries.c.signals, _entries.c.windows)
                            .where(_entries.c.pk > last, _entries.c.windows.is_not(None))
                            .order_by(_entries.c.pk).limit(_BATCH)).all()
        if not rows:
            break
        changes = []
        for pk, signals, windows in rows:
            w = unpack(windows)
            items = json.loads(signals)
            hexes = w.hashes.tobytes().hex()
            for k in range(len(w)):
                label = _render(tuple(w.cuts[k].tolist()), bool(w.mirrored[k]))
                frame = int(w.frame[k])
                quality = int(w.quality[k])
                items.append(["pdq", hexes[64 * k:64 * k + 64], None if quality == QUALITY_UNKNOWN else quality,
                              label if frame == NO_FRAME else f"frame {frame} {label}"])
            changes.append({"b_pk": pk, "signals": json.dumps(items, ensure_ascii=False, separators=(",", ":"))})
        conn.execute(_entries.update().where(_entries.c.pk == sa.bindparam("b_pk"))
                     .values(signals=sa.bindparam("signals")), changes)
        last = rows[-1][0]
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("windows")
