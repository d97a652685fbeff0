"""A list compiled for matching: exact digests, a PDQ range index and a vPDQ frame index,
cached on disk and memory-mapped, so a process answers its first query in moments.

The cache is keyed by the list's ``content_version`` (bumped when a matchable signal is
added or changed). Revocation does not bump it: revoked entries stay in the compiled
arrays and are dropped when a match is resolved against the store, so they stop
matching at once without a rebuild.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import select

from ..errors import CacheUnreadable, IndexCorrupt
from ..index.exact import ExactIndex
from ..index.pdq import PdqIndex
from ..index.vpdq import VideoFrames
from ..signals import PDQ, SIGNALS, VPDQ, IndexKind
from ..signals.views import Window, parse_frame_window
from ..signals.vpdq_type import parse_line
from ..store import Store
from ..store.schema import entries

__all__ = ["CompiledList", "compile_list", "load_compiled", "CACHE_FORMAT"]

CACHE_FORMAT = 1
_BATCH = 20_000


@dataclass
class CompiledList:
    list_id: int
    version: int
    exact: dict[str, ExactIndex] = field(default_factory=dict)
    exact_pk: dict[str, np.ndarray] = field(default_factory=dict)  # per type: input row -> entry pk
    pdq: PdqIndex | None = None
    pdq_pk: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # index row -> entry pk
    pdq_quality: np.ndarray = field(default_factory=lambda: np.empty(0, np.int16))  # -1: not known
    pdq_tag: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))  # 0: the media's own hash
    tags: list[str] = field(default_factory=lambda: [""])  # tag number -> derived label, as stored
    videos: VideoFrames | None = None
    video_pk: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @functools.cached_property
    def windows(self) -> list[Window | None]:
        """Tag number -> the window a derived label names (read once: the label is how a list stores it)."""
        return [Window.parse(tag) for tag in self.tags]

    @functools.cached_property
    def frame_windows(self) -> list[tuple[int, Window] | None]:
        """Tag number -> the (frame, window) a listed video's frame-window label names, else None."""
        return [parse_frame_window(tag) for tag in self.tags]

    @property
    def nbytes(self) -> int:
        total = sum(ix.nbytes for ix in self.exact.values()) + sum(a.nbytes for a in self.exact_pk.values())
        if self.pdq is not None:
            total += self.pdq.nbytes + self.pdq_pk.nbytes + self.pdq_quality.nbytes + self.pdq_tag.nbytes
        if self.videos is not None:
            v = self.videos
            total += v.bits.nbytes + v.quality.nbytes + v.offsets.nbytes + v.index.nbytes + v.index_frame.nbytes
            total += v.frame_video.nbytes + self.video_pk.nbytes
        return int(total)


class _Builder:
    """Accumulates a list's signals batch by batch into compact arrays."""

    def __init__(self) -> None:
        # Signal types matched by equality (md5, sha1, sha256): bytes per value, each type in an index of its own.
        self.exact_width = {s.name: (s.hex_digits or 0) // 2 for s in SIGNALS.indexed_by(IndexKind.EXACT)}
        self.exact_hex: dict[str, list[str]] = {t: [] for t in self.exact_width}
        self.exact_pk: dict[str, list[int]] = {t: [] for t in self.exact_width}
        self.pdq_chunks: list[np.ndarray] = []
        self.pdq_hex: list[str] = []
        self.pdq_pk: list[int] = []
        self.pdq_quality: list[int] = []
        self.pdq_tag: list[int] = []
        self.tags: dict[str, int] = {"": 0}
        self.frame_hex: list[str] = []
        self.frame_chunks: list[np.ndarray] = []
        self.frame_quality: list[int] = []
        self.video_lengths: list[int] = []
        self.video_pk: list[int] = []

    def add(self, pk: int, signals: list[list[object]]) -> None:
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
                self.pdq_tag.append(self.tags.setdefault(str(derived or ""), len(self.tags)))
                if len(self.pdq_hex) >= _BATCH:
                    self.pdq_chunks.append(_bits(self.pdq_hex))
                    self.pdq_hex = []
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

    def finish(self, list_id: int, version: int) -> CompiledList:
        out = CompiledList(list_id, version)
        for kind, width in self.exact_width.items():
            if self.exact_hex[kind]:
                out.exact[kind] = ExactIndex.build(self.exact_hex[kind], width)
                out.exact_pk[kind] = np.asarray(self.exact_pk[kind], dtype=np.int64)
        self.pdq_chunks.append(_bits(self.pdq_hex))
        pdq_bits = np.concatenate(self.pdq_chunks)
        if len(pdq_bits):
            index, order = PdqIndex.build(pdq_bits)
            out.pdq = index
            out.pdq_pk = np.asarray(self.pdq_pk, dtype=np.int64)[order]
            out.pdq_quality = np.asarray(self.pdq_quality, dtype=np.int16)[order]
            out.pdq_tag = np.asarray(self.pdq_tag, dtype=np.int32)[order]
            out.tags = [label for label, _ in sorted(self.tags.items(), key=lambda kv: kv[1])]
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


def _bits(hexes: list[str]) -> np.ndarray:
    if not hexes:
        return np.empty((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8).reshape(-1, 32).copy()


def compile_list(store: Store, list_id: int, version: int,
                 on_rows: Callable[[int], None] | None = None) -> CompiledList:
    """Read every entry of a list (revoked ones too: see the module docstring) and compile it."""
    builder = _Builder()
    last = -1
    with store.connect() as conn:
        while True:
            rows = conn.execute(select(entries.c.pk, entries.c.signals).where(
                entries.c.list_id == list_id, entries.c.pk > last).order_by(entries.c.pk).limit(_BATCH)).all()
            if not rows:
                break
            for pk, signals in rows:
                builder.add(pk, orjson.loads(signals))
            last = rows[-1][0]
            if on_rows is not None:
                on_rows(len(rows))
    return builder.finish(list_id, version)


# ---- the on-disk cache -------------------------------------------------------------------------

def _folder(store: Store, list_id: int, version: int) -> Path:
    return store.cache_dir / f"list-{list_id}-v{version}"


def _save(compiled: CompiledList, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        for kind, ix in compiled.exact.items():
            ix.save(tmp, kind)
            np.save(tmp / f"{kind}.pk.npy", compiled.exact_pk[kind])
        if compiled.pdq is not None:
            compiled.pdq.save(tmp / "pdq")
            for name in ("pdq_pk", "pdq_quality", "pdq_tag"):
                np.save(tmp / f"{name}.npy", getattr(compiled, name))
        if compiled.videos is not None:
            v = compiled.videos
            v.index.save(tmp / "frames")
            for name in ("bits", "quality", "offsets", "index_frame", "frame_video"):
                np.save(tmp / f"frames.{name}.npy", getattr(v, name))
            np.save(tmp / "video_pk.npy", compiled.video_pk)
        meta = {"format": CACHE_FORMAT, "list_id": compiled.list_id, "version": compiled.version,
                "exact": sorted(compiled.exact), "pdq": compiled.pdq is not None,
                "videos": compiled.videos is not None, "tags": compiled.tags}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "meta.json").is_file():  # another process built the same version: keep its copy
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: Path) -> CompiledList:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format") != CACHE_FORMAT:
            raise CacheUnreadable(f"index cache {folder} is of another format")
        out = CompiledList(meta["list_id"], meta["version"], tags=list(meta["tags"]))

        def arr(name: str) -> np.ndarray:
            loaded: np.ndarray = np.load(folder / name, mmap_mode="r")
            return loaded

        for kind in meta["exact"]:
            out.exact[kind] = ExactIndex.load(folder, kind)
            out.exact_pk[kind] = arr(f"{kind}.pk.npy")
        if meta["pdq"]:
            out.pdq = PdqIndex.load(folder / "pdq")
            out.pdq_pk, out.pdq_quality, out.pdq_tag = arr("pdq_pk.npy"), arr("pdq_quality.npy"), arr("pdq_tag.npy")
        if meta["videos"]:
            out.videos = VideoFrames(arr("frames.bits.npy"), arr("frames.quality.npy"), arr("frames.offsets.npy"),
                                     PdqIndex.load(folder / "frames"), arr("frames.index_frame.npy"),
                                     arr("frames.frame_video.npy"))
            out.video_pk = arr("video_pk.npy")
        return out
    except (OSError, ValueError, KeyError) as exc:
        raise CacheUnreadable(f"index cache {folder} is unreadable ({exc})") from exc


def load_compiled(store: Store, list_id: int, version: int,
                  on_build: Callable[[str], None] | None = None) -> CompiledList:
    """The compiled list from the cache, building (and caching) it when missing or stale."""
    folder = _folder(store, list_id, version)
    if (folder / "meta.json").is_file():
        try:
            return _load(folder)
        except IndexCorrupt:  # CacheUnreadable too
            shutil.rmtree(folder, ignore_errors=True)  # a damaged cache is rebuilt, never trusted
    if on_build is not None:
        on_build("compiling")
    compiled = compile_list(store, list_id, version)
    try:
        _save(compiled, folder)
        _prune(store, list_id, keep=folder)
    except OSError:
        pass  # a read-only cache folder costs speed next time, not correctness
    return compiled


def _prune(store: Store, list_id: int, keep: Path) -> None:
    for old in _stale(store, list_id, keep):
        shutil.rmtree(old, ignore_errors=True)


def _stale(store: Store, list_id: int, keep: Path) -> Iterator[Path]:
    if not store.cache_dir.is_dir():
        return
    for path in store.cache_dir.glob(f"list-{list_id}-v*"):
        if path != keep and ".tmp-" not in path.name:
            yield path
