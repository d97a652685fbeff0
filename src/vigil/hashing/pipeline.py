"""One pipeline: a file's bytes (a path, bytes or a stream) -> every signal of its content.

``vigil hash``, ``vigil match``, ``lists add-media`` and the scan's workers all hash through
:func:`hash_blob`; :func:`hash_file`, :func:`hash_bytes` and :func:`hash_stream` make the blob from
what they are given, and the same content gives the same result whichever way it came (a photo or
video given as bytes is decoded from memory, never written anywhere). A bad file becomes a result
with an ``error``, never an exception that ends the run.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from ..errors import MediaError, NotMedia, NotRegular
from ..evidence.blobs import Blob, read_file, spooled
from ..evidence.sources import display_path
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.sniff import HEAD_BYTES, Kind, sniff
from ..run import default_jobs, run_parallel
from ..signals import PDQ, VPDQ
from ..signals.digests import Digests, digest_bytes
from ..signals.mode import Mode

if TYPE_CHECKING:
    import numpy as np

    from ..signals import pdq, vpdq
    from ..signals.guided import WindowProbe
    from ..signals.variants import DerivedHash, Variant
    from ..signals.vpdq import FrameDerived, FrameWindow, VideoView

__all__ = ["HashOptions", "FileResult", "hash_blob", "hash_bytes", "hash_file", "hash_files", "hash_stream",
           "video_source"]


@dataclass(frozen=True)
class HashOptions:
    mode: Mode = Mode.FAST
    seconds_per_hash: float = 1.0
    limits: Limits = DEFAULT_LIMITS
    dihedral: bool = False
    variants: bool = False  # query expansion: mirrored, rotated and border-trimmed hashes of each photo;
    # a video's mirrored and bar-trimmed views
    derived: bool = False  # media-backed lists: the extra hashes that find edited copies (photos' and frames' windows)
    windows: bool = False  # queries against media-backed lists: the photo's (or each video frame's) anchored windows
    # With ``windows``, a photo's in two steps: the first now, the rest when the matcher asks for them through the
    # result's probe (only in the process that hashed it: a scan worker, which matches what it hashes)
    windows_in_steps: bool = False
    video_threads: int | None = None  # threads hashing one video's frames (None: one per core)
    keep_pixels: bool = False  # keep a photo's decoded pixels in the result (to draw a thumbnail of a hit)


@dataclass
class FileResult:
    path: str  # as given (non-UTF-8 bytes kept as surrogate escapes)
    kind: Kind
    size: int | None = None
    digests: Digests | None = None
    pdq: pdq.PdqHash | None = None
    pdq_dihedral: dict[str, str] | None = None
    pdq_variants: list[Variant] | None = None  # query variants, the original first
    pdq_derived: list[DerivedHash] | None = None  # a listed photo's windows
    pdq_windows: list[Variant] | None = None  # a query photo's windows
    vpdq: list[vpdq.VpdqFeature] | None = None
    vpdq_views: list[VideoView] | None = None  # with ``variants``: the video mirrored, trimmed to its picture
    vpdq_windows: list[FrameWindow] | None = None  # with ``windows``: a video's frame windows
    vpdq_derived: list[FrameDerived] | None = None  # with ``derived``: the frame windows a list stores
    error: str | None = None
    format: str | None = field(default=None, compare=False)
    # With HashOptions.keep_pixels: the pixels a photo was hashed from, and the EXIF orientation (1-8)
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)
    orientation: int = field(default=1, compare=False, repr=False)
    # With HashOptions.windows, a photo's: kept for guided windows when it is matched (signals.guided)
    probe: WindowProbe | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        signals: dict[str, object] = {}
        if self.digests is not None:
            signals.update(self.digests.as_dict())
        if self.pdq is not None:
            signals[PDQ.name] = self.pdq.to_json()
        if self.pdq_dihedral is not None:
            signals["pdq_dihedral"] = self.pdq_dihedral
        if self.vpdq is not None:
            signals[VPDQ.name] = [f.to_json() for f in self.vpdq]
        return {
            "path": display_path(self.path),
            "kind": self.kind.value,
            "size": self.size,
            "signals": signals,
            "error": self.error,
        }

    def signal_lines(self) -> Iterator[str]:
        """``<type> <value>`` lines, the ThreatExchange signal-file form."""
        if self.digests is not None:
            for name, value in self.digests.as_dict().items():
                yield f"{name} {value}"
        if self.pdq is not None:
            yield f"{PDQ.name} {self.pdq.hash}"
        if self.pdq_dihedral is not None:
            for name, value in self.pdq_dihedral.items():
                if name != "original":
                    yield f"{PDQ.name} {value} {name}"
        for feature in self.vpdq or ():
            yield f"{VPDQ.name} {feature.to_line()}"


def _describe_os_error(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc}"


def hash_file(path: str, options: HashOptions = HashOptions()) -> FileResult:
    """Every signal for one file, opened read-only. Never raises for a bad file: see ``error``."""
    try:
        blob = read_file(path)
    except NotRegular:
        return FileResult(path, Kind.ERROR, error="not a regular file")
    except OSError as exc:
        return FileResult(path, Kind.ERROR, error=_describe_os_error(exc))
    return hash_blob(blob, options, name=path)


def hash_bytes(data: bytes, options: HashOptions = HashOptions(), *, name: str = "") -> FileResult:
    """Every signal of content held in memory (an upload, a fetched file); ``name`` labels the result."""
    return hash_blob(Blob(digest_bytes(data), data=data), options, name=name)


def hash_stream(stream: BinaryIO, options: HashOptions = HashOptions(), *, name: str = "",
                temp_dir: str | None = None) -> FileResult:
    """Every signal of a stream's content, read once (past 64 MiB spooled to a private temporary
    file in ``temp_dir``, deleted when hashed); the stream is closed."""
    try:
        with spooled(stream, temp_dir) as blob:
            return hash_blob(blob, options, name=name)
    except OSError as exc:
        return FileResult(name, Kind.ERROR, error=_describe_os_error(exc))


def hash_blob(blob: Blob, options: HashOptions = HashOptions(), *, name: str = "") -> FileResult:
    """Every signal of a blob's content: digests (already computed), and PDQ of a photo or vPDQ of
    a video. Never raises for bad content: see ``error``."""
    try:
        sniffed = sniff(blob.head()[:HEAD_BYTES])
    except OSError as exc:
        return FileResult(name, Kind.ERROR, error=_describe_os_error(exc))
    result = FileResult(name, sniffed.kind, size=blob.digests.size, digests=blob.digests, format=sniffed.format)
    try:
        _hash_media(result, blob, options)
    except MediaError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = _describe_os_error(exc)
    return result


def _hash_media(result: FileResult, blob: Blob, options: HashOptions) -> None:
    if result.size == 0:
        raise NotMedia("empty file (0 bytes)")
    # The photo and video stacks (numba, Pillow, PyAV) load with the first content that needs them:
    # ``import vigil`` and a run over photos alone never pay for the other.
    if result.kind is Kind.IMAGE:
        from .photo import hash_photo

        hashes = hash_photo(blob.data if blob.data is not None else str(blob.path), mode=options.mode,
                            limits=options.limits, dihedral=options.dihedral, variants=options.variants,
                            derived=options.derived, windows=options.windows,
                            windows_in_steps=options.windows_in_steps, keep_pixels=options.keep_pixels)
        result.pdq = hashes.pdq
        result.pdq_dihedral = hashes.dihedral
        result.pdq_variants = hashes.variants
        result.pdq_derived = hashes.derived
        result.pdq_windows = hashes.windows
        result.pixels, result.orientation = hashes.pixels, hashes.orientation
        result.probe = hashes.probe
    elif result.kind is Kind.VIDEO:
        from ..signals import vpdq

        video = vpdq.VideoHashes()
        result.vpdq = video.features  # filled as frames are hashed: a damaged video keeps what came before the damage
        try:
            vpdq.hash_video_views(video_source(blob), seconds_per_hash=options.seconds_per_hash, mode=options.mode,
                                  limits=options.limits, threads=options.video_threads, views=options.variants,
                                  windows=options.windows, derived=options.derived, into=video)
        finally:
            result.vpdq_views = video.views if options.variants else None
            result.vpdq_windows = video.windows if options.windows else None
            result.vpdq_derived = video.derived if options.derived else None
    else:
        raise NotMedia(f"not a photo or video (content looks like {result.format})")


def video_source(blob: Blob) -> str | BinaryIO:
    """What the video decoder reads a blob from."""
    # The decoder reads a file on disk itself; bytes in memory it reads through a stream.
    return blob.path if blob.path is not None else io.BytesIO(blob.data or b"")


def _timeout_result(path: str, seconds: float) -> FileResult:
    return FileResult(path, Kind.ERROR, error=f"decoding took longer than {seconds:g} s; stopped")


def _crash_result(path: str, reason: str) -> FileResult:
    return FileResult(path, Kind.ERROR, error=f"decoder crashed ({reason})")


_PHOTOS_WITHOUT_NUMBA = 100  # per worker: more, and the kernels pay for their start-up


def hash_files(
    paths: Iterable[str],
    options: HashOptions = HashOptions(),
    *,
    jobs: int | None = None,
) -> Iterator[FileResult]:
    """Hash files on ``jobs`` processes (default: every core), results in input order.

    Each file runs in a worker process under a hard time limit: a decoder that hangs
    or crashes costs that file only. The workers start in this call; results come
    as the returned iterator is read.
    """
    # Videos keep one hashing thread per core even beside other workers: measured, the
    # oversubscription costs less than a lone long video left on one core at the end.
    from ..signals import pdq

    jobs = jobs or default_jobs()
    # Numba's kernels cost 0.4 s to load and save about 2 ms a photo in fast mode (_pdqfast): a run
    # of a few photos does without them; a longer one, or one that needs them anyway, loads them here,
    # before the workers fork, so that they inherit them.
    paths = iter(paths)
    head = list(itertools.islice(paths, _PHOTOS_WITHOUT_NUMBA * jobs))
    pdq.warm_up(kernels=options.mode is Mode.EXACT or options.variants or options.derived or options.windows
                or len(head) == _PHOTOS_WITHOUT_NUMBA * jobs)
    return run_parallel(
        hash_file,
        itertools.chain(head, paths),
        extra=(options,),
        jobs=jobs,
        timeout=options.limits.max_seconds + 30.0,
        on_timeout=_timeout_result,
        on_crash=_crash_result,
    )
