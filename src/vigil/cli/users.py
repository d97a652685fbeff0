"""``vigil users create|ls|password|totp|require-totp|disable``: the people who sign in to the review
desk (passwords kept as argon2id hashes, never shown or logged)."""

from __future__ import annotations

import getpass
import json
import sys

import typer

from ..errors import UsageError
from .common import db_option, open_store

__all__ = ["app", "create_command", "disable_command", "ls_command", "password_command", "require_totp_command",
           "totp_command"]

app = typer.Typer(help="People who sign in to the review desk: create, list, reset a password, enrol and "
                  "require a one-time code, disable.", no_args_is_help=True)


def _password() -> str:
    """The password: typed twice at a terminal, else the first line of standard input (scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UsageError("no password on standard input (give it as the first line, or run at a terminal)")
    return line.rstrip("\r\n")


@app.command("create")
def create_command(
    name: str = typer.Argument(..., help="The person's sign-in name (no spaces)."),
    role: str = typer.Option(..., "--role", help="reviewer (the queue and decisions) or admin (also people, "
                             "keys, exchanges, settings)."),
    db: str | None = db_option(),
) -> None:
    """Create a person; the password is read from standard input when it is not a terminal."""
    from ..serve.users import create_user

    user = create_user(open_store(db), name, role, _password())
    print(f"created user {user.id} {user.name!r} with the role {user.role.value}")


@app.command("ls")
def ls_command(
    json_out: bool = typer.Option(False, "--json", help="One JSON object per person."),
    db: str | None = db_option(),
) -> None:
    """Everyone: role, one-time code enrolled and required, failed tries, last sign-in, disabled."""
    from ..serve.users import list_users

    people = list_users(open_store(db))
    if json_out:
        for u in people:
            print(json.dumps({"id": u.id, "name": u.name, "role": u.role.value, "totp": u.totp_enrolled,
                              "totp_required": u.totp_required, "failures": u.failures,
                              "created": u.created_at.isoformat(),
                              "last_sign_in": u.last_sign_in_at.isoformat() if u.last_sign_in_at else None,
                              "disabled": u.disabled_at.isoformat() if u.disabled_at else None}))
        return
    if not people:
        print("no users yet: vigil users create NAME --role admin")
        return
    for u in people:
        code = "code required" if u.totp_required else "code enrolled" if u.totp_enrolled else "no code"
        seen = f"last in {u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "never signed in"
        state = f"disabled {u.disabled_at:%Y-%m-%d %H:%M}" if u.disabled_at else "active"
        print(f"{u.id:>4}  {u.name:<20} {u.role.value:<9} {code:<14} {seen:<28} {state}")


@app.command("password")
def password_command(name: str = typer.Argument(..., help="Whose password to set."),
                     db: str | None = db_option()) -> None:
    """Set a new password (read as for create); lifts a wait imposed by failed tries."""
    from ..serve.users import set_password

    user = set_password(open_store(db), name, _password())
    print(f"set a new password for {user.name!r}")


@app.command("totp")
def totp_command(name: str = typer.Argument(..., help="Who enrols a one-time code."),
                 db: str | None = db_option()) -> None:
    """Enrol a new one-time code (TOTP) and print the otpauth:// URI for the person's authenticator app
    as the last line (shown once; it replaces any earlier one)."""
    from ..serve.users import enrol_totp

    user, uri = enrol_totp(open_store(db), name)
    typer.echo(f"enrolled a one-time code for {user.name!r}; add this to an authenticator app (shown once):",
               err=True)
    typer.echo(uri)


@app.command("require-totp")
def require_totp_command(
    name: str = typer.Argument(..., help="Who must give a one-time code."),
    off: bool = typer.Option(False, "--off", help="No longer require it."),
    db: str | None = db_option(),
) -> None:
    """Require a one-time code at every sign-in (one who has none enrolled cannot sign in until enrolled)."""
    from ..serve.users import require_totp

    user = require_totp(open_store(db), name, not off)
    print(f"{user.name!r} {'must' if user.totp_required else 'need not'} give a one-time code")


@app.command("disable")
def disable_command(name: str = typer.Argument(..., help="Who may no longer sign in."),
                    db: str | None = db_option()) -> None:
    """Disable a person: no more sign-ins (the record, and what they did, stay)."""
    from ..serve.users import disable_user

    user = disable_user(open_store(db), name)
    print(f"disabled {user.name!r}")
