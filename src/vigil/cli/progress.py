"""A progress bar on stderr for long runs; silent for pipes and ``--quiet``.

Rich's progress machinery loads only when a bar is drawn: a piped ``vigil hash`` does without.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

__all__ = ["ByteProgress", "FileProgress"]

if TYPE_CHECKING:
    from rich.progress import Progress


class FileProgress:
    """Counts files, bytes and errors against known totals."""

    def __init__(self, *, total_files: int, total_bytes: int, enabled: bool) -> None:
        self.errors = 0
        self.files = 0
        self._progress: Progress | None = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]hashing"),
                BarColumn(),
                TextColumn(f"{{task.fields[files]}}/{total_files} files"),
                DownloadColumn(),
                TransferSpeedColumn(),
                TextColumn("{task.fields[errors]} errors"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._progress.add_task("hash", total=max(total_bytes, 1), files=0, errors=0)

    def __enter__(self) -> FileProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()

    def advance(self, nbytes: int, *, error: bool = False) -> None:
        self.errors += int(error)
        self.files += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=nbytes, files=self.files, errors=self.errors)


class ByteProgress:
    """Bytes of one file read against its size (an import).

    The bar (and its drawing thread) starts at the first advance, so a caller may fork
    a worker inside the ``with`` block before any thread exists.
    """

    def __init__(self, label: str, *, total: int, enabled: bool) -> None:
        self._progress: Progress | None = None
        self._started = False
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(TextColumn(f"[bold]{label}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                                      console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task(label, total=max(total, 1))

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None and self._started:
            self._progress.stop()

    def advance(self, amount: int) -> None:
        if self._progress is not None:
            if not self._started:
                self._progress.start()
                self._started = True
            self._progress.update(self._task, advance=amount)
