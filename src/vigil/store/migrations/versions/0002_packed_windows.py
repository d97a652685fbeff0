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
# The labels revision 0001's stores hold as Vigil rendered them: no leading zeros, one decimal. Any other
# text (a label given through the library, say "l12.50") is left as a JSON item, as it was.
_LABEL = re.compile(r"(?:frame (0|[1-9]\d{0,9}) )?window l(0|[1-9]\d{0,2})\.(\d) t(0|[1-9]\d{0,2})\.(\d) "
                    r"r(0|[1-9]\d{0,2})\.(\d) b(0|[1-9]\d{0,2})\.(\d)( mirrored)?")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _render(cuts: tuple[int, ...], mirrored: bool) -> str:
    text = "window " + " ".join(f"{side}{value / 10:.1f}" for side, value in zip("ltrb", cuts, strict=True))
    return f"{text} mirrored" if mirrored else text


_LINES = re.compile(f"^{_LABEL.pattern}$", re.MULTILINE)


def _parse(labels: list[str]) -> list[tuple[int, tuple[int, ...], bool] | None]:
    """(frame or NO_FRAME, cuts in tenths, mirrored) of each label the packed layout gives back exactly."""
    text = "\n".join(labels)
    found: list[tuple[str, ...] | None] = []
    if labels and text.count("\n") == len(labels) - 1:
        found = list(_LINES.findall(text))
    if len(found) != len(labels):
        found = [None if m is None else m.groups(default="") for m in map(_LABEL.fullmatch, labels)]
    out: list[tuple[int, tuple[int, ...], bool] | None] = []
    for g in found:
        if g is None:
            out.append(None)
            continue
        cuts = (int(g[1] + g[2]), int(g[3] + g[4]), int(g[5] + g[6]), int(g[7] + g[8]))
        frame = int(g[0]) if g[0] else NO_FRAME
        out.append((frame, cuts, g[9] != "") if max(cuts) <= CUT_MAX and frame < 1 << 31 else None)
    return out


def _candidate(item: Any) -> bool:
    if not isinstance(item, list) or len(item) < 4 or item[0] != "pdq" or type(item[3]) is not str:
        return False
    value, quality = item[1], item[2]
    return (type(value) is str and _HEX64.fullmatch(value) is not None
            and (quality is None or (type(quality) is int and 0 <= quality <= 100)))


def _split(signals_json: str) -> tuple[str, bytes] | None:
    items = json.loads(signals_json)
    candidates = [k for k, item in enumerate(items) if _candidate(item)]
    parsed = _parse([items[k][3] for k in candidates])
    chosen = [(k, p) for k, p in zip(candidates, parsed, strict=True) if p is not None]
    if not chosen:
        return None
    packed = {k for k, _ in chosen}
    kept = [item for k, item in enumerate(items) if k not in packed]
    n = len(chosen)
    hashes = bytes.fromhex("".join(items[k][1] for k, _ in chosen))
    quality = [QUALITY_UNKNOWN if items[k][2] is None else items[k][2] for k, _ in chosen]
    arrays = WindowArrays(np.frombuffer(hashes, np.uint8).reshape(n, 32), np.array(quality, np.int16),
                          np.array([p[1] for _, p in chosen], np.uint16).reshape(n, 4),
                          np.array([p[2] for _, p in chosen], bool), np.array([p[0] for _, p in chosen], np.int64))
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
