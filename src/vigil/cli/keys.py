"""``vigil keys create|ls|revoke``: the match service's API keys (only each key's hash is kept)."""

from __future__ import annotations

import json

import typer

from .common import db_option, open_store

__all__ = ["app", "create_command", "ls_command", "revoke_command"]

app = typer.Typer(help="API keys of the match service (`vigil serve`): create, list, revoke.",
                  no_args_is_help=True)


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="Who or what the key is for (a platform, a hotline's tool)."),
    role: str = typer.Option(..., "--role", help="matcher (lookups, match), curator (lists), reviewer "
                             "(the review desk) or admin (keys, settings, everything)."),
    db: str | None = db_option(),
) -> None:
    """Create a key and print it as the last line. Only its hash is kept: it cannot be shown again."""
    from ..serve.keys import create_key

    key, secret = create_key(open_store(db), name, role)
    typer.echo(f"created key {key.id} {key.name!r} with the role {key.role.value} (shown once; keep it safe):",
               err=True)
    typer.echo(secret)


@app.command("ls")
def ls_command(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per key."),
    db: str | None = db_option(),
) -> None:
    """Every key: its id, name, role, first characters, when it was made and revoked."""
    from ..serve.keys import list_keys

    keys = list_keys(open_store(db))
    if json_out:
        for k in keys:
            print(json.dumps({"id": k.id, "name": k.name, "role": k.role.value, "prefix": k.prefix,
                              "created": k.created_at.isoformat(),
                              "revoked": k.revoked_at.isoformat() if k.revoked_at else None}))
        return
    if not keys:
        print("no keys yet: vigil keys create NAME --role matcher")
        return
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(f"{k.id:>4}  {k.name:<24} {k.role.value:<9} {k.prefix}…  created {k.created_at:%Y-%m-%d %H:%M}  {state}")


@app.command("revoke")
def revoke_command(
    which: str = typer.Argument(..., help="The key's name, id, or the first characters `keys ls` shows."),
    db: str | None = db_option(),
) -> None:
    """Revoke active keys by name, id or prefix: the service refuses them within seconds."""
    from ..serve.keys import revoke_key

    for k in revoke_key(open_store(db), which):
        print(f"revoked key {k.id} {k.name!r} ({k.prefix}…)")
