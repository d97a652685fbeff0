"""``vigil audit verify|export``: the service's audit log (sign-ins, review decisions, changes to people
and keys), a hash-chained, append-only log in its database."""

from __future__ import annotations

import json

import typer

from ..errors import VerifyFailed
from .common import db_option, open_store

__all__ = ["app", "export_command", "verify_command"]

app = typer.Typer(help="The service's audit log: check its chain, export it.", no_args_is_help=True)


@app.command("verify")
def verify_command(
    json_out: bool = typer.Option(False, "--json", help="The outcome as one JSON object."),
    db: str | None = db_option(),
) -> None:
    """Walk the chain: exit 0 when every entry is as written (and print the head, the last entry's hash,
    to note elsewhere: it pins the end); exit 1 naming each entry that was changed, inserted or removed."""
    from ..serve.audit import verify

    count, problems, head = verify(open_store(db))
    if json_out:
        print(json.dumps({"entries": count, "head": head, "ok": not problems,
                          "problems": [{"seq": p.seq, "problem": p.problem} for p in problems]}))
    else:
        for p in problems:
            print(f"entry {p.seq}: {p.problem}")
        print(f"{count} entries; the chain {'holds' if not problems else 'is broken'}; head {head or '(empty)'}")
    if problems:
        raise VerifyFailed(f"the audit log's chain is broken at {len(problems)} place(s), first at entry "
                           f"{problems[0].seq}")


@app.command("export")
def export_command(db: str | None = db_option()) -> None:
    """Every entry as a JSON line, oldest first (seq, at, event, data, prev, hash): enough to check the
    chain elsewhere."""
    from ..serve.audit import entry_json, export_entries

    for entry in export_entries(open_store(db)):
        print(json.dumps(entry_json(entry), ensure_ascii=False))
