"""Reading one file of the evidence, and every member of it if it is an archive (a worker's task).

A file yields :class:`Item` rows: itself first, then its members in archive order (nested
archives depth first). An item's digests are always computed; its :class:`Content` (kind by
content, perceptual signals, a decoding error) only when that content has not been seen
before in this case: each distinct file is decoded and hashed once, however many copies the
evidence holds (``seen`` answers from the case database and from this worker's own recent
work). Nothing here raises for bad evidence: every failure is an item's ``error``.

Members are read once, as a stream, into memory (up to ``IN_MEMORY`` bytes) or else into a
private temporary file that is deleted as soon as the member is hashed; the evidence itself is
opened read-only and never written.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import MediaError
from ..hashing import HashOptions
from ..media.sniff import Kind, sniff
from ..media.source import open_readonly
from ..signals import pdq, vpdq
from ..signals.digests import CHUNK, DigestAccumulator, Digests, digest_bytes, digest_stream
from ..signals.mode import Mode
from .containers import ArchiveLimits, MemberError, archive_format, iter_members
from .walk import Entry

__all__ = ["ARCHIVE", "Blob", "Content", "Item", "ReadOptions", "on_disk", "read_entry", "read_file", "spooled",
           "IN_MEMORY"]

ARCHIVE = "archive"
IN_MEMORY = 64 << 20  # members and photos up to this size are hashed from memory
_HEAD = 512  # enough for every signature, the tar magic at 257 included

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
    # Fast mode: called with a video's key-frame hashes; True when they come near a listed video
    # without matching it, and the video is then hashed again the reference way (exact mode).
    refine_video: Callable[[list[vpdq.VpdqFeature]], bool] | None = None


@dataclass
class Content:
    """What a file's bytes are: the same for every copy, so computed once per case."""

    kind: str  # image, video, archive, other
    format: str | None
    signals: dict[str, object] = field(default_factory=dict)  # pdq {hash, quality} or vpdq [frames]
    # For matching only: every PDQ query hash, (variant, hex, quality) — variants and windows
    pdq_queries: list[tuple[str, str, int]] = field(default_factory=list)
    vpdq_lines: list[str] | None = None
    error: str | None = None  # why the media could not be (fully) hashed


@dataclass
class Item:
    """One file read: a file of the evidence or a member of an archive."""

    path: str  # the file's path, or container!/member (non-UTF-8 bytes as surrogate escapes)
    parent: int | None  # index, in the same task's items, of the archive it is a member of
    name: str | None  # the member's name inside that archive
    kind: str  # image, video, archive, other or error (nothing could be read)
    size: int | None = None
    digests: Digests | None = None
    content: Content | None = None  # None when the content was seen before (or nothing was read)
    error: str | None = None  # what went wrong reading this path (per copy, unlike content.error)


class _Seen:
    """Which contents this case has hashed already: the case database, then this worker's memory."""

    def __init__(self, lookup: Callable[[str], str | None] | None) -> None:
        self._lookup = lookup
        self._recent: dict[str, str] = {}

    def kind(self, sha256: str) -> str | None:
        known = self._recent.get(sha256)
        if known is None and self._lookup is not None:
            known = self._lookup(sha256)
        return known

    def add(self, sha256: str, kind: str) -> None:
        if len(self._recent) >= 20_000:
            self._recent.clear()  # the database holds everything committed; this only bridges the gap
        self._recent[sha256] = kind


_SEEN: _Seen | None = None


def read_entry(entry: Entry, options: ReadOptions, lookup: Callable[[str], str | None] | None = None) -> list[Item]:
    """Every item of one evidence entry. ``lookup(sha256)`` gives the kind of a content already
    hashed in this case (None if new); it is called in the worker process."""
    global _SEEN
    if _SEEN is None or _SEEN._lookup is not lookup:
        _SEEN = _Seen(lookup)
    if entry.error is not None:
        kind = "other" if "symbolic link (" in entry.error else Kind.ERROR.value
        return [Item(entry.path, None, None, kind, entry.size, error=entry.error)]
    items: list[Item] = []
    try:
        blob = read_file(entry.path)
    except _NotRegular:
        return [Item(entry.path, None, None, Kind.ERROR.value, 0, error="not a regular file: not read")]
    except OSError as exc:
        return [Item(entry.path, None, None, Kind.ERROR.value, entry.size, error=f"cannot read: {exc.strerror or exc}")]
    _examine(entry.path, None, None, blob, 1, options, _SEEN, items)
    return items


class _NotRegular(OSError):
    pass


def read_file(path: str) -> Blob:
    """A file of the evidence, digested: small files are kept in memory (one read serves both)."""
    with open_readonly(path) as stream:
        st = os.fstat(stream.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular(path)
        if st.st_size <= IN_MEMORY:
            data = stream.read()
            return Blob(digest_bytes(data), data=data)
        return Blob(digest_stream(stream), path=path)


@dataclass
class Blob:
    """A file's or member's bytes, readable as often as needed: in memory or in a file on disk."""

    digests: Digests
    data: bytes | None = None
    path: str | None = None  # the evidence file itself, or a private spool file

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        return open_readonly(self.path or "")

    def head(self) -> bytes:
        if self.data is not None:
            return self.data[:_HEAD]
        with self.open() as f:
            return f.read(_HEAD)


def _examine(path: str, parent: int | None, name: str | None, blob: Blob, depth: int, options: ReadOptions,
             seen: _Seen, items: list[Item]) -> None:
    head = blob.head()
    fmt = archive_format(head)
    digests = blob.digests
    item = Item(path, parent, name, ARCHIVE if fmt else Kind.OTHER.value, digests.size, digests)
    items.append(item)
    known = seen.kind(digests.sha256)
    if fmt is not None:
        if known is None:
            item.content = Content(ARCHIVE, fmt)
            seen.add(digests.sha256, ARCHIVE)
        _read_members(item, len(items) - 1, blob, fmt, depth, options, seen, items)
        return
    if known is not None:
        item.kind = known
    else:
        item.content = _hash_content(head, blob, options)
        item.kind = item.content.kind
        seen.add(digests.sha256, item.kind)
    if item.kind == Kind.OTHER.value and digests.size > 0:
        promised = _MEDIA_SUFFIXES.get(os.path.splitext(path.rsplit("/", 1)[-1])[1].lower())
        if promised is not None:
            item.error = f"named like a {promised} but its content is not one"
    elif digests.size == 0:
        item.error = "empty file (0 bytes)"


def _hash_content(head: bytes, blob: Blob, options: ReadOptions) -> Content:
    sniffed = sniff(head[:64])
    content = Content(sniffed.kind.value, sniffed.format)
    h = options.hashing
    try:
        if sniffed.kind is Kind.IMAGE:
            source: io.BytesIO | str = io.BytesIO(blob.data) if blob.data is not None else str(blob.path)
            hashes = pdq.hash_photo_full(source, mode=h.mode, limits=h.limits, variants=h.variants,
                                         windows=h.windows)
            content.signals["pdq"] = hashes.pdq.to_json()
            content.pdq_queries = list(hashes.variants or [("original", hashes.pdq.hash, hashes.pdq.quality)])
            content.pdq_queries += hashes.windows or []
        elif sniffed.kind is Kind.VIDEO:
            with on_disk(blob, options.temp_dir) as video_path:
                _hash_video(video_path, content, options)
    except MediaError as exc:
        content.error = str(exc)
    except OSError as exc:
        content.error = f"cannot read: {exc.strerror or exc}"
    return content


def _hash_video(path: str, content: Content, options: ReadOptions) -> None:
    h = options.hashing
    features: list[vpdq.VpdqFeature] = []
    try:
        vpdq.hash_video(path, seconds_per_hash=h.seconds_per_hash, mode=h.mode, limits=h.limits,
                        threads=h.video_threads, on_feature=features.append)
        if h.mode is Mode.FAST and options.refine_video is not None and options.refine_video(features):
            exact: list[vpdq.VpdqFeature] = []
            vpdq.hash_video(path, seconds_per_hash=h.seconds_per_hash, mode=Mode.EXACT, limits=h.limits,
                            threads=h.video_threads, on_feature=exact.append)
            features = exact
            content.signals["vpdq_mode"] = "exact"
    finally:  # a damaged video still matches on the frames hashed before the damage
        content.signals["vpdq"] = [f.to_json() for f in features]
        content.vpdq_lines = [f.to_line() for f in features]


@contextlib.contextmanager
def on_disk(blob: Blob, temp_dir: str | None = None) -> Iterator[str]:
    """A path to the blob's bytes (the decoder of videos reads files)."""
    if blob.path is not None:
        yield blob.path
        return
    fd, tmp = tempfile.mkstemp(prefix="vigil-member-", dir=temp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob.data or b"")
        yield tmp
    finally:
        os.unlink(tmp)


def _read_members(item: Item, index: int, blob: Blob, fmt: str, depth: int, options: ReadOptions, seen: _Seen,
                  items: list[Item]) -> None:
    with blob.open() as stream:
        for member in iter_members(item.path, stream, fmt, limits=options.archives, depth=depth):
            name = member.path[len(item.path) + 2:] if member.path != item.path else None
            if member.error is not None:
                if name is None:  # about the archive itself: it could not be opened, or not all of it
                    item.error = member.error if item.error is None else f"{item.error}; {member.error}"
                else:
                    items.append(Item(member.path, index, name, Kind.ERROR.value, member.size or None,
                                      error=member.error))
                continue
            try:
                with spooled(member.open(), options.temp_dir) as inner:
                    _examine(member.path, index, name, inner, depth + 1, options, seen, items)
            except MemberError as exc:
                items.append(Item(member.path, index, name, Kind.ERROR.value, member.size or None,
                                  error=_member_reason(exc, member.path)))
            except OSError as exc:
                items.append(Item(member.path, index, name, Kind.ERROR.value, member.size or None,
                                  error=f"cannot spool the member: {exc.strerror or exc}"))


def _member_reason(exc: MemberError, path: str) -> str:
    text = str(exc)
    # The exception names the member for logs; the row is already the member's.
    return text[len(path):].lstrip(" :") if text.startswith(path) else text


@contextlib.contextmanager
def spooled(stream: BinaryIO, temp_dir: str | None = None) -> Iterator[Blob]:
    """A member read once: digested as it streams, kept in memory or spooled to a private file."""
    acc = DigestAccumulator()
    chunks: list[bytes] = []
    spool: BinaryIO | None = None
    spool_path: str | None = None
    try:
        with stream:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                acc.update(chunk)
                if spool is None and acc.size > IN_MEMORY:
                    fd, spool_path = tempfile.mkstemp(prefix="vigil-member-", dir=temp_dir)
                    spool = os.fdopen(fd, "wb")
                    spool.writelines(chunks)
                    chunks.clear()
                if spool is not None:
                    spool.write(chunk)
                else:
                    chunks.append(chunk)
        if spool is not None:
            spool.close()
            yield Blob(acc.result(), path=spool_path)
        else:
            yield Blob(acc.result(), data=b"".join(chunks))
    finally:
        if spool is not None:
            spool.close()
        if spool_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(spool_path)
