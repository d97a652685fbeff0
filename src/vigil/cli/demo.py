"""``vigil demo``: Vigil's main job on bundled, benign media."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from ..demo import media_dir
from ..hashing import HashOptions, hash_files
from ..media.sniff import Kind
from ..media.source import display_path
from ..walk import walk_paths


def demo_command(
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON lines."),
) -> None:
    """Hash the bundled demo media (photos, a video, a misnamed and a broken file)."""
    folder = media_dir()
    files = [f.path for f in walk_paths([str(folder)]) if not f.error and not f.path.endswith((".txt", "LICENSE"))]
    results = list(hash_files(files, HashOptions()))
    if json_out:
        for r in results:
            print(json.dumps(r.to_json()))
        return
    console = Console()
    table = Table(title=f"Vigil demo: {len(results)} benign files from {display_path(folder)}")
    for column in ("file", "kind", "md5", "PDQ / vPDQ", "error"):
        table.add_column(column, overflow="fold")
    for r in results:
        if r.pdq is not None:
            perceptual = f"pdq {r.pdq.hash[:16]}… q{r.pdq.quality}"
        elif r.vpdq:
            perceptual = f"vpdq {len(r.vpdq)} frames"
        else:
            perceptual = "-"
        table.add_row(display_path(r.path).rsplit("/", 1)[-1], r.kind.value,
                      r.digests.md5[:12] + "…" if r.digests else "-", perceptual, r.error or "")
    console.print(table)
    errors = sum(1 for r in results if r.error)
    media = sum(1 for r in results if r.kind in (Kind.IMAGE, Kind.VIDEO) and not r.error)
    console.print(f"{media} media files hashed, {errors} error(s) reported without stopping the run.")
    console.print("Next: [bold]vigil hash PATH…[/] on your own files, [bold]--json[/] for machine output.")
    sys.stdout.flush()
