"""Persistence: SQLite by default (one file, WAL), PostgreSQL by URL.

    store = Store.open()                    # $VIGIL_DB, else ~/.local/share/vigil/vigil.db
    store = Store.open("cases/vigil.db")    # a path is a SQLite file
    store = Store.open("postgresql://vigil@127.0.0.1/vigil")

Opening a store brings its schema up to date with Alembic (migrations ship in the
package). Compiled match indexes are cached beside a SQLite file, or under
``$XDG_CACHE_HOME/vigil`` for a server database (``$VIGIL_CACHE`` overrides both).
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import NoSuchModuleError as _NoSuchModule

from ..errors import InputUnusable, StoreUnusable, UsageError
from . import schema

__all__ = ["Store", "as_utc", "default_db", "migration_heads", "param_mark", "schema"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def migration_heads(folder: Path = _MIGRATIONS / "versions") -> frozenset[str]:
    """The newest revision of each line of migrations, read from the scripts themselves (their
    ``revision`` and ``down_revision``), without loading Alembic: a store at these heads needs no
    migration. A table set of its own (a later app's) is a line of its own, with a branch label."""
    revisions: dict[str, tuple[str, ...]] = {}
    for script in sorted(folder.glob("*.py")):
        values = _assigned_literals(script)
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            raise StoreUnusable(f"the migration script {script.name} names no revision")
        downs = down if isinstance(down, list | tuple) else [down] if isinstance(down, str) else []
        revisions[revision] = tuple(str(d) for d in downs)
    parents = {parent for downs in revisions.values() for parent in downs}
    return frozenset(revisions) - parents


def _assigned_literals(script: Path) -> dict[str, object]:
    """``name = <literal>`` assignments at the top of a script (annotated or not)."""
    values: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        else:
            continue
        try:
            values[name] = ast.literal_eval(value)
        except ValueError:
            continue
    return values


def param_mark(conn: Connection) -> str:
    """The driver's placeholder for SQL written out by hand (``exec_driver_sql``): ``?`` for SQLite,
    ``%s`` for psycopg."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def as_utc(value: datetime) -> datetime:
    """A time read back from the database, in UTC: SQLite keeps no zone (PostgreSQL does)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def default_db() -> str:
    """``$VIGIL_DB`` if set, else a SQLite file in the user's data folder."""
    env = os.environ.get("VIGIL_DB")
    if env:
        return env
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "vigil", "vigil.db")


_WRITES = "vigil_writes"  # the execution option that marks a connection of Store.begin


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling skips BEGIN before SAVEPOINT and DDL, so a nested
    # block would commit early: Vigil emits BEGIN itself (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (a running match) never wait for an import
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: imports update a large unique index
    cursor.close()


def _begin(conn: Connection) -> None:
    # A transaction of Store.begin takes the write lock at once (waiting for it as busy_timeout allows):
    # one that read first and wrote later would fail at once, not wait, when another connection wrote
    # in between (SQLite cannot move its snapshot forward). Reads take no lock.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN")


def _sqlite_events(engine: Engine) -> None:
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _begin)


class Store:
    """One database: an engine, its dialect's rules, and where its index cache lives."""

    def __init__(self, engine: Engine, cache_dir: Path) -> None:
        self.engine = engine
        self.cache_dir = cache_dir

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def open(cls, db: str | os.PathLike[str] | None = None, *, migrate: bool = True) -> Store:
        """Open (creating a SQLite file if need be) and migrate to the current schema."""
        target = os.fspath(db) if db is not None else default_db()
        store = cls._open_url(target) if "://" in target else cls._open_sqlite(Path(target))
        if migrate:
            store.migrate()
        return store

    @classmethod
    def _open_sqlite(cls, path: Path) -> Store:
        path = path.expanduser()
        if path.is_dir():
            raise UsageError(f"the database must be a file, and {path} is a folder")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputUnusable(f"cannot create the folder for the database {path}: {exc.strerror or exc}") from exc
        engine = create_engine(f"sqlite:///{path}")
        _sqlite_events(engine)
        cache = Path(os.environ.get("VIGIL_CACHE") or f"{path}.index")
        return cls(engine, cache)

    @classmethod
    def _open_url(cls, url: str) -> Store:
        try:
            parsed = make_url(url)
            if parsed.drivername in ("postgresql", "postgres"):
                parsed = parsed.set(drivername="postgresql+psycopg")
            engine = create_engine(parsed, pool_pre_ping=True)
        except _NoSuchModule as exc:
            raise InputUnusable(f"no database driver for {url.split('://')[0]}:// ({exc}); "
                                "for PostgreSQL install Vigil's [postgres] extra") from exc
        except (ArgumentError, ValueError) as exc:
            raise UsageError(f"not a database URL: {url!r} ({exc})") from exc
        except ModuleNotFoundError as exc:
            raise InputUnusable(f"the driver for {parsed.drivername} is not installed ({exc.name}); for "
                                "PostgreSQL install Vigil's [postgres] extra: pip install 'vigil[postgres]'") from exc
        if parsed.drivername.startswith("sqlite"):
            _sqlite_events(engine)
        # The URL without its password names the cache folder: same database, same cache.
        safe = parsed.render_as_string(hide_password=True)
        cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        default_cache = Path(cache_home) / "vigil" / hashlib.sha256(safe.encode()).hexdigest()[:16]
        cache = Path(os.environ.get("VIGIL_CACHE") or default_cache)
        return cls(engine, cache)

    def after_fork(self) -> None:
        """In a forked worker: forget the parent's pooled connections (never share a socket or a
        SQLite handle across processes); the worker opens its own on first use."""
        self.engine.dispose(close=False)

    def describe(self) -> str:
        """The database for messages, never with its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is there already)."""
        try:
            with self.engine.connect() as conn:
                if self._revisions(conn) == migration_heads():
                    return
            from alembic import command
            from alembic.config import Config

            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "heads")
        except DBAPIError as exc:  # the driver's complaint: not a database, locked, refused, down
            raise StoreUnusable(f"cannot open the database {self.describe()}: {_one_line(exc)}") from exc

    @staticmethod
    def _revisions(conn: Connection) -> frozenset[str]:
        if not inspect(conn).has_table("alembic_version"):
            return frozenset()
        return frozenset(str(row[0]) for row in conn.execute(text("SELECT version_num FROM alembic_version")))

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self.engine.connect() as conn, conn.execution_options(**{_WRITES: True}).begin():
                yield conn
        except DBAPIError as exc:
            raise StoreUnusable(f"database error on {self.describe()}: {_one_line(exc)}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise StoreUnusable(f"database error on {self.describe()}: {_one_line(exc)}") from exc

    def close(self) -> None:
        self.engine.dispose()


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return " ".join(str(orig if orig is not None else exc).split())
