"""``vigil hash PATH…``: every signal of every file, in parallel."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

import typer

from ..errors import InputUnusable, UsageError
from ..evidence.sources import display_path
from ..evidence.walk import walk_paths
from ..hashing import FileResult, HashOptions, hash_files
from ..media.limits import Limits
from ..media.sniff import Kind
from ..run import default_jobs
from ..signals.mode import Mode
from .progress import FileProgress

__all__ = ["hash_command"]


def hash_command(
    paths: list[Path] = typer.Argument(..., readable=False, help="Files and folders (walked recursively)."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per file instead of signal lines."),
    mode: Mode = typer.Option(Mode.FAST, "--mode", help="exact: reference hashes bit for bit; fast: "
                              "reduced-size JPEG decoding and key frames (see BENCHMARKS.md)."),
    seconds_per_hash: float = typer.Option(1.0, "--seconds-per-hash", min=0.0,
                                           help="vPDQ sampling interval; 0 hashes every frame."),
    dihedral: bool = typer.Option(False, "--dihedral", help="Also print the 7 rotated and mirrored PDQ hashes."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    max_pixels: int = typer.Option(Limits.max_pixels, "--max-pixels", min=1,
                                   help="Largest photo (width x height) to decode."),
    max_seconds: float = typer.Option(Limits.max_seconds, "--max-seconds", min=0.001,
                                      help="Time limit for decoding one file."),
) -> None:
    """Hash files: md5, sha1, sha256 for all; PDQ for photos; vPDQ for videos.

    Exit status: 0 when every named path was read (per-file errors are in the
    output), 3 when a named path does not exist or cannot be opened.
    """
    try:
        options = HashOptions(mode=mode, seconds_per_hash=seconds_per_hash,
                              limits=Limits(max_pixels=max_pixels, max_seconds=max_seconds), dihedral=dihedral)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    named = [os.fspath(p) for p in paths]
    found = list(walk_paths(named))
    missing = [f for f in found if f.error and f.path in named]
    out = sys.stdout
    # Workers start before the progress bar's thread does (forking beside threads is unsafe).
    hashed = hash_files((f.path for f in found if not f.error), options, jobs=jobs or default_jobs())
    with FileProgress(total_files=len(found), total_bytes=sum(f.size for f in found),
                      enabled=not quiet and sys.stderr.isatty()) as progress:
        for f in found:  # in walk order: walk errors take their place among the results
            result = FileResult(f.path, Kind.ERROR, error=f.error) if f.error else next(hashed)
            _emit(result, out, json_out)
            progress.advance(result.size or 0, error=result.error is not None)
    if missing:
        names = ", ".join(display_path(f.path) for f in missing[:3])
        raise InputUnusable(f"cannot open {names}" + (" …" if len(missing) > 3 else ""))


def _emit(result: FileResult, out: TextIO, json_out: bool) -> None:
    if json_out:
        out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        lines = [display_path(result.path), *result.signal_lines()]
        if result.error:
            lines.append(f"error {result.error}")
        out.write("\n".join(lines) + "\n\n")
    out.flush()
