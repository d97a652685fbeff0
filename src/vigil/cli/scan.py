"""``vigil scan EVIDENCE…``: triage of seized storage into a case folder of reports."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..errors import UsageError
from ..evidence.containers import ArchiveLimits
from ..evidence.sources import display_path
from ..hashing import HashOptions
from ..media.limits import Limits
from ..scan.progress import ScanProgress
from ..signals.mode import Mode
from .common import db_option, open_store

__all__ = ["ScanBar", "scan_command"]

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID


class _Tally(ScanProgress):
    """Files, bytes, hits and errors so far, and the time left once the evidence is sized (bytes of
    evidence files are the measure; bytes already done by an interrupted run do not count for the rate)."""

    def __init__(self) -> None:
        self.files = self.hits = self.errors = 0
        self.done = self.first_done = 0
        self.total: int | None = None  # set from the thread that sizes the evidence
        self.t0 = time.monotonic()

    def started(self, resumed_entries: int, resumed_bytes: int) -> None:
        self.done = self.first_done = resumed_bytes

    def counted(self, files: int, size: int, finished: bool) -> None:
        if finished:
            self.total = size

    def advanced(self, items: int, nbytes: int, hits: int, errors: int) -> None:
        self.files += items
        self.hits += hits
        self.errors += errors
        self.done += nbytes

    def seconds_left(self) -> float | None:
        """None until the evidence is sized and some bytes are done."""
        rate = (self.done - self.first_done) / max(time.monotonic() - self.t0, 1e-3)
        if self.total is None or rate <= 0:
            return None
        return max(self.total - self.done, 0) / rate


class ScanBar(_Tally):
    """The tally as a bar on stderr."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(
            TextColumn("[bold]scanning"), BarColumn(), DownloadColumn(),
            TextColumn("{task.fields[files]} files"), TextColumn("[red]{task.fields[hits]} hits"),
            TextColumn("{task.fields[errors]} errors"), TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"), console=console, transient=False)
        self.task: TaskID | None = None

    def started(self, resumed_entries: int, resumed_bytes: int) -> None:
        super().started(resumed_entries, resumed_bytes)
        self.task = self.progress.add_task("scan", total=None, completed=resumed_bytes, files=0, hits=0,
                                           errors=0, left="sizing the evidence…")
        self.progress.start()
        if resumed_entries:
            self.console.print(f"resuming after {resumed_entries:,} evidence files already scanned")

    def counted(self, files: int, size: int, finished: bool) -> None:
        super().counted(files, size, finished)
        if finished and self.task is not None:
            self.progress.update(self.task, total=max(size, 1))

    def advanced(self, items: int, nbytes: int, hits: int, errors: int) -> None:
        super().advanced(items, nbytes, hits, errors)
        left = self.seconds_left()
        shown = ("time left: sizing…" if self.total is None else
                 "time left: ?" if left is None else f"time left: {_duration(left)}")
        if self.task is not None:
            self.progress.update(self.task, advance=nbytes, files=self.files, hits=self.hits, errors=self.errors,
                                 left=shown)

    def stage(self, text: str) -> None:
        self.progress.stop()
        self.console.print(text + " …")


class _Lines(_Tally):
    """Not a terminal (a log file, nohup): the tally as a line every ``every`` seconds."""

    def __init__(self, every: float = 30.0) -> None:
        super().__init__()
        self.every = every
        self.last = self.t0

    def started(self, resumed_entries: int, resumed_bytes: int) -> None:
        super().started(resumed_entries, resumed_bytes)
        if resumed_entries:
            print(f"vigil scan: resuming after {resumed_entries:,} evidence files", file=sys.stderr, flush=True)

    def advanced(self, items: int, nbytes: int, hits: int, errors: int) -> None:
        super().advanced(items, nbytes, hits, errors)
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        left = self.seconds_left()
        print(f"vigil scan: {self.files:,} files, {self.done / 1e9:,.2f} GB, {self.hits:,} hits, "
              f"{self.errors:,} errors" + (f", about {_duration(left)} left" if left is not None else ""),
              file=sys.stderr, flush=True)

    def stage(self, text: str) -> None:
        print(f"vigil scan: {text}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def scan_command(
    evidence: list[Path] = typer.Argument(..., help="Evidence folders and files (read-only; never written)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for the case database and reports "
                             "(created; must not be inside the evidence)."),
    case: str = typer.Option(..., "--case", help="Case name, recorded in every report."),
    lists: list[str] = typer.Option(None, "--list", "-l", help="List to match against (repeat; default: all)."),
    resume: bool = typer.Option(False, "--resume", help="Finish an interrupted scan in --out."),
    mode: Mode = typer.Option(Mode.FAST, "--mode", help="fast: reduced-size decoding and video key frames; "
                              "exact: reference hashes bit for bit (slower)."),
    seconds_per_hash: float = typer.Option(1.0, "--seconds-per-hash", min=0.0, help="vPDQ sampling interval."),
    expand: bool = typer.Option(True, "--variants/--no-variants", "--expand/--no-expand", help="Match mirrored, "
                                "rotated and border-trimmed variants of each photo too."),
    archive_depth: int = typer.Option(ArchiveLimits.max_depth, "--archive-depth", min=0,
                                      help="How deep archives inside archives are opened (0: not at all)."),
    max_member_bytes: int = typer.Option(ArchiveLimits.max_member_bytes, "--max-member-bytes", min=1,
                                         help="Largest archive member read (bigger ones are rows)."),
    max_ratio: float = typer.Option(ArchiveLimits.max_ratio, "--max-ratio", min=1.0,
                                    help="Largest expansion of a member over its compressed size."),
    max_pixels: int = typer.Option(Limits.max_pixels, "--max-pixels", min=1, help="Largest photo decoded."),
    max_seconds: float = typer.Option(Limits.max_seconds, "--max-seconds", min=0.001,
                                      help="Time limit for decoding one file."),
    temp_dir: Path = typer.Option(None, "--temp-dir", help="Where archive members over 64 MiB are spooled "
                                  "while hashed, then deleted (default: the system's temporary folder)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    db: str | None = db_option(),
) -> None:
    """Scan evidence against the lists; write report.json, report.html, hits.csv and vics-case.json.

    Archives (zip, tar, tar.gz/bz2/xz, 7z) are read in place. Progress is checkpointed in
    OUT/case.db: after a crash, the same command with --resume finishes the job. Exit status
    0 when the scan finished (hits and unreadable files are in the reports), 2 for a usage
    error, 3 when evidence or the database cannot be used.
    """
    from rich.console import Console

    from ..scan.scanner import ScanOptions, run_scan  # the scan app loads when it runs, not for `vigil --help`

    try:
        hashing = HashOptions(mode=mode, seconds_per_hash=seconds_per_hash, variants=expand,
                              limits=Limits(max_pixels=max_pixels, max_seconds=max_seconds))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    archives = ArchiveLimits(max_depth=archive_depth, max_member_bytes=max_member_bytes, max_ratio=max_ratio)
    options = ScanOptions([os.fspath(p) for p in evidence], out, case, lists or None, resume, jobs or None,
                          hashing, archives, os.fspath(temp_dir) if temp_dir is not None else None)
    console = Console(stderr=True)
    show = not quiet and sys.stderr.isatty()
    bar = ScanBar(console) if show else None
    store = open_store(db)
    try:
        outcome = run_scan(options, store, progress=bar or (None if quiet else _Lines()),
                           on_compile=lambda name: console.print(f"compiling the index of list {name} …")
                           if show else None)
    finally:
        if bar is not None:
            bar.progress.stop()
        store.close()
    print(f"scanned {outcome.items:,} files: {outcome.hits:,} hits, {outcome.errors:,} not fully read")
    for path in outcome.report_files:
        print(f"  {display_path(path)}")
    print(f"case log head {outcome.log_head} (note it: `vigil case verify` shows it again)")
