"""``vigil demo``: Vigil's main job, a scan of seized storage, on a small benign case it builds."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ..evidence.sources import display_path

__all__ = ["demo_command"]


def demo_command(
    folder: Path = typer.Option(Path("vigil-demo"), "--dir", help="Where to build the demo case "
                                "(replaced if it is an earlier demo, refused if it is anything else)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Build a small benign case from bundled media and scan it: a list, evidence with exact and
    edited copies, archives, a broken file. Prints where the report is."""
    from rich.console import Console  # what the demo builds and runs loads when it runs, not for `vigil --help`

    from ..demo.case import LIST, build_demo
    from ..scan.scanner import ScanOptions, run_scan
    from ..store import Store
    from .scan import ScanBar

    console = Console(stderr=True)
    console.print(f"building the demo case in {display_path(folder)} …")
    demo = build_demo(folder)
    store = Store.open(demo.db)
    bar = ScanBar(console) if not quiet and sys.stderr.isatty() else None
    try:
        outcome = run_scan(ScanOptions([str(demo.evidence)], demo.out, "vigil-demo", [LIST]), store, progress=bar)
    finally:
        if bar is not None:
            bar.progress.stop()
        store.close()
    out = Console(soft_wrap=True)  # paths stay whole, whatever the width
    out.print(f"Scanned {outcome.items} files of {display_path(demo.evidence)} against the list [bold]{LIST}[/] "
              f"(2 benign entries): [bold red]{outcome.hits} hits[/], {outcome.errors} files not fully read.")
    out.print(f"Report: [bold]{display_path(demo.out / 'report.html')}[/] (open it in a browser; pictures "
              "stay blurred until you click)")
    program = sys.argv[0] if sys.argv and sys.argv[0].endswith("vigil") else "vigil"  # as it was run
    out.print(f"Also: report.json, hits.csv, vics-case.json in {display_path(demo.out)}; "
              f"check the case log with [bold]{program} case verify {display_path(demo.out)}[/]")
