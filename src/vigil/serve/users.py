"""The people who sign in to the review desk: reviewers and admins.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's low-memory profile); a hash
made with other parameters is replaced at the next good sign-in. A person may enrol a TOTP second
factor (RFC 6238: 30-second steps, 6 digits; any authenticator app), and an admin may require one; a
code counts once. Every failed sign-in is counted on the person's row, so it holds across the
service's workers: after ``FREE_TRIES`` failures in a row, no try is heard for a delay that doubles
with each further failure (``FIRST_DELAY`` at first, ``LONGEST_DELAY`` at most), right password or not,
and the refusal says how long to wait. An unknown name costs the same hashing as a known one, and both
get the same answer, so the answer does not tell which names exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select, update

from ..errors import InvalidValue, NotAuthenticated, NotFound, RateLimited, SecondFactorNeeded, UsageError
from ..evidence.audit import record
from ..lists.provenance import now as _now  # the project's clock: aware, UTC
from ..store import Store, as_utc
from ..store.schema import users
from .keys import Role

__all__ = ["FIRST_DELAY", "FREE_TRIES", "LONGEST_DELAY", "PEOPLE_ROLES", "User", "create_user", "disable_user",
           "enrol_totp", "get_user", "list_users", "require_totp", "set_password", "sign_in"]

PEOPLE_ROLES = (Role.REVIEWER, Role.ADMIN)  # keys have the other roles; people review, or run the desk
FREE_TRIES = 5
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(minutes=15)
_MIN_PASSWORD, _MAX_PASSWORD = 10, 1024
_ISSUER = "Vigil review desk"

_hasher = PasswordHasher()
# An unknown name is checked against this, so that it costs what a known one does.
_DECOY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None
    totp_enrolled: bool
    totp_required: bool
    failures: int
    locked_until: datetime | None
    last_sign_in_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    when = [None if m[k] is None else as_utc(m[k]) for k in ("disabled_at", "locked_until", "last_sign_in_at")]
    return User(int(m["id"]), str(m["name"]), Role(m["role"]), as_utc(m["created_at"]), when[0],
                m["totp_secret"] is not None, bool(m["totp_required"]), int(m["failures"]), when[1], when[2])


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable() or any(c.isspace() for c in name):
        raise InvalidValue("a user's name must be 1-100 printable characters without spaces")
    return name


def _check_role(role: Role | str) -> Role:
    try:
        found = Role(str(role))
    except ValueError:
        found = None
    if found not in PEOPLE_ROLES:
        raise InvalidValue(f"a user's role is reviewer or admin, not {str(role)!r} (keys have the others)")
    return found


def _check_password(password: str) -> str:
    if not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD or not password.strip():
        raise InvalidValue(f"a password must be {_MIN_PASSWORD}-{_MAX_PASSWORD} characters, not all spaces")
    return password


def _row(conn: Connection, name: str) -> object:
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user named {name!r} (see `vigil users ls`)")
    return row


def create_user(store: Store, name: str, role: Role | str, password: str) -> User:
    """A new person who may sign in (UsageError when the name is taken)."""
    name, role, password = _check_name(name), _check_role(role), _check_password(password)
    digest = _hasher.hash(password)
    with store.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == name)).first() is not None:
            raise UsageError(f"a user named {name!r} exists already")
        conn.execute(users.insert().values(
            name=name, role=role.value, password_hash=digest, totp_secret=None, totp_required=False,
            totp_last_step=None, failures=0, locked_until=None, created_at=_now(), disabled_at=None,
            last_sign_in_at=None))
        record(conn, "user_created", name=name, role=role.value)
        return _user(_row(conn, name))


def get_user(store: Store, name: str) -> User:
    with store.connect() as conn:
        return _user(_row(conn, name))


def list_users(store: Store) -> list[User]:
    """Everyone, disabled people too (their names stay in the record), oldest first."""
    with store.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.id))]


def _change(store: Store, name: str, event: str, audited: dict[str, object], **values: object) -> User:
    with store.begin() as conn:
        _row(conn, name)
        conn.execute(update(users).where(users.c.name == name).values(**values))
        record(conn, event, name=name, **audited)
        return _user(_row(conn, name))


def disable_user(store: Store, name: str) -> User:
    """The person may not sign in any more (the record stays)."""
    return _change(store, name, "user_disabled", {}, disabled_at=_now())


def set_password(store: Store, name: str, password: str) -> User:
    """A new password (an admin's reset also lifts a wait imposed by failed tries)."""
    return _change(store, name, "password_set", {}, password_hash=_hasher.hash(_check_password(password)),
                   failures=0, locked_until=None)


def enrol_totp(store: Store, name: str) -> tuple[User, str]:
    """A new TOTP secret for the person (replacing any earlier one): (the user, the ``otpauth://`` URI
    an authenticator app reads, as text or a QR code). Codes are asked for from the next sign-in."""
    secret = pyotp.random_base32()
    user = _change(store, name, "totp_enrolled", {}, totp_secret=secret, totp_last_step=None)
    return user, pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=_ISSUER)


def require_totp(store: Store, name: str, required: bool = True) -> User:
    """Whether the person must give a code: one who has not enrolled cannot sign in until enrolled."""
    return _change(store, name, "totp_required", {"required": required}, totp_required=required)


def _delay(failures: int) -> timedelta:
    """How long no try is heard after this many failures in a row."""
    if failures < FREE_TRIES:
        return timedelta(0)
    longer: timedelta = FIRST_DELAY * 2 ** min(failures - FREE_TRIES, 20)
    return min(LONGEST_DELAY, longer)


def sign_in(store: Store, name: str, password: str, code: str | None = None, *,
            now: datetime | None = None) -> User:
    """The person, if the name, the password and (when enrolled or required) the one-time code are right.

    NotAuthenticated for a wrong name or password (the same message for both), a wrong or reused code,
    or a disabled person; SecondFactorNeeded when only the code is missing; RateLimited, with the
    seconds to wait, after ``FREE_TRIES`` failures in a row.
    """
    now = now or _now()
    given = name.strip()
    problem: NotAuthenticated | RateLimited
    with store.begin() as conn:
        row = conn.execute(select(users).where(users.c.name == given).with_for_update()).first() if given else None
        if row is None:
            _verify(_DECOY, password)
            problem = NotAuthenticated("wrong name or password")
            record(conn, "sign_in_failed", name=given[:100], reason="unknown name")
        else:
            found = _attempt(conn, row, password, code, now)
            if isinstance(found, User):
                return found
            problem = found
    raise problem  # after the failure is counted and audited (committed)


def _attempt(conn: Connection, row: Any, password: str, code: str | None,
             now: datetime) -> User | NotAuthenticated | RateLimited:
    """Check one person's sign-in and write down how it went: the user, or the refusal to raise."""
    m = row._mapping
    name = str(m["name"])
    locked = None if m["locked_until"] is None else as_utc(m["locked_until"])
    if locked is not None and now < locked:
        wait = (locked - now).total_seconds()
        record(conn, "sign_in_refused", name=name, reason="waiting after failed tries", seconds=round(wait))
        return RateLimited(f"too many failed sign-ins: try again in {wait:.0f} s", retry_after=wait)
    problem = None
    if not _verify(str(m["password_hash"]), password):
        problem = NotAuthenticated("wrong name or password")
    elif m["disabled_at"] is not None:
        problem = NotAuthenticated(f"the user {name!r} is disabled: ask an admin")
    elif m["totp_required"] and m["totp_secret"] is None:
        problem = NotAuthenticated("a one-time code is required and none is enrolled: ask an admin to enrol one")
    elif m["totp_secret"] is not None:
        if not code:
            raise SecondFactorNeeded("give the one-time code from your authenticator app")  # not a failure
        step = _code_step(str(m["totp_secret"]), code, now)
        if step is None or (m["totp_last_step"] is not None and step <= int(m["totp_last_step"])):
            problem = NotAuthenticated("wrong or already used one-time code")
        else:
            conn.execute(update(users).where(users.c.id == m["id"]).values(totp_last_step=step))
    if problem is not None:
        failures = int(m["failures"]) + 1
        delay = _delay(failures)
        conn.execute(update(users).where(users.c.id == m["id"]).values(
            failures=failures, locked_until=now + delay if delay else None))
        record(conn, "sign_in_failed", name=name, reason=str(problem), failures=failures)
        return problem
    values: dict[str, object] = {"failures": 0, "locked_until": None, "last_sign_in_at": now}
    if _hasher.check_needs_rehash(str(m["password_hash"])):
        values["password_hash"] = _hasher.hash(password)
    conn.execute(update(users).where(users.c.id == m["id"]).values(**values))
    record(conn, "signed_in", name=name, second_factor=m["totp_secret"] is not None)
    return _user(_row(conn, name))


def _verify(digest: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(digest, password))
    except (VerificationError, InvalidHashError):
        return False


def _code_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step the code belongs to (this one or the one either side: clocks drift), or None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return int(candidate)
    return None
