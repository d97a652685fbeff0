"""One pipeline: a file's bytes (a path, bytes or a stream) -> every signal of its content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .pipeline import (
    FileResult,
    HashOptions,
    hash_blob,
    hash_bytes,
    hash_file,
    hash_files,
    hash_stream,
    video_source,
)

if TYPE_CHECKING:
    from .photo import PhotoHashes, hash_photo

__all__ = [
    "FileResult",
    "HashOptions",
    "PhotoHashes",
    "hash_blob",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "hash_photo",
    "hash_stream",
    "video_source",
]


def __getattr__(name: str) -> object:
    """The photo stack (numpy, Pillow, pdqhash) loads with its first use, not with ``import vigil``
    (PEP 562): the pipeline itself imports it when the first photo turns up."""
    if name in ("PhotoHashes", "hash_photo"):
        from . import photo

        return getattr(photo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
