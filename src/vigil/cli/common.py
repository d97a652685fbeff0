"""Options and helpers every verb shares: the database, settings, output."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from ..errors import UsageError
from ..lists.settings import SETTINGS

__all__ = ["DB_HELP", "db_option", "interactive", "open_store", "parse_settings"]

if TYPE_CHECKING:
    from ..store import Store

DB_HELP = ("Database: a SQLite file path or a postgresql:// URL "
           "(default: $VIGIL_DB, else ~/.local/share/vigil/vigil.db).")


def db_option() -> str | None:
    return typer.Option(None, "--db", envvar="VIGIL_DB", help=DB_HELP, show_envvar=False)  # type: ignore[no-any-return]


def open_store(db: str | None) -> Store:
    from ..store import Store  # SQLAlchemy loads for the verbs that use a database, not for `vigil --help`

    return Store.open(db)


def parse_settings(pairs: list[str] | None) -> dict[str, object]:
    """``--setting NAME=VALUE`` pairs; names as in SETTINGS (dashes or underscores)."""
    out: dict[str, object] = {}
    known = {s.name for s in SETTINGS}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in known:
            raise UsageError(f"--setting wants NAME=VALUE with NAME one of {', '.join(sorted(known))}; got {pair!r}")
        out[name] = value.strip()
    return out


def interactive() -> bool:
    return sys.stderr.isatty()
