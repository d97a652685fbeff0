"""``vigil case verify|log OUT``: check and read a scan's case log."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import VerifyFailed

__all__ = ["app", "log_command", "verify_command"]

app = typer.Typer(help="A scan's case: verify its log and reports, read its log.", no_args_is_help=True)


@app.command("verify")
def verify_command(
    out: Path = typer.Argument(..., help="The scan's output folder (holds case.db)."),
) -> None:
    """Check the hash chain of the case log and that the reports are the ones it records.

    Exit status 0 when everything checks, 1 when something was changed (each problem is
    printed), 3 when the folder holds no case.
    """
    from ..scan.audit import verify_case  # the scan app loads when a verb runs, not for `vigil --help`
    from ..scan.scanner import open_case

    case = open_case(out)
    try:
        result = verify_case(case, out)
    finally:
        case.close()
    for line in result.lines:
        print(line)
    if result.problems:
        raise VerifyFailed(f"{len(result.problems)} problem(s): the case log or reports were changed")


@app.command("log")
def log_command(
    out: Path = typer.Argument(..., help="The scan's output folder (holds case.db)."),
) -> None:
    """Print the case log, one JSON object per entry."""
    from ..scan.scanner import open_case

    case = open_case(out)
    try:
        for entry in case.log.entries():
            print(json.dumps({"seq": entry.seq, "at": entry.at, "event": entry.event, "data": entry.data,
                              "hash": entry.hash}, ensure_ascii=False))
    finally:
        case.close()
