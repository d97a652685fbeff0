"""Entry point: ``vigil`` and its verbs."""

from __future__ import annotations

import sys

import typer

from .. import __version__
from ..errors import VigilError
from . import audit, case, demo, keys, lists, match, scan, serve, users, webhooks
from . import hash as hash_cmd

__all__ = ["app", "main"]

app = typer.Typer(
    name="vigil",
    help="Find known abuse media: hash, match and triage, keeping hashes, never media.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("hash")(hash_cmd.hash_command)
app.command("match")(match.match_command)
app.add_typer(lists.app, name="lists")
app.command("scan")(scan.scan_command)
app.add_typer(case.app, name="case")
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(webhooks.app, name="webhooks")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vigil {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Vigil detects and reports; it never hosts or distributes media."""


def main() -> None:
    try:
        app()
    except VigilError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("vigil: interrupted", file=sys.stderr)
        sys.exit(130)
