"""``vigil match PATH…`` and ``vigil match --hashes FILE``: look media or hashes up in lists."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer

from ..errors import InputUnusable, UsageError
from ..evidence.sources import display_path
from ..evidence.walk import walk_paths
from ..hashing import FileResult, HashOptions, hash_files
from ..media.sniff import Kind
from ..run import default_jobs
from ..signals import get_signal
from ..signals.mode import Mode
from .common import db_option, interactive, open_store
from .progress import FileProgress

__all__ = ["match_command"]

if TYPE_CHECKING:
    from ..matching import Match, Matcher, Query, QueryResult

_BATCH = 1000  # hash lines looked up together


def match_command(
    paths: list[Path] | None = typer.Argument(None, help="Photos, videos and folders (walked recursively)."),
    lists: list[str] | None = typer.Option(None, "--list", "-l", help="A list to match against (repeatable; "
                                           "default: every list)."),
    hashes: Path | None = typer.Option(None, "--hashes", help="Look up `<type> <value>` lines from this file "
                                       "('-' for standard input) instead of hashing media."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per query."),
    expand: bool = typer.Option(True, "--variants/--no-variants", "--expand/--no-expand", help="Also match the "
                                "mirrored, rotated and border-trimmed variants of each photo."),
    mode: Mode = typer.Option(Mode.EXACT, "--mode", help="exact: reference hashes; fast: reduced-size decoding."),
    seconds_per_hash: float = typer.Option(1.0, "--seconds-per-hash", min=0.0,
                                           help="vPDQ sampling of query videos (0: every frame)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    db: str | None = db_option(),
) -> None:
    """Match media or hashes against lists. Each match names the list, the entry, the signal,
    the distance and the variant of the query that matched.

    Exit status 0 when the work finished (matches are output, not failures); 2 for a usage
    error; 3 when a named path or the hashes file cannot be read.
    """
    if bool(paths) == (hashes is not None):
        raise UsageError("give PATH… to match media, or --hashes FILE to look up hash lines (not both)")
    from rich.console import Console  # matching (SQLAlchemy, the indexes) loads when it runs, not for --help

    from ..matching import Matcher, iter_hash_queries

    store = open_store(db)
    console = Console(stderr=True)

    def compiling(name: str) -> None:
        if interactive() and not quiet:
            console.print(f"compiling the match index of {name} …")

    matcher = Matcher(store, lists, on_compile=compiling)
    out = sys.stdout
    counts = {"queries": 0, "matched": 0, "errors": 0}

    def emit(result: QueryResult) -> None:
        counts["queries"] += 1
        counts["matched"] += bool(result.matches)
        counts["errors"] += result.error is not None
        _emit(result, out, json_out)

    if hashes is not None:
        for batch in _batches(iter_hash_queries(_lines(hashes)), _BATCH):
            for result in matcher.match_many(batch):
                emit(result)
    else:
        options = HashOptions(mode=mode, seconds_per_hash=seconds_per_hash, variants=expand,
                              windows=expand and matcher.wants_windows)
        missing = _match_paths(matcher, [os.fspath(p) for p in paths or []], emit, options, jobs,
                               not quiet and interactive())
        if missing:
            raise InputUnusable(f"cannot open {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else ""))
    if not json_out and interactive():
        console.print(f"{counts['queries']} queries, {counts['matched']} matched, {counts['errors']} errors")


def _match_paths(matcher: Matcher, named: list[str], emit: Callable[[QueryResult], None], options: HashOptions,
                 jobs: int, progress_on: bool) -> list[str]:
    from ..matching import query_from_result

    found = list(walk_paths(named))
    missing = [display_path(f.path) for f in found if f.error and f.path in named]
    hashed = hash_files((f.path for f in found if not f.error), options, jobs=jobs or default_jobs())
    with FileProgress(total_files=len(found), total_bytes=sum(f.size for f in found), enabled=progress_on) as bar:
        for f in found:
            result = FileResult(f.path, Kind.ERROR, error=f.error) if f.error else next(hashed)
            emit(matcher.match(query_from_result(result)))
            bar.advance(result.size or 0, error=result.error is not None)
    return missing


def _lines(path: Path) -> Iterator[str]:
    if str(path) == "-":
        yield from sys.stdin
        return
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            yield from f
    except OSError as exc:
        raise InputUnusable(f"cannot read {display_path(path)}: {exc.strerror or exc}") from exc


def _batches(queries: Iterable[Query], size: int) -> Iterator[list[Query]]:
    batch: list[Query] = []
    for q in queries:
        batch.append(q)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _emit(result: QueryResult, out: TextIO, json_out: bool) -> None:
    if json_out:
        out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        lines = [display_path(result.query)]
        for m in result.matches:
            lines.append("  " + _describe(m, "MATCH"))
        for m in result.allowed:
            lines.append("  " + _describe(m, "allowed"))
        for m in result.suppressed:
            lines.append("  " + _describe(m, "suppressed"))
        if result.error:
            lines.append(f"  error {result.error}")
        if len(lines) == 1:
            lines.append("  no match")
        out.write("\n".join(lines) + "\n")
    out.flush()


def _describe(m: Match, label: str) -> str:
    text = f"{label} {m.list}/{m.entry} {m.signal}"
    if not get_signal(m.signal).file_digest:  # perceptual: how close it came
        text += f" distance {m.distance}"
    if m.variant != "original":
        text += f" (query {m.variant})"
    if m.derived:
        text += f" (listed {m.derived})"
    if m.query_percent is not None:
        text += f" frames matched: {m.query_percent:.0f}% of the query, {m.list_percent or 0:.0f}% of the listed video"
    if m.category is not None:
        text += f" category {m.category}" + (f" ({m.category_scheme})" if m.category_scheme else "")
    return text
