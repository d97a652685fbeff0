"""API keys of the match service: created, listed, revoked, and checked on every request.

A key is ``vgl_`` and 43 URL-safe characters (256 random bits). Only its SHA-256 is kept, with its
first 12 characters so people can tell keys apart; a lost key is revoked and replaced, never shown
again. A fast hash is the right one here: a password needs a slow hash because people choose guessable
ones, and nobody can guess 256 random bits, while every request must be checked in microseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update

from ..errors import InvalidValue, NotFound
from ..evidence.audit import record
from ..store import Store
from ..store.schema import api_keys

__all__ = ["ApiKey", "Role", "check_key", "create_key", "key_digest", "list_keys", "revoke_key"]

_PREFIX = "vgl_"
_SHOWN = 12  # characters of a key kept to tell it apart ("vgl_" and 8 more)


class Role(StrEnum):
    """What a key may do. ``admin`` may do everything; the others one job each."""

    MATCHER = "matcher"  # lookups and matching of uploads
    CURATOR = "curator"  # lists: create, import, revoke, export
    REVIEWER = "reviewer"  # the review desk
    ADMIN = "admin"  # keys and settings, and all of the above

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_digest(secret: str) -> str:
    """What is kept of a key, and what it is looked up by."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise InvalidValue(f"unknown role {text!r} (want {', '.join(r.value for r in Role)})") from None


def create_key(store: Store, name: str, role: Role | str) -> tuple[ApiKey, str]:
    """A new key: (what is kept of it, the key itself, which is not kept and cannot be shown again)."""
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise InvalidValue("a key's name must be 1-200 printable characters")
    role = _role(str(role))
    secret = _PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(UTC)
    with store.begin() as conn:
        key_id = conn.execute(api_keys.insert().values(
            name=name, role=role.value, key_sha256=key_digest(secret), prefix=secret[:_SHOWN], created_at=created,
            revoked_at=None).returning(api_keys.c.id)).scalar_one()
        record(conn, "key_created", id=int(key_id), name=name, role=role.value, prefix=secret[:_SHOWN])
    return ApiKey(int(key_id), name, role, secret[:_SHOWN], created, None), secret


def _key(row: object) -> ApiKey:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiKey(int(m["id"]), str(m["name"]), Role(m["role"]), str(m["prefix"]), m["created_at"], m["revoked_at"])


def list_keys(store: Store) -> list[ApiKey]:
    """Every key, revoked ones too (their names stay in the record), oldest first."""
    with store.connect() as conn:
        return [_key(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke_key(store: Store, which: str) -> list[ApiKey]:
    """Revoke the active keys named ``which`` (a name, a key id, or a shown prefix); returns them.
    Raises NotFound when no active key answers to it."""
    with store.begin() as conn:
        active = conn.execute(select(api_keys).where(api_keys.c.revoked_at.is_(None))).all()
        chosen = [r for r in active if which in (r._mapping["name"], str(r._mapping["id"]), r._mapping["prefix"])]
        if not chosen:
            raise NotFound(f"no active key named {which!r} (see `vigil keys ls`)")
        when = datetime.now(UTC)
        conn.execute(update(api_keys).where(api_keys.c.id.in_([r._mapping["id"] for r in chosen]))
                     .values(revoked_at=when))
        for r in chosen:
            record(conn, "key_revoked", id=int(r._mapping["id"]), name=r._mapping["name"], prefix=r._mapping["prefix"])
    return [replace(_key(r), revoked_at=when) for r in chosen]


def check_key(store: Store, secret: str) -> ApiKey | None:
    """The active key ``secret`` is, or None (unknown, revoked, or not a key at all)."""
    if not secret.startswith(_PREFIX) or len(secret) > 100:
        return None
    with store.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_sha256 == key_digest(secret),
                                                  api_keys.c.revoked_at.is_(None))).first()
    return None if row is None else _key(row)
