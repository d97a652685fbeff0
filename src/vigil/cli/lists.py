"""``vigil lists …``: import, build, inspect, export and revoke hash lists."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ..errors import InputUnusable, UsageError
from ..evidence.sources import display_path
from ..lists.formats import FORMATS
from ..lists.model import Record
from ..lists.settings import SETTINGS, ListSettings
from ..signals import SIGNALS
from .common import db_option, interactive, open_store, parse_settings
from .progress import ByteProgress, FileProgress

__all__ = [
    "add_media_command",
    "app",
    "export_command",
    "import_command",
    "ls_command",
    "revoke_command",
    "set_command",
    "show_command",
]

if TYPE_CHECKING:
    from ..lists.catalog import ListInfo, ListKind
    from ..store import Store

# The store-backed parts of lists (SQLAlchemy) and Rich's tables load inside the verbs that use them,
# not for `vigil --help` or `vigil hash`.

app = typer.Typer(help="Hash lists: import the field's formats, add your own media, export, revoke.",
                  no_args_is_help=True)

_FORMAT_HELP = "Format (default: detected from the content): " + ", ".join(sorted(FORMATS))
_SETTING_HELP = "A match setting NAME=VALUE (repeatable); the defaults: " + ", ".join(
    f"{s.name}={s.default:g}" for s in SETTINGS)
_SIGNAL_HELP = f"For plain files of 64-digit hashes: {SIGNALS.names_text(SIGNALS.hex_types(64))}."


def _kind(allow: bool | None) -> ListKind | None:
    from ..lists.catalog import ListKind

    return None if allow is None else (ListKind.ALLOW if allow else ListKind.BLOCK)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The hash-list file."),
    list_name: str = typer.Option(..., "--list", "-l", help="The list to import into (created if new)."),
    format: str | None = typer.Option(None, "--format", "-f", help=_FORMAT_HELP),
    signal: str | None = typer.Option(None, "--signal", help=_SIGNAL_HELP),
    replace: bool = typer.Option(False, "--replace", help="The file is the whole list: revoke entries it lacks."),
    source: str | None = typer.Option(None, "--source", help="Where the list comes from (NCMEC, Project VIC, …)."),
    allow: bool | None = typer.Option(None, "--allow/--block", help="An allow-list of known benign media "
                                      "(suppresses matches), or a block list (the default for a new list)."),
    setting: list[str] | None = typer.Option(None, "--setting", help=_SETTING_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    db: str | None = db_option(),
) -> None:
    """Import a hash-list file; re-importing an updated file updates and revokes, never duplicates."""
    from ..lists.importing import import_file

    store = open_store(db)
    try:
        size = os.stat(file).st_size
    except OSError as exc:
        raise InputUnusable(f"cannot open {display_path(file)}: {exc.strerror or exc}") from exc
    settings = parse_settings(setting)
    with ByteProgress("importing", total=size, enabled=interactive()) as progress:
        result = import_file(store, file, list_name, format=format, signal=signal, replace=replace, source=source,
                             kind=_kind(allow), settings=settings, on_bytes=progress.advance)
    _compile(store, list_name)
    if json_out:
        print(json.dumps(result.to_json()))
    else:
        print(result.summary())


def _compile(store: Store, list_name: str) -> None:
    """Compile the list's match index now, so the first match does not wait for it: what changed, when
    the list was compiled before and the change is small beside it (lists.segments), else all of it."""
    from ..lists import catalog
    from ..lists.segments import compact, load_index

    with store.connect() as conn:
        info = catalog.get_list(conn, list_name)
    if interactive():
        from rich.console import Console

        Console(stderr=True).print(f"compiling the match index of {list_name} …", end="\r")
    index = load_index(store, info.id, info.content_version)
    if index.merge_due:
        compact(store, index)


@app.command("add-media")
def add_media_command(
    list_name: str = typer.Argument(..., help="The list to add to (created if new)."),
    paths: list[Path] = typer.Argument(..., help="Photos and videos, or folders of them (walked recursively)."),
    source: str | None = typer.Option(None, "--source", help="Where the media come from."),
    allow: bool | None = typer.Option(None, "--allow/--block", help="An allow-list (known benign) or a block list."),
    category: str | None = typer.Option(None, "--category", help="Category of every added entry."),
    scheme: str | None = typer.Option(None, "--category-scheme", "--scheme",
                                      help="Name of the category scheme (e.g. projectvic-us)."),
    setting: list[str] | None = typer.Option(None, "--setting", help=_SETTING_HELP),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Worker processes (0: one per core)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    db: str | None = db_option(),
) -> None:
    """Hash media you hold into a list: each file becomes an entry named after the file (no extension).

    Photos get exact PDQ plus the extra hashes that find cropped and captioned copies;
    videos get vPDQ at one frame a second; every file gets md5, sha1 and sha256.
    """
    from ..lists.media import add_media

    store = open_store(db)
    result = add_media(store, list_name, [os.fspath(p) for p in paths], source=source, kind=_kind(allow),
                       settings=parse_settings(setting), category=category, category_scheme=scheme, jobs=jobs or None,
                       progress=_BarProgress() if interactive() else None)
    _compile(store, list_name)
    if json_out:
        print(json.dumps({"list": list_name, "added": result.added, "updated": result.updated,
                          "unchanged": result.unchanged, "errors": result.errors}))
    else:
        print(result.summary())
    if result.missing:
        raise InputUnusable(f"cannot open {', '.join(result.missing[:3])}" + (" …" if len(result.missing) > 3 else ""))


@app.command("ls")
def ls_command(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per list."),
    db: str | None = db_option(),
) -> None:
    """The lists in the database, with their entry counts."""
    from rich.console import Console
    from rich.table import Table

    from ..lists import catalog

    store = open_store(db)
    infos = catalog.all_lists(store)
    if json_out:
        for i in infos:
            print(json.dumps(_list_json(i)))
        return
    if not infos:
        print("no lists yet: vigil lists import FILE --list NAME")
        return
    table = Table(title=f"Lists in {store.describe()}")
    for column in ("list", "kind", "source", "active", "revoked", "updated"):
        table.add_column(column, justify="right" if column in ("active", "revoked") else "left")
    for i in infos:
        table.add_row(i.name, i.kind.value, i.source or "", f"{i.active:,}", f"{i.revoked:,}",
                      i.updated_at.strftime("%Y-%m-%d %H:%M"))
    Console().print(table)


def _list_json(i: ListInfo) -> dict[str, object]:
    return {"name": i.name, "kind": i.kind.value, "source": i.source, "active": i.active, "revoked": i.revoked,
            "settings": i.settings.as_dict(), "created": i.created_at.isoformat(), "updated": i.updated_at.isoformat()}


@app.command("show")
def show_command(
    list_name: str = typer.Argument(..., help="The list."),
    entries: int = typer.Option(10, "--entries", "-n", min=0, help="How many entries to print (0: none)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    db: str | None = db_option(),
) -> None:
    """A list's settings, its import history (provenance) and its first entries."""
    from rich.console import Console
    from rich.table import Table

    from ..lists import catalog

    store = open_store(db)
    info = catalog.describe_list(store, list_name)
    history = catalog.list_imports(store, list_name)
    sample: list[Record] = []
    for record in catalog.iter_records(store, list_name):
        if len(sample) >= entries:
            break
        sample.append(record)
    if json_out:
        out = _list_json(info)
        out["imports"] = [{"id": h.id, "action": h.action, "format": h.format, "file": h.file_name,
                           "sha256": h.file_sha256, "started": h.started_at.isoformat(), "added": h.added,
                           "updated": h.updated, "unchanged": h.unchanged, "revoked": h.revoked, "skipped": h.notes}
                          for h in history]
        out["entries"] = [{"id": r.id, "signals": [s.to_json() for s in r.signals], "category": r.category,
                           "category_scheme": r.category_scheme, "metadata": r.metadata, "revoked": r.revoked}
                          for r in sample]
        print(json.dumps(out, ensure_ascii=False))
        return
    console = Console()
    console.print(f"[bold]{info.name}[/] ({info.kind.value} list) source: {info.source or '-'}")
    console.print(f"{info.active:,} active entries, {info.revoked:,} revoked")
    defaults = ListSettings()
    console.print("settings: " + ", ".join(
        f"{k}={v:g}" + ("" if getattr(defaults, k) == v else " (changed)") for k, v in info.settings.as_dict().items()))
    if history:
        table = Table(title="history (newest first)")
        for column in ("#", "when", "action", "format", "file", "sha256", "added", "updated", "unchanged", "revoked"):
            table.add_column(column)
        for h in history:
            table.add_row(str(h.id), h.started_at.strftime("%Y-%m-%d %H:%M:%S"), h.action, h.format or "",
                          h.file_name or "", (h.file_sha256 or "")[:16], str(h.added), str(h.updated),
                          str(h.unchanged), str(h.revoked))
        console.print(table)
    if sample:
        table = Table(title=f"first {len(sample)} entries")
        for column in ("id", "signals", "category", "revoked"):
            table.add_column(column, overflow="fold")
        for r in sample:
            sig = ", ".join(f"{s.type}" + (f" ({s.derived})" if s.derived else "") for s in r.signals[:6])
            if len(r.signals) > 6:
                sig += f", … ({len(r.signals)} in all)"
            cat = f"{r.category} ({r.category_scheme})" if r.category is not None else ""
            table.add_row(r.id, sig, cat, "revoked" if r.revoked else "")
        console.print(table)


@app.command("export")
def export_command(
    list_name: str = typer.Argument(..., help="The list."),
    format: str = typer.Option(..., "--format", "-f", help="One of: " + ", ".join(sorted(FORMATS))),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default: standard output)."),
    db: str | None = db_option(),
) -> None:
    """Write a list in an exchange format (revoked entries only where the format can say so)."""
    from ..lists.exporting import export_list

    store = open_store(db)
    if output is None:
        export_list(store, list_name, format, sys.stdout.buffer)
        sys.stdout.flush()
        return
    if output.exists() and output.is_dir():
        raise UsageError(f"{display_path(output)} is a folder; name a file")
    tmp = output.with_name(output.name + ".partial")
    try:
        with open(tmp, "wb") as out:
            count = export_list(store, list_name, format, out)
        os.replace(tmp, output)  # a failed export never leaves a truncated file behind
    finally:
        if tmp.exists():
            tmp.unlink()
    print(f"{count} entries written to {display_path(output)}", file=sys.stderr)


@app.command("revoke")
def revoke_command(
    list_name: str = typer.Argument(..., help="The list."),
    ids: list[str] = typer.Argument(..., help="Entry ids to revoke."),
    db: str | None = db_option(),
) -> None:
    """Revoke entries: they stop matching at once. All or nothing: an unknown id revokes none."""
    from ..lists import catalog

    store = open_store(db)
    n = catalog.revoke(store, list_name, ids)
    print(f"{list_name}: {n} entries revoked" + (f", {len(set(ids)) - n} were revoked already"
                                                 if len(set(ids)) > n else ""))


@app.command("set")
def set_command(
    list_name: str = typer.Argument(..., help="The list."),
    setting: list[str] | None = typer.Option(None, "--setting", help=_SETTING_HELP),
    source: str | None = typer.Option(None, "--source", help="Where the list comes from."),
    allow: bool | None = typer.Option(None, "--allow/--block", help="Make it an allow-list or a block list."),
    db: str | None = db_option(),
) -> None:
    """Change a list's match settings, source or kind."""
    from ..lists import catalog

    store = open_store(db)
    info = catalog.update_settings(store, list_name, settings=parse_settings(setting) or None, source=source,
                                   kind=_kind(allow))
    print(f"{info.name}: " + ", ".join(f"{k}={v:g}" for k, v in info.settings.as_dict().items()))


class _BarProgress:
    """add_media's progress on a bar (the bar needs the totals, known once the folders are walked)."""

    def __init__(self) -> None:
        self._bar: FileProgress | None = None

    def begin(self, files: int, nbytes: int) -> None:
        self._bar = FileProgress(total_files=files, total_bytes=nbytes, enabled=True).__enter__()

    def advance(self, nbytes: int, *, error: bool = False) -> None:
        if self._bar is not None:
            self._bar.advance(nbytes, error=error)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
