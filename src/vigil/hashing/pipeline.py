"""Hash one file (every signal its content supports) or many, in parallel.

This is the library behind ``vigil hash``: a bad file becomes a result with an
``error``, never an exception that ends the run.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import MediaError, NotMedia
from ..evidence.blobs import IN_MEMORY
from ..evidence.sources import display_path, open_readonly
from ..media.limits import DEFAULT_LIMITS, Limits
from ..media.sniff import HEAD_BYTES, Kind, sniff
from ..run import default_jobs, run_parallel
from ..signals import pdq, vpdq
from ..signals.digests import Digests, digest_bytes, digest_stream
from ..signals.mode import Mode

__all__ = ["HashOptions", "FileResult", "hash_file", "hash_files", "IN_MEMORY"]



@dataclass(frozen=True)
class HashOptions:
    mode: Mode = Mode.FAST
    seconds_per_hash: float = 1.0
    limits: Limits = DEFAULT_LIMITS
    dihedral: bool = False
    variants: bool = False  # query expansion: mirrored, rotated and border-trimmed hashes of each photo
    derived: bool = False  # media-backed lists: the extra hashes that find edited copies
    windows: bool = False  # queries against media-backed lists: the photo's anchored windows
    video_threads: int | None = None  # threads hashing one video's frames (None: one per core)


@dataclass
class FileResult:
    path: str  # as given (non-UTF-8 bytes kept as surrogate escapes)
    kind: Kind
    size: int | None = None
    digests: Digests | None = None
    pdq: pdq.PdqHash | None = None
    pdq_dihedral: dict[str, str] | None = None
    pdq_variants: list[tuple[str, str, int]] | None = None  # (name, hex, quality), "original" first
    pdq_derived: list[tuple[str, str, int]] | None = None  # (label, hex, quality)
    pdq_windows: list[tuple[str, str, int]] | None = None  # (name, hex, quality)
    vpdq: list[vpdq.VpdqFeature] | None = None
    error: str | None = None
    format: str | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, object]:
        signals: dict[str, object] = {}
        if self.digests is not None:
            signals.update(self.digests.as_dict())
        if self.pdq is not None:
            signals[pdq.NAME] = self.pdq.to_json()
        if self.pdq_dihedral is not None:
            signals["pdq_dihedral"] = self.pdq_dihedral
        if self.vpdq is not None:
            signals[vpdq.NAME] = [f.to_json() for f in self.vpdq]
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
            yield f"{pdq.NAME} {self.pdq.hash}"
        if self.pdq_dihedral is not None:
            for name, value in self.pdq_dihedral.items():
                if name != "original":
                    yield f"{pdq.NAME} {value} {name}"
        for feature in self.vpdq or ():
            yield f"{vpdq.NAME} {feature.to_line()}"


def _describe_os_error(exc: OSError) -> str:
    return f"cannot read: {exc.strerror or exc}"


def hash_file(path: str, options: HashOptions = HashOptions()) -> FileResult:
    """Every signal for one file. Never raises for a bad file: see ``error``."""
    try:
        with open_readonly(path) as stream:
            st = os.fstat(stream.fileno())
            if not stat.S_ISREG(st.st_mode):
                return FileResult(path, Kind.ERROR, error="not a regular file")
            head = stream.read(HEAD_BYTES)
            sniffed = sniff(head)
            result = FileResult(path, sniffed.kind, size=st.st_size, format=sniffed.format)
            data: bytes | None = None
            if sniffed.kind is Kind.IMAGE and st.st_size <= IN_MEMORY:
                data = head + stream.read()
                result.digests = digest_bytes(data)
            else:
                stream.seek(0)
                result.digests = digest_stream(stream)
            result.size = result.digests.size
    except OSError as exc:
        return FileResult(path, Kind.ERROR, error=_describe_os_error(exc))
    try:
        _hash_media(result, path, data, options)
    except MediaError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = _describe_os_error(exc)
    return result


def _hash_media(result: FileResult, path: str, data: bytes | None, options: HashOptions) -> None:
    if result.size == 0:
        raise NotMedia("empty file (0 bytes)")
    if result.kind is Kind.IMAGE:
        source: io.BytesIO | str = io.BytesIO(data) if data is not None else path
        hashes = pdq.hash_photo_full(source, mode=options.mode, limits=options.limits, dihedral=options.dihedral,
                                     variants=options.variants, derived=options.derived, windows=options.windows)
        result.pdq = hashes.pdq
        result.pdq_dihedral = hashes.dihedral
        result.pdq_variants = hashes.variants
        result.pdq_derived = hashes.derived
        result.pdq_windows = hashes.windows
    elif result.kind is Kind.VIDEO:
        features: list[vpdq.VpdqFeature] = []
        result.vpdq = features
        vpdq.hash_video(path, seconds_per_hash=options.seconds_per_hash, mode=options.mode,
                        limits=options.limits, threads=options.video_threads, on_feature=features.append)
    else:
        raise NotMedia(f"not a photo or video (content looks like {result.format})")


def _timeout_result(path: str, seconds: float) -> FileResult:
    return FileResult(path, Kind.ERROR, error=f"decoding took longer than {seconds:g} s; stopped")


def _crash_result(path: str, reason: str) -> FileResult:
    return FileResult(path, Kind.ERROR, error=f"decoder crashed ({reason})")


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
    pdq.warm_up()  # before the workers fork: they inherit the compiled code
    return run_parallel(
        hash_file,
        paths,
        extra=(options,),
        jobs=jobs or default_jobs(),
        timeout=options.limits.max_seconds + 30.0,
        on_timeout=_timeout_result,
        on_crash=_crash_result,
    )
