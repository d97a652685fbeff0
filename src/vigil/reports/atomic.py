"""Files written whole or not at all, with the sha256 of what was written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["AtomicFile"]


class AtomicFile:
    """Write ``path`` through a temporary file beside it; rename over it on success, so a reader sees
    the old file or the new one, never half of one. ``sha256`` covers every byte written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.part")
        self.sha256 = hashlib.sha256()

    def __enter__(self) -> AtomicFile:
        self._f: BinaryIO = open(self.tmp, "wb")
        return self

    def write(self, data: bytes) -> None:
        self.sha256.update(data)
        self._f.write(data)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._f.close()
            self.tmp.unlink(missing_ok=True)
            return
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self.tmp, self.path)
