"""The bytes of a file or an archive member, digested once and readable again while it is examined.

Small ones (up to ``IN_MEMORY``) are kept in memory; a larger evidence file is read again where
it lies (read-only); a larger member is spooled to a private temporary file, deleted as soon as
it has been examined. Nothing is ever written into the evidence.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..errors import NotRegular
from ..signals.digests import CHUNK, DigestAccumulator, Digests, digest_bytes, digest_stream
from .sources import open_readonly

__all__ = ["IN_MEMORY", "HEAD", "Blob", "read_file", "spooled"]

HEAD = 512  # enough for every signature, the tar magic at 257 included
# Up to this size a file's bytes are read once into memory: digests and decoding share one read.
IN_MEMORY = 64 << 20


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
            return self.data[:HEAD]
        with self.open() as f:
            return f.read(HEAD)


def read_file(path: str) -> Blob:
    """A file of the evidence, digested: small files are kept in memory (one read serves both)."""
    with open_readonly(path) as stream:
        st = os.fstat(stream.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(path)
        if st.st_size <= IN_MEMORY:
            data = stream.read()
            return Blob(digest_bytes(data), data=data)
        return Blob(digest_stream(stream), path=path)


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
