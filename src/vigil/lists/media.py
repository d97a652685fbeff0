"""``add-media``: hash media an agency holds into a list, one entry per file.

A listed photo gets its exact PDQ (what the field's lists carry) and, because Vigil
holds the medium here rather than a hash someone sent, the derived hashes that find
edited copies plain PDQ misses (see ``vigil.signals.variants`` for what they are and
BENCHMARKS.md for what they buy). A video gets vPDQ at one frame a second, as the
reference tools make it, and the anchored windows of each of those frames, so that cropped
copies are found (bench/results/video_recall.md). Every file gets md5, sha1 and sha256.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..evidence.sources import display_path
from ..evidence.walk import walk_paths
from ..hashing import FileResult, HashOptions, hash_files
from ..media.sniff import Kind
from ..run import default_jobs
from ..signals import PDQ, VPDQ
from ..signals.mode import Mode
from ..store import Store
from .catalog import ListKind
from .importing import import_records
from .model import Record, Signal
from .settings import ListSettings

__all__ = ["AddMediaResult", "MediaProgress", "add_media", "record_for", "entry_id_for"]


class MediaProgress(Protocol):
    """What add_media reports as it goes (the CLI draws a bar from it)."""

    def begin(self, files: int, nbytes: int) -> None: ...

    def advance(self, nbytes: int, *, error: bool = False) -> None: ...

    def end(self) -> None: ...


@dataclass
class AddMediaResult:
    list_name: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, why it was not added)
    missing: list[str] = field(default_factory=list)  # named paths that could not be opened

    def summary(self) -> str:
        text = (f"{self.list_name}: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.errors)} not added")
        for path, why in self.errors[:20]:
            text += f"\n  {path}: {why}"
        if len(self.errors) > 20:
            text += f"\n  … and {len(self.errors) - 20} more"
        return text


def entry_id_for(path: str) -> str:
    """A file's entry id: its name without the extension (``IMG0001.jpg`` → ``IMG0001``)."""
    name = os.path.basename(display_path(path))
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def record_for(result: FileResult, *, category: str | None = None, scheme: str | None = None) -> Record:
    """The list entry for one hashed file (which must be a photo or video without error)."""
    signals: list[Signal] = []
    if result.digests is not None:
        signals += [Signal.of(name, value) for name, value in result.digests.as_dict().items()]
    if result.pdq is not None:
        signals.append(Signal.of(PDQ.name, result.pdq.hash, result.pdq.quality))
    for d in result.pdq_derived or ():
        signals.append(Signal.of(PDQ.name, d.hash, d.quality, derived=d.derived))
    if result.vpdq:
        signals.append(Signal.of(VPDQ.name, "\n".join(f.to_line() for f in result.vpdq)))
    for w in result.vpdq_derived or ():  # windows of the video's frames: cropped copies find them
        signals.append(Signal.of(PDQ.name, w.hash, w.quality, derived=w.derived))
    metadata: dict[str, object] = {"file_name": os.path.basename(display_path(result.path)),
                                   "kind": result.kind.value, "size": result.size}
    return Record(entry_id_for(result.path), signals, category, scheme if category is not None else None, metadata)


def add_media(
    store: Store,
    list_name: str,
    paths: Sequence[str],
    *,
    source: str | None = None,
    kind: ListKind | None = None,
    settings: ListSettings | Mapping[str, object] | None = None,
    category: str | None = None,
    category_scheme: str | None = None,
    jobs: int | None = None,
    progress: MediaProgress | None = None,
) -> AddMediaResult:
    """Hash ``paths`` (files and folders) into ``list_name``; a file that is not a photo or
    video, or cannot be decoded, is reported and left out; nothing else stops the run."""
    result = AddMediaResult(list_name)
    found = list(walk_paths(list(paths)))
    result.missing = [display_path(f.path) for f in found if f.error and f.path in paths]
    options = HashOptions(mode=Mode.EXACT, seconds_per_hash=1.0, derived=True)
    seen: dict[str, str] = {}

    def records() -> Iterator[Record]:
        hashed = hash_files((f.path for f in found if not f.error), options, jobs=jobs or default_jobs())
        if progress is not None:
            progress.begin(len(found), sum(f.size for f in found))
        try:
            yield from _records(hashed)
        finally:
            if progress is not None:
                progress.end()

    def _records(hashed: Iterator[FileResult]) -> Iterator[Record]:
        for f in found:
            if f.error:
                result.errors.append((display_path(f.path), f.error))
                if progress is not None:
                    progress.advance(0, error=True)
                continue
            r = next(hashed)
            if progress is not None:
                progress.advance(r.size or 0, error=r.error is not None)
            why = _unusable(r)
            entry_id = entry_id_for(r.path)
            if why is None and entry_id in seen:
                why = f"entry id {entry_id!r} is taken by {seen[entry_id]} (ids are file names without extension)"
            if why is not None:
                result.errors.append((display_path(r.path), why))
                continue
            seen[entry_id] = display_path(r.path)
            yield record_for(r, category=category, scheme=category_scheme)

    imported = import_records(store, list_name, records(), action="add-media", source=source, kind=kind,
                              settings=settings)
    result.added, result.updated, result.unchanged = imported.added, imported.updated, imported.unchanged
    return result


def _unusable(r: FileResult) -> str | None:
    if r.kind not in (Kind.IMAGE, Kind.VIDEO):
        return r.error or f"not a photo or video ({r.kind.value})"
    if r.error:
        return r.error  # a damaged medium is not listed: its hashes would describe the damage
    if r.kind is Kind.VIDEO and not r.vpdq:
        return "no frame could be hashed"
    return None
