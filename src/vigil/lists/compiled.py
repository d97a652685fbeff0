"""A list compiled for matching: exact digests, a PDQ range index and a vPDQ frame index,
saved in a folder and memory-mapped, so a process answers its first query in moments.

A compiled list is either the whole list at a ``content_version`` (bumped when a matchable signal is
added or changed), or a delta: the entries changed since a whole one was compiled
(``vigil.lists.segments`` keeps both in the cache and decides which to build). Revocation does not bump
the version: revoked entries stay in the compiled arrays and are dropped when a match is resolved
against the store, so they stop matching at once without compiling anything.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import orjson
from sqlalchemy import Connection, Row, select

from ..errors import CacheUnreadable, IndexCorrupt, UsageError
from ..index.exact import ExactIndex
from ..index.pdq import PdqIndex
from ..index.vpdq import VideoFrames
from ..signals import PDQ, SIGNALS, VPDQ, IndexKind
from ..signals.views import Window, frame_window_label, parse_frame_window
from ..signals.vpdq_type import parse_line
from ..store import Store
from ..store.schema import entries
from ..store.windows import WindowArrays, unpack
from .windows import window_of

__all__ = ["ByTag", "CompiledList", "compile_list", "load_folder", "save_folder", "CACHE_FORMAT"]

# 4: entries counted, deltas; 3: photo windows' rows by entry; 2: a PDQ row's window packed in its tag
# (1: labels as text)
CACHE_FORMAT = 4
_BATCH = 20_000
_CHUNK = 900  # pks a query names (SQLite allows 999 parameters in old builds)

# A PDQ row's tag says what the row's hash is of, in one uint64 (no label text: a list from media has
# a label for nearly every window, as many as it has rows). 0: the media's own hash. Otherwise the top
# two bits say which kind: a window of a photo (its four cuts in tenths of a percent in bits 0-39, 10
# bits each from the left; bit 40 set when mirrored), a window of a video's frame (the same, and the
# frame's number in bits 41-61), or another derived label (its number in ``labels``).
_KIND_SHIFT = 62
_WINDOW, _FRAME_WINDOW, _OTHER = 1, 2, 3
_MIRRORED_BIT = 40
_FRAME_SHIFT = 41
_FRAME_LIMIT = 1 << (_KIND_SHIFT - _FRAME_SHIFT)
_CUT = (1 << 10) - 1

T = TypeVar("T")


class ByTag(Generic[T]):
    """What a row's tag (``pdq_tag[row]``) says, decoded when asked: ``comp.windows[tag]``."""

    __slots__ = ("_decode", "_memo")

    def __init__(self, decode: Callable[[int], T]) -> None:
        self._decode = decode
        self._memo: dict[int, T] = {}

    def __getitem__(self, tag: int | np.integer) -> T:
        key = int(tag)
        try:
            return self._memo[key]
        except KeyError:
            if len(self._memo) >= 1 << 16:
                self._memo.clear()
            value = self._memo[key] = self._decode(key)
            return value

    def __iter__(self) -> Iterator[T]:
        raise UsageError("tags are not numbered from 0: look one up by a row's pdq_tag "
                        "(CompiledList.has_windows says whether there are any)")


def _tag_window(tag: int) -> tuple[int, Window] | None:
    """(frame or -1, window) a window's tag packs; None for any other tag."""
    kind = tag >> _KIND_SHIFT
    if kind not in (_WINDOW, _FRAME_WINDOW):
        return None
    cuts = [(tag >> shift) & _CUT for shift in (0, 10, 20, 30)]
    frame = (tag >> _FRAME_SHIFT) & (_FRAME_LIMIT - 1) if kind == _FRAME_WINDOW else -1
    return frame, window_of(cuts, bool(tag >> _MIRRORED_BIT & 1))


@dataclass
class CompiledList:
    list_id: int
    version: int
    entries: int = 0  # how many entries were compiled (revoked ones too)
    # A delta: the version of the whole compiled list it goes with, and the entries it holds (sorted pks),
    # whose rows in that one are out of date. None and empty for a whole list.
    since: int | None = None
    covers: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    exact: dict[str, ExactIndex] = field(default_factory=dict)
    exact_pk: dict[str, np.ndarray] = field(default_factory=dict)  # per type: input row -> entry pk
    pdq: PdqIndex | None = None
    pdq_pk: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # index row -> entry pk (int32 or 64)
    pdq_quality: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # -1: not known
    pdq_tag: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))  # 0: the media's own hash (see _KIND)
    labels: list[str] = field(default_factory=list)  # derived labels no tag packs, by number
    has_windows: bool = False  # some row is a window of a photo
    has_frame_windows: bool = False  # some row is a window of a video's frame
    videos: VideoFrames | None = None
    video_pk: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    # The rows of photos' windows grouped by entry (``window_rows_of``): the entries, in order, and where
    # each one's rows start in ``window_rows``.
    window_pks: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    window_starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    window_rows: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def window_rows_of(self, pk: int) -> np.ndarray:
        """The PDQ rows of entry ``pk``'s photo windows (none for an entry without)."""
        k = int(np.searchsorted(self.window_pks, pk))
        if k == len(self.window_pks) or int(self.window_pks[k]) != pk:
            return np.empty(0, np.int64)
        return np.asarray(self.window_rows[int(self.window_starts[k]) : int(self.window_starts[k + 1])])

    def _label(self, tag: int) -> str:
        if tag == 0:
            return ""
        if tag >> _KIND_SHIFT == _OTHER:
            return self.labels[tag & ((1 << _KIND_SHIFT) - 1)]
        found = _tag_window(tag)
        if found is None:
            raise IndexCorrupt(f"compiled list {self.list_id}: a PDQ row's tag {tag:#x} is of no kind")
        frame, window = found
        return window.label if frame < 0 else frame_window_label(frame, window)

    def _window(self, tag: int) -> Window | None:
        if tag >> _KIND_SHIFT == _OTHER:
            return Window.parse(self._label(tag))
        found = _tag_window(tag)
        return found[1] if found is not None and found[0] < 0 else None

    def _frame_window(self, tag: int) -> tuple[int, Window] | None:
        if tag >> _KIND_SHIFT == _OTHER:
            return parse_frame_window(self._label(tag))
        found = _tag_window(tag)
        return found if found is not None and found[0] >= 0 else None

    @functools.cached_property
    def tags(self) -> ByTag[str]:
        """Tag -> the derived label a list stores ("" for the media's own hash)."""
        return ByTag(self._label)

    @functools.cached_property
    def windows(self) -> ByTag[Window | None]:
        """Tag -> the window of a photo it names, else None."""
        return ByTag(self._window)

    @functools.cached_property
    def frame_windows(self) -> ByTag[tuple[int, Window] | None]:
        """Tag -> the (frame, window) of a listed video's frame it names, else None."""
        return ByTag(self._frame_window)

    @property
    def nbytes(self) -> int:
        total = sum(ix.nbytes for ix in self.exact.values()) + sum(a.nbytes for a in self.exact_pk.values())
        if self.pdq is not None:
            total += self.pdq.nbytes + self.pdq_pk.nbytes + self.pdq_quality.nbytes + self.pdq_tag.nbytes
        if self.videos is not None:
            v = self.videos
            total += v.bits.nbytes + v.quality.nbytes + v.offsets.nbytes + v.index.nbytes + v.index_frame.nbytes
            total += v.frame_video.nbytes + self.video_pk.nbytes
        total += self.window_pks.nbytes + self.window_starts.nbytes + self.window_rows.nbytes
        return int(total)


class _Builder:
    """Accumulates a list's signals batch by batch into compact arrays."""

    def __init__(self) -> None:
        # Signal types matched by equality (md5, sha1, sha256): bytes per value, each type in an index of its own.
        self.exact_width = {s.name: (s.hex_digits or 0) // 2 for s in SIGNALS.indexed_by(IndexKind.EXACT)}
        self.exact_hex: dict[str, list[str]] = {t: [] for t in self.exact_width}
        self.exact_pk: dict[str, list[int]] = {t: [] for t in self.exact_width}
        # PDQ rows: JSON items gather in lists, packed windows arrive as arrays; both go to chunks in order.
        self.pdq_chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._consolidated = 0
        self.pdq_hex: list[str] = []
        self.pdq_pk: list[int] = []
        self.pdq_quality: list[int] = []
        self.pdq_tag: list[int] = []
        self.labels: dict[str, int] = {}
        self.frame_hex: list[str] = []
        self.frame_chunks: list[np.ndarray] = []
        self.frame_quality: list[int] = []
        self.video_lengths: list[int] = []
        self.video_pk: list[int] = []

    def _tag(self, derived: object) -> int:
        """The tag of a derived label kept as a JSON item (one the store could not pack)."""
        if derived is None or derived == "":
            return 0
        label = str(derived)
        number = self.labels.setdefault(label, len(self.labels))
        return _OTHER << _KIND_SHIFT | number

    def _flush(self) -> None:
        if self.pdq_hex:
            self.pdq_chunks.append((_bits(self.pdq_hex), np.asarray(self.pdq_pk, np.int64),
                                    np.asarray(self.pdq_quality, np.int16), np.asarray(self.pdq_tag, np.uint64)))
            self.pdq_hex, self.pdq_pk, self.pdq_quality, self.pdq_tag = [], [], [], []

    def consolidate(self) -> None:
        """One chunk of what the batch added (two small arrays an entry otherwise: a million of them
        for a list of a million photos)."""
        self._flush()
        fresh = self.pdq_chunks[self._consolidated:]
        if len(fresh) > 1:
            self.pdq_chunks[self._consolidated:] = [
                tuple(np.concatenate([c[k] for c in fresh]) for k in range(4))]  # type: ignore[list-item]
        self._consolidated = len(self.pdq_chunks)

    def add(self, pk: int, signals: list[list[object]], windows: bytes | None = None) -> None:
        for item in signals:
            kind = str(item[0])
            value = str(item[1])
            if kind in self.exact_hex:
                self.exact_hex[kind].append(value)
                self.exact_pk[kind].append(pk)
            elif kind == PDQ.name:
                quality = item[2] if len(item) > 2 else None
                derived = item[3] if len(item) > 3 else None
                self.pdq_hex.append(value)
                self.pdq_pk.append(pk)
                self.pdq_quality.append(-1 if quality is None else int(quality))  # type: ignore[call-overload]
                self.pdq_tag.append(self._tag(derived))
                if len(self.pdq_hex) >= _BATCH:
                    self._flush()
            elif kind == VPDQ.name:
                lines = value.splitlines()
                for line in lines:
                    feature = parse_line(line)
                    self.frame_hex.append(feature.hash)
                    self.frame_quality.append(feature.quality)
                if len(self.frame_hex) >= _BATCH:
                    self.frame_chunks.append(_bits(self.frame_hex))
                    self.frame_hex = []
                self.video_lengths.append(len(lines))
                self.video_pk.append(pk)
        if windows is not None:
            self._flush()
            w = unpack(windows)
            self.pdq_chunks.append((w.hashes, np.full(len(w), pk, np.int64), w.quality, self._window_tags(w)))

    def _window_tags(self, w: WindowArrays) -> np.ndarray:
        cuts = w.cuts.astype(np.uint64)
        geometry = (cuts[:, 0] | cuts[:, 1] << np.uint64(10) | cuts[:, 2] << np.uint64(20)
                    | cuts[:, 3] << np.uint64(30) | w.mirrored.astype(np.uint64) << np.uint64(_MIRRORED_BIT))
        frame = w.frame
        tags: np.ndarray = np.where(frame >= 0, np.uint64(_FRAME_WINDOW << _KIND_SHIFT)
                                    | (np.maximum(frame, 0).astype(np.uint64) << np.uint64(_FRAME_SHIFT)),
                                    np.uint64(_WINDOW << _KIND_SHIFT)) | geometry
        for k in np.flatnonzero(frame >= _FRAME_LIMIT).tolist():  # past the tag's frame bits: kept as a label
            tags[k] = self._tag(frame_window_label(int(frame[k]), window_of(w.cuts[k].tolist(), bool(w.mirrored[k]))))
        return tags

    def finish(self, list_id: int, version: int) -> CompiledList:
        out = CompiledList(list_id, version)
        for kind, width in self.exact_width.items():
            if self.exact_hex[kind]:
                out.exact[kind] = ExactIndex.build(self.exact_hex[kind], width)
                out.exact_pk[kind] = np.asarray(self.exact_pk[kind], dtype=np.int64)
        self._flush()
        if self.pdq_chunks:
            pdq_bits = np.concatenate([c[0] for c in self.pdq_chunks])
            pks = np.concatenate([c[1] for c in self.pdq_chunks])
            quality = np.concatenate([c[2] for c in self.pdq_chunks])
            tags = np.concatenate([c[3] for c in self.pdq_chunks])
            self.pdq_chunks = []
            index, order = PdqIndex.build(pdq_bits)
            del pdq_bits
            out.pdq = index
            out.pdq_pk = pks.astype(np.int32 if int(pks.max()) < 1 << 31 else np.int64)[order]
            out.pdq_quality = quality.astype(np.int8)[order]
            out.pdq_tag = tags[order]
            out.labels = [label for label, _ in sorted(self.labels.items(), key=lambda kv: kv[1])]
            kinds = set((np.unique(tags >> np.uint64(_KIND_SHIFT))).tolist())
            out.has_windows = _WINDOW in kinds or any(Window.parse(label) for label in out.labels)
            out.has_frame_windows = _FRAME_WINDOW in kinds or any(parse_frame_window(label) for label in out.labels)
            if out.has_windows:
                _group_windows(out)
        self.frame_chunks.append(_bits(self.frame_hex))
        frame_bits = np.concatenate(self.frame_chunks)
        if len(frame_bits):
            index, order = PdqIndex.build(frame_bits)
            offsets = np.zeros(len(self.video_lengths) + 1, dtype=np.int64)
            np.cumsum(self.video_lengths, out=offsets[1:])
            frame_video = np.repeat(np.arange(len(self.video_lengths), dtype=np.int32), self.video_lengths)
            out.videos = VideoFrames(frame_bits, np.asarray(self.frame_quality, dtype=np.int16), offsets, index,
                                     np.asarray(order, dtype=np.int64), frame_video)
            out.video_pk = np.asarray(self.video_pk, dtype=np.int64)
        return out


def _group_windows(out: CompiledList) -> None:
    """Fill ``out``'s rows of photo windows by entry, for ``window_rows_of``."""
    tags = out.pdq_tag
    is_window = (tags >> np.uint64(_KIND_SHIFT)) == _WINDOW
    other = np.flatnonzero((tags >> np.uint64(_KIND_SHIFT)) == _OTHER)
    if len(other):  # windows kept as label text (lists compiled from rows stored before windows were packed)
        labelled = np.unique(tags[other])
        windows = [t for t in labelled.tolist() if out.windows[t] is not None]
        is_window[other] = np.isin(tags[other], np.array(windows, np.uint64))
    rows = np.flatnonzero(is_window)
    width = np.int32 if len(tags) < 1 << 31 else np.int64
    rows = rows[np.argsort(out.pdq_pk[rows], kind="stable")].astype(width)
    pks = np.asarray(out.pdq_pk[rows])
    out.window_pks, starts = np.unique(pks, return_index=True)
    out.window_starts = np.append(starts, len(rows)).astype(np.int64)
    out.window_rows = rows


def _bits(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.empty((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32).copy()


def compile_list(store: Store, list_id: int, version: int, *, since: int | None = None,
                 pks: np.ndarray | None = None, on_rows: Callable[[int], None] | None = None) -> CompiledList:
    """Compile every entry of a list (revoked ones too: see the module docstring), or, given ``pks``
    (sorted), those entries only: the delta since version ``since``."""
    builder = _Builder()
    count = 0
    with store.connect() as conn:
        for rows in _rows(conn, list_id, pks):
            for pk, signals, windows in rows:
                builder.add(pk, orjson.loads(signals), windows)
            builder.consolidate()
            count += len(rows)
            if on_rows is not None:
                on_rows(len(rows))
    out = builder.finish(list_id, version)
    out.entries = count
    if pks is not None:
        out.since, out.covers = since, np.asarray(pks, np.int64)
    return out


def _rows(conn: Connection, list_id: int, pks: np.ndarray | None) -> Iterator[Sequence[Row[Any, Any, Any]]]:
    columns = (entries.c.pk, entries.c.signals, entries.c.windows)
    if pks is not None:
        for start in range(0, len(pks), _CHUNK):
            chunk = [int(pk) for pk in pks[start:start + _CHUNK]]
            yield conn.execute(select(*columns).where(entries.c.pk.in_(chunk)).order_by(entries.c.pk)).all()
        return
    last = -1
    while True:
        rows = conn.execute(select(*columns).where(entries.c.list_id == list_id, entries.c.pk > last)
                            .order_by(entries.c.pk).limit(_BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


# ---- the on-disk cache -------------------------------------------------------------------------

def save_folder(compiled: CompiledList, folder: Path) -> None:
    """Save a compiled list in ``folder`` (written beside it, then renamed: never half there)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        for kind, ix in compiled.exact.items():
            ix.save(tmp, kind)
            np.save(tmp / f"{kind}.pk.npy", compiled.exact_pk[kind])
        if compiled.pdq is not None:
            compiled.pdq.save(tmp / "pdq")
            for name in ("pdq_pk", "pdq_quality", "pdq_tag", "window_pks", "window_starts", "window_rows"):
                np.save(tmp / f"{name}.npy", getattr(compiled, name))
        if compiled.videos is not None:
            v = compiled.videos
            v.index.save(tmp / "frames")
            for name in ("bits", "quality", "offsets", "index_frame", "frame_video"):
                np.save(tmp / f"frames.{name}.npy", getattr(v, name))
            np.save(tmp / "video_pk.npy", compiled.video_pk)
        if compiled.since is not None:
            np.save(tmp / "covers.npy", compiled.covers)
        meta = {"format": CACHE_FORMAT, "list_id": compiled.list_id, "version": compiled.version,
                "exact": sorted(compiled.exact), "pdq": compiled.pdq is not None,
                "videos": compiled.videos is not None, "labels": compiled.labels,
                "entries": compiled.entries, "since": compiled.since,
                "has_windows": compiled.has_windows, "has_frame_windows": compiled.has_frame_windows}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # another process built the same version: keep its copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_folder(folder: Path) -> CompiledList:
    """A compiled list saved by ``save_folder``, memory-mapped (CacheUnreadable when it is not whole)."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != CACHE_FORMAT:
            raise CacheUnreadable(f"index cache {folder} is of another format")
        out = CompiledList(meta["list_id"], meta["version"], labels=list(meta["labels"]),
                           has_windows=bool(meta["has_windows"]), has_frame_windows=bool(meta["has_frame_windows"]),
                           entries=int(meta["entries"]), since=meta["since"])

        def arr(name: str) -> np.ndarray:
            loaded: np.ndarray = np.load(folder / name, mmap_mode="r")
            return loaded

        for kind in meta["exact"]:
            out.exact[kind] = ExactIndex.load(folder, kind)
            out.exact_pk[kind] = arr(f"{kind}.pk.npy")
        if meta["pdq"]:
            out.pdq = PdqIndex.load(folder / "pdq")
            out.pdq_pk, out.pdq_quality, out.pdq_tag = arr("pdq_pk.npy"), arr("pdq_quality.npy"), arr("pdq_tag.npy")
            out.window_pks, out.window_starts = arr("window_pks.npy"), arr("window_starts.npy")
            out.window_rows = arr("window_rows.npy")
        if meta["videos"]:
            out.videos = VideoFrames(arr("frames.bits.npy"), arr("frames.quality.npy"), arr("frames.offsets.npy"),
                                     PdqIndex.load(folder / "frames"), arr("frames.index_frame.npy"),
                                     arr("frames.frame_video.npy"))
            out.video_pk = arr("video_pk.npy")
        if out.since is not None:
            out.covers = arr("covers.npy")
        return out
    except (OSError, ValueError, KeyError) as exc:
        raise CacheUnreadable(f"index cache {folder} is unreadable ({exc})") from exc
