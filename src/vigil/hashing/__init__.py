"""One pipeline: a file's bytes (a path, bytes or a stream) -> every signal of its content."""

from __future__ import annotations

from .pipeline import FileResult, HashOptions, hash_file, hash_files

__all__ = ["FileResult", "HashOptions", "hash_file", "hash_files"]
