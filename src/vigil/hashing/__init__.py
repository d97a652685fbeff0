"""One pipeline: a file's bytes (a path, bytes or a stream) -> every signal of its content."""

from __future__ import annotations

from .photo import PhotoHashes, hash_photo
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
