"""Reading one file of the evidence, and every member of it if it is an archive (a worker's task).

A file yields :class:`Item` rows: itself first, then its members in archive order (nested
archives depth first), in parts (:class:`EntryRows`) that the executor streams to the scan's
main process. A task (:class:`ReadTask`) and its parts are plain values: what a worker keeps
between tasks is its :class:`ReadContext`, built in each worker from a :class:`ReadSpec`. An
item's digests are always computed; its :class:`Content` (kind by content, perceptual signals,
matches, a picture of a hit, a decoding error) only when that content has not been seen before
in this case: each distinct file is decoded, hashed and matched once, however many copies the
evidence holds (``seen`` answers from the case database, where the worker can read it, and from
this worker's own recent work). Nothing here raises for bad evidence: every failure is an
item's ``error``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import MediaError, MemberError, NotRegular
from ..evidence.blobs import Blob, read_file, spooled
from ..evidence.containers import ArchiveLimits, archive_format, iter_members
from ..evidence.walk import Entry
from ..hashing import FileResult, HashOptions, hash_blob, video_source
from ..media.sniff import Kind
from ..media.thumbs import photo_thumbnail, pixels_thumbnail, video_strip
from ..signals import PDQ, vpdq
from ..signals.guided import WindowProbe
from ..signals.mode import Mode
from ..signals.variants import Variant
from ..signals.views import ORIGINAL
from .casedb import ContentLookup
from .checking import ListCheck

__all__ = ["ARCHIVE", "Content", "EntryRows", "Item", "ReadContext", "ReadOptions", "ReadSpec", "ReadTask",
           "read_entry"]

ARCHIVE = "archive"

# Names that promise media: when the content is not media, the report says so (renamed,
# encrypted or wiped files are what an examiner looks for).
_MEDIA_SUFFIXES = {
    ".jpg": "photo", ".jpeg": "photo", ".png": "photo", ".gif": "photo", ".bmp": "photo", ".webp": "photo",
    ".heic": "photo", ".heif": "photo", ".tif": "photo", ".tiff": "photo",
    ".mp4": "video", ".m4v": "video", ".mov": "video", ".avi": "video", ".mkv": "video", ".webm": "video",
    ".wmv": "video", ".flv": "video", ".mpg": "video", ".mpeg": "video", ".3gp": "video", ".ts": "video",
}


@dataclass(frozen=True)
class ReadOptions:
    hashing: HashOptions = field(default_factory=HashOptions)
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
    temp_dir: str | None = None  # where members too big for memory are spooled (private, deleted at once)
    check: ListCheck | None = None  # the lists; None: hash only
    pictures: bool = True  # a thumbnail (photo) or frame strip (video) of each new hit


@dataclass
class Content:
    """What a file's bytes are: the same for every copy, so computed once per case."""

    kind: str  # image, video, archive, other
    format: str | None
    signals: dict[str, object] = field(default_factory=dict)  # pdq {hash, quality} or vpdq [frames]
    error: str | None = None  # why the media could not be (fully) hashed
    matches: list[dict[str, Any]] = field(default_factory=list)  # block lists: the hits
    allowed: list[dict[str, Any]] = field(default_factory=list)  # allow lists: known benign
    picture: bytes | None = None  # JPEG of a hit: a thumbnail, or a strip of frames
    picture_frames: int = 0
    picture_error: str | None = None


@dataclass
class Item:
    """One file read: a file of the evidence or a member of an archive."""

    path: str  # the file's path, or container!/member (non-UTF-8 bytes as surrogate escapes)
    parent: int | None  # index, in the same task's items, of the archive it is a member of
    name: str | None  # the member's name inside that archive
    kind: str  # image, video, archive, other or error (nothing could be read)
    size: int | None = None
    digests: Any = None  # Digests, or None when nothing could be read
    content: Content | None = None  # None when the content was seen before (or nothing was read)
    error: str | None = None  # what went wrong reading this path (per copy, unlike content.error)


@dataclass(frozen=True)
class ReadTask:
    """One unit of a scan's work, a plain value: an evidence entry from the walk (a file to read, or a
    row that says why it is not read). The scan makes one per entry today; a task for a part of a
    file (one member of a huge archive, a byte range of a disk image) would add its fields here:
    the executor carries any plain value, and rows are numbered within their task (the scan would
    link such a task's first row to its container's)."""

    entry: Entry


@dataclass
class EntryRows:
    """A part of one evidence entry's items, in order: up to ``PART`` of them (an archive of many
    members, archives of archives, comes in many parts, so that neither the worker nor the scan's
    main process holds them all), and errors learnt late about rows of earlier parts (an archive's,
    once its members are read)."""

    PART: ClassVar[int] = 2000

    items: list[Item] = field(default_factory=list)
    amends: list[tuple[int, str]] = field(default_factory=list)  # (index of the row in its entry, error)


class _Parts:
    """An entry's items as they are read, cut into parts."""

    def __init__(self) -> None:
        self.part = EntryRows()
        self.sent = 0  # rows in parts already given out

    def __len__(self) -> int:
        return self.sent + len(self.part.items)

    def append(self, item: Item) -> Iterator[EntryRows]:
        self.part.items.append(item)
        if len(self.part.items) >= EntryRows.PART:
            yield self.take()

    def add_error(self, index: int, error: str) -> None:
        """Add to an earlier row's error (an archive's, learnt after its members were read)."""
        if index < self.sent:
            self.part.amends.append((index, error))
            return
        row = self.part.items[index - self.sent]
        row.error = error if row.error is None else f"{row.error}; {error}"

    def take(self) -> EntryRows:
        part, self.part = self.part, EntryRows()
        self.sent += len(part.items)
        return part


class _Seen:
    """Which contents this case has hashed already: the case database, then this worker's memory."""

    def __init__(self, lookup: Callable[[str], str | None] | None) -> None:
        self.lookup = lookup
        self._recent: dict[str, str] = {}

    def kind(self, sha256: str) -> str | None:
        known = self._recent.get(sha256)
        if known is None and self.lookup is not None:
            known = self.lookup(sha256)
        return known

    def add(self, sha256: str, kind: str) -> None:
        if len(self._recent) >= 20_000:
            self._recent.clear()  # the database holds everything committed; this only bridges the gap
        self._recent[sha256] = kind


@dataclass
class ReadContext:
    """What a worker keeps from task to task: the options, and which contents it knows."""

    options: ReadOptions
    seen: _Seen

    def close(self) -> None:
        if self.options.check is not None:
            self.options.check.close()
        if isinstance(self.seen.lookup, ContentLookup):
            self.seen.lookup.close()


@dataclass(frozen=True)
class ReadSpec:
    """What a worker builds its :class:`ReadContext` from (a plain value). ``case_db``: the case
    database, read-only, to ask which contents were hashed already; None where the workers cannot
    see it (another machine): they then hash every content they meet, and the scan keeps the first."""

    options: ReadOptions
    case_db: str | None = None

    def build(self) -> ReadContext:
        if self.options.check is not None:
            self.options.check.ready()
        return ReadContext(self.options, _Seen(ContentLookup(self.case_db) if self.case_db is not None else None))


def read_entry(context: ReadContext, task: ReadTask) -> Iterator[EntryRows]:
    """Every item of one evidence entry, in parts (a worker's task)."""
    entry = task.entry
    options = context.options
    if entry.error is not None:
        kind = Kind.OTHER.value if entry.link else Kind.ERROR.value  # a link is read: as a link
        yield EntryRows([Item(entry.path, None, None, kind, entry.size, error=entry.error)])
        return
    try:
        blob = read_file(entry.path)
    except NotRegular:
        yield EntryRows([Item(entry.path, None, None, Kind.ERROR.value, 0, error="not a regular file: not read")])
        return
    except OSError as exc:
        yield EntryRows([Item(entry.path, None, None, Kind.ERROR.value, entry.size,
                              error=f"cannot read: {exc.strerror or exc}")])
        return
    items = _Parts()
    yield from _examine(entry.path, None, None, blob, 1, options, context.seen, items)
    if items.part.items or items.part.amends:
        yield items.take()


def _examine(path: str, parent: int | None, name: str | None, blob: Blob, depth: int, options: ReadOptions,
             seen: _Seen, items: _Parts) -> Iterator[EntryRows]:
    head = blob.head()
    fmt = archive_format(head)
    digests = blob.digests
    item = Item(path, parent, name, ARCHIVE if fmt else Kind.OTHER.value, digests.size, digests)
    index = len(items)
    known = seen.kind(digests.sha256)
    if known is not None:
        item.kind = known
    elif fmt is not None:
        item.content = Content(ARCHIVE, fmt)
        _check(item.content, blob, [], None, options)  # an archive's own digests may be listed
    else:
        item.content = _hash_content(blob, options)
        item.kind = item.content.kind
    if known is None:
        seen.add(digests.sha256, item.kind)
    if fmt is None and item.kind == Kind.OTHER.value and digests.size > 0:
        promised = _MEDIA_SUFFIXES.get(os.path.splitext(path.rsplit("/", 1)[-1])[1].lower())
        if promised is not None:
            item.error = f"named like a {promised} but its content is not one"
    elif fmt is None and digests.size == 0:
        item.error = "empty file (0 bytes)"
    yield from items.append(item)
    if fmt is not None:
        yield from _read_members(item, index, blob, fmt, depth, options, seen, items)


def _hash_content(blob: Blob, options: ReadOptions) -> Content:
    """Hash a new content through the public pipeline and check it against the lists."""
    h = dataclasses.replace(options.hashing, keep_pixels=options.pictures and options.check is not None)
    result = hash_blob(blob, h)
    content = Content(result.kind.value, result.format)
    if result.kind is Kind.IMAGE:
        content.error = result.error
        if result.pdq is None:
            _check(content, blob, [], None, options)  # not decoded: its digests may still be listed
            return content
        content.signals[PDQ.name] = result.pdq.to_json()
        queries = list(result.pdq_variants or [Variant(ORIGINAL, result.pdq.hash, result.pdq.quality)])
        queries += result.pdq_windows or []
        _check(content, blob, queries, None, options, pixels=(result.pixels, result.orientation), probe=result.probe)
    elif result.kind is Kind.VIDEO:
        _check_video(blob, result, content, options)
    else:
        _check(content, blob, [], None, options)  # other content: its digests may be listed
    return content


def _check_video(blob: Blob, result: FileResult, content: Content, options: ReadOptions) -> None:
    """Check a hashed video, as is and in its views (mirrored, trimmed to the picture inside bars)
    and by its frames' windows (against lists made from media). In fast mode, a video whose key
    frames come near a listed video without matching it is hashed again the reference way: its key
    frames may simply fall between the frames the list holds (a re-encoded copy), and the reference
    frames then decide. The frames hashed before damage stopped the decoder are checked too."""
    features = result.vpdq or []
    views, windows = result.vpdq_views or [], result.vpdq_windows or []
    content.error = result.error
    _check(content, blob, [], features, options, video=(views, windows))
    check, h = options.check, options.hashing
    if (result.error is None and h.mode is Mode.FAST and check is not None and not content.matches
            and not content.allowed and check.video_undecided(features, views)):
        exact = hash_blob(blob, dataclasses.replace(h, mode=Mode.EXACT))
        if exact.error is None:
            features = exact.vpdq or []
            views, windows = exact.vpdq_views or [], exact.vpdq_windows or []
            content.signals["vpdq_mode"] = "exact"
        else:
            content.error = exact.error
        _check(content, blob, [], features, options, video=(views, windows))
    content.signals[vpdq.NAME] = [f.to_json() for f in features]


def _check(content: Content, blob: Blob, queries: list[Variant],
           features: list[vpdq.VpdqFeature] | None, options: ReadOptions,
           video: tuple[list[vpdq.VideoView], list[vpdq.FrameWindow]] | None = None,
           pixels: tuple[Any, int] | None = None, probe: WindowProbe | None = None) -> None:
    if options.check is None:
        return
    views, windows = video if video is not None else ([], [])
    content.matches, content.allowed = options.check.check(blob.digests.as_dict(), queries, features, views,
                                                           windows, probe)
    if content.matches and options.pictures and content.kind in (Kind.IMAGE.value, Kind.VIDEO.value):
        try:
            if content.kind == Kind.IMAGE.value and pixels is not None and pixels[0] is not None:
                content.picture, content.picture_frames = pixels_thumbnail(*pixels), 1
            elif content.kind == Kind.IMAGE.value:
                content.picture, content.picture_frames = photo_thumbnail(
                    blob.data if blob.data is not None else str(blob.path), options.hashing.limits), 1
            elif video is not None:
                content.picture, content.picture_frames = video_strip(video_source(blob), options.hashing.limits)
            content.picture_error = None
        except (MediaError, OSError) as exc:
            content.picture_error = f"no picture: {exc}"


def _read_members(item: Item, index: int, blob: Blob, fmt: str, depth: int, options: ReadOptions, seen: _Seen,
                  items: _Parts) -> Iterator[EntryRows]:
    with blob.open() as stream:
        for member in iter_members(item.path, stream, fmt, limits=options.archives, depth=depth):
            name = member.path[len(item.path) + 2:] if member.path != item.path else None
            if member.error is not None:
                if name is None:  # about the archive itself: it could not be opened, or not all of it
                    items.add_error(index, member.error)
                else:
                    yield from items.append(Item(member.path, index, name, Kind.ERROR.value,
                                                 member.size or None, error=member.error))
                continue
            try:
                with spooled(member.open(), options.temp_dir) as inner:
                    yield from _examine(member.path, index, name, inner, depth + 1, options, seen, items)
            except MemberError as exc:
                yield from items.append(Item(member.path, index, name, Kind.ERROR.value, member.size or None,
                                             error=exc.reason))  # the row is the member's: the reason alone
            except OSError as exc:
                yield from items.append(Item(member.path, index, name, Kind.ERROR.value, member.size or None,
                                             error=f"cannot spool the member: {exc.strerror or exc}"))
