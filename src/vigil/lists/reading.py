"""Reading a hash-list file into rows ready to store, hashing the file as it goes.

A large file is read in a second process: parsing and encoding records there while
this process writes the database keeps two cores busy (a million-entry VICS file imports
in two thirds of the time, measured). Rows come back in batches through a pipe, whose
buffer bounds the memory held between the two. Any error in the reader (a malformed
record, an unreadable file) is raised here, where the import's transaction rolls back.
"""

from __future__ import annotations

import gc
import hashlib
import io
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, BinaryIO

from ..errors import InputUnusable, VigilError
from ..evidence.sources import display_path, open_readonly
from ..run import default_jobs, die_with_parent
from .formats import ReadNotes, ReadOptions, get_format
from .rows import BATCH, Row, prepared_batches

__all__ = ["FileRows", "PIPELINE_BYTES"]

# Files from this size are read in a second process (when there is a second core): below it
# the process start costs more than it saves.
PIPELINE_BYTES = 32 << 20


class _HashingReader(io.RawIOBase):
    """Reads a file once for its records and its sha256 (the import's provenance)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self.sha256.update(buffer[:n])
            self.size += n
        return int(n or 0)


def _messages(path: str, fmt_name: str, signal: str | None) -> Iterator[tuple[object, ...]]:
    """Read ``path``: ("rows", batch, bytes read since) messages, then ("done", sha256, size,
    notes, bytes). The same steps whether run here or in the reader process."""
    name = display_path(path)
    try:
        raw = open_readonly(path)
    except OSError as exc:
        raise InputUnusable(f"cannot open {name}: {exc.strerror or exc}") from exc
    with raw:
        reader = _HashingReader(raw)
        stream = io.BufferedReader(reader, buffer_size=1 << 20)
        notes = ReadNotes()
        records = get_format(fmt_name).read(stream, source=name, options=ReadOptions(signal=signal), notes=notes)
        told = 0
        try:
            for batch in prepared_batches(records, BATCH):
                yield ("rows", batch, reader.size - told)
                told = reader.size
            stream.read()  # whatever follows the last record still belongs to the file's hash
        except OSError as exc:
            raise InputUnusable(f"cannot read {name}: {exc.strerror or exc}") from exc
        yield ("done", reader.sha256.hexdigest(), reader.size, dict(notes.skipped), reader.size - told)


def _child(path: str, fmt_name: str, signal: str | None, conn: Connection) -> None:
    # A killed importer (the service's import process, say) takes its reader with it: the reader holds
    # the pipe's other end too, so it would never see the pipe break and wait on it for ever.
    die_with_parent()
    # Records are acyclic and freed by reference counting; the cycle collector would only rescan
    # the batch being built, again and again (15% of the reader's time, measured).
    gc.disable()
    try:
        for message in _messages(path, fmt_name, signal):
            conn.send(message)
    except VigilError as exc:
        conn.send(("error", exc))
    except BrokenPipeError:
        pass  # the importing process gave up (its own error): nothing to tell
    finally:
        conn.close()


class FileRows:
    """Rows of a hash-list file, batch by batch; afterwards its sha256, size and skip notes.

    Use as a context manager: leaving it stops a reader process that is still running.
    """

    def __init__(self, path: str | os.PathLike[str], fmt_name: str, *, signal: str | None = None,
                 on_bytes: Callable[[int], None] | None = None, pipeline: bool | None = None) -> None:
        self.path = os.fspath(path)
        self.fmt_name = fmt_name
        self.signal = signal
        self.on_bytes = on_bytes
        self.sha256: str | None = None
        self.size = 0
        self.notes: dict[str, int] = {}
        if pipeline is None:
            pipeline = default_jobs() > 1 and os.path.getsize(self.path) >= PIPELINE_BYTES
        self._proc: mp.process.BaseProcess | None = None
        self._conn: Connection | None = None
        if pipeline:
            # fork: the child needs nothing re-imported; the caller starts no thread before this
            ctx: Any = mp.get_context("fork" if os.name == "posix" else "spawn")
            self._conn, child_end = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(self.path, fmt_name, signal, child_end), daemon=True,
                                     name="vigil-list-reader")
            self._proc.start()
            child_end.close()

    def __enter__(self) -> FileRows:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def batches(self) -> Iterator[list[Row]]:
        """The rows, batch by batch (raises the reader's error where it occurred)."""
        source = self._received() if self._conn is not None else _messages(self.path, self.fmt_name, self.signal)
        for message in source:
            batch = self._take(message)
            if batch is None:
                return
            yield batch

    def _received(self) -> Iterator[tuple[object, ...]]:
        conn = self._conn
        while conn is not None:
            try:
                yield conn.recv()
            except EOFError:
                raise InputUnusable(f"reading {display_path(self.path)} stopped unexpectedly "
                                    "(the reader process ended without a result)") from None

    def _take(self, message: tuple[object, ...]) -> list[Row] | None:
        kind = message[0]
        if kind == "error":
            error = message[1]
            raise error if isinstance(error, BaseException) else InputUnusable(str(error))
        nbytes = message[-1]
        if self.on_bytes is not None and isinstance(nbytes, int) and nbytes:
            self.on_bytes(nbytes)
        if kind == "rows":
            return message[1]  # type: ignore[return-value]
        self.sha256 = str(message[1])
        self.size = int(message[2])  # type: ignore[call-overload]
        self.notes = dict(message[3])  # type: ignore[call-overload]
        return None
