"""Vigil: find known abuse media wherever it turns up.

The library is the product; the ``vigil`` command is a thin layer over it.

    >>> from vigil import hash_file
    >>> result = hash_file("photo.jpg")            # doctest: +SKIP
    >>> result.pdq.hash, result.digests.md5        # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    CorruptMedia,
    DecodeTimeout,
    InputUnusable,
    MediaError,
    MediaTooLarge,
    NotMedia,
    UsageError,
    VigilError,
)
from .hashing import FileResult, HashOptions, hash_bytes, hash_file, hash_files, hash_stream
from .media.limits import Limits
from .media.sniff import Kind
from .signals.mode import Mode

__all__ = [
    "CorruptMedia",
    "DecodeTimeout",
    "FileResult",
    "HashOptions",
    "InputUnusable",
    "Kind",
    "Limits",
    "MediaError",
    "MediaTooLarge",
    "Mode",
    "NotMedia",
    "UsageError",
    "VigilError",
    "__version__",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "hash_stream",
]
