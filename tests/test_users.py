"""People of the review desk: argon2id passwords, TOTP codes an admin can require, failed sign-ins
counted and throttled, and `vigil users` on the command line.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from helpers import invoke
from vigil.errors import InvalidValue, NotAuthenticated, NotFound, RateLimited, SecondFactorNeeded, UsageError
from vigil.serve import users as users_module
from vigil.serve.users import (
    FIRST_DELAY,
    FREE_TRIES,
    LONGEST_DELAY,
    create_user,
    disable_user,
    enrol_totp,
    get_user,
    list_users,
    require_totp,
    set_password,
    sign_in,
)
from vigil.store import Store
from vigil.store.schema import users

PASSWORD = "correct horse battery"
T0 = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)


def test_a_person_is_created_with_a_hash_of_the_password_only(store: Store) -> None:
    user = create_user(store, "ana", "reviewer", PASSWORD)
    assert (user.name, user.role.value, user.active, user.totp_enrolled, user.failures) == (
        "ana", "reviewer", True, False, 0)
    with store.connect() as conn:
        (stored,) = conn.execute(select(users.c.password_hash)).scalars()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert [u.name for u in list_users(store)] == ["ana"]
    assert sign_in(store, "ana", PASSWORD, now=T0).last_sign_in_at == T0


@pytest.mark.parametrize(("name", "role", "password", "why"), [
    ("", "reviewer", PASSWORD, "name"), ("two words", "reviewer", PASSWORD, "name"),
    ("x" * 101, "admin", PASSWORD, "name"), ("ana", "matcher", PASSWORD, "role"), ("ana", "boss", PASSWORD, "role"),
    ("ana", "admin", "short", "password"), ("ana", "admin", " " * 12, "password"),
    ("ana", "admin", "x" * 1025, "password"),
])
def test_bad_names_roles_and_passwords_are_refused(store: Store, name: str, role: str, password: str, why: str) -> None:
    with pytest.raises(InvalidValue, match=why):
        create_user(store, name, role, password)
    assert list_users(store) == []


def test_a_taken_name_and_an_unknown_person_are_said_so(store: Store) -> None:
    create_user(store, "ana", "admin", PASSWORD)
    with pytest.raises(UsageError, match="exists already"):
        create_user(store, "ana", "reviewer", PASSWORD)
    with pytest.raises(NotFound, match="no user named 'bo'"):
        disable_user(store, "bo")


def test_a_wrong_name_and_a_wrong_password_get_the_same_answer(store: Store) -> None:
    create_user(store, "ana", "reviewer", PASSWORD)
    with pytest.raises(NotAuthenticated) as unknown:
        sign_in(store, "nobody", PASSWORD, now=T0)
    with pytest.raises(NotAuthenticated) as wrong:
        sign_in(store, "ana", "not the password", now=T0)
    assert str(unknown.value) == str(wrong.value) == "wrong name or password"
    assert get_user(store, "ana").failures == 1


def test_failed_sign_ins_are_counted_and_throttled_with_a_doubling_wait(store: Store) -> None:
    create_user(store, "ana", "reviewer", PASSWORD)
    for k in range(FREE_TRIES - 1):
        with pytest.raises(NotAuthenticated):
            sign_in(store, "ana", f"guess {k:04d}", now=T0)
    assert get_user(store, "ana").locked_until is None  # the free tries
    with pytest.raises(NotAuthenticated):
        sign_in(store, "ana", "guess five", now=T0)
    assert get_user(store, "ana").locked_until == T0 + FIRST_DELAY
    # While the wait runs, even the right password is not heard, and the answer says how long.
    with pytest.raises(RateLimited) as waiting:
        sign_in(store, "ana", PASSWORD, now=T0 + FIRST_DELAY / 3)
    assert waiting.value.retry_after == pytest.approx((FIRST_DELAY * 2 / 3).total_seconds())
    # Each further failure doubles the wait, up to the longest.
    now = T0 + FIRST_DELAY
    with pytest.raises(NotAuthenticated):
        sign_in(store, "ana", "guess six", now=now)
    assert get_user(store, "ana").locked_until == now + 2 * FIRST_DELAY
    for _ in range(10):
        now = get_user(store, "ana").locked_until  # type: ignore[assignment]
        with pytest.raises(NotAuthenticated):
            sign_in(store, "ana", "again", now=now)
    assert get_user(store, "ana").locked_until == now + LONGEST_DELAY
    # The right password after the wait: in, and the count starts again.
    user = sign_in(store, "ana", PASSWORD, now=now + LONGEST_DELAY)
    assert (user.failures, user.locked_until) == (0, None)


def test_an_admins_password_reset_lifts_the_wait(store: Store) -> None:
    create_user(store, "ana", "reviewer", PASSWORD)
    for _ in range(FREE_TRIES):
        with pytest.raises(NotAuthenticated):
            sign_in(store, "ana", "wrong guess", now=T0)
    set_password(store, "ana", "a new password here")
    assert sign_in(store, "ana", "a new password here", now=T0).failures == 0
    with pytest.raises(NotAuthenticated):
        sign_in(store, "ana", PASSWORD, now=T0)


def test_a_disabled_person_cannot_sign_in(store: Store) -> None:
    create_user(store, "ana", "reviewer", PASSWORD)
    assert not disable_user(store, "ana").active
    with pytest.raises(NotAuthenticated, match="disabled"):
        sign_in(store, "ana", PASSWORD, now=T0)


def test_one_time_codes_once_enrolled_and_each_counts_once(store: Store) -> None:
    create_user(store, "ana", "admin", PASSWORD)
    user, uri = enrol_totp(store, "ana")
    assert user.totp_enrolled and uri.startswith("otpauth://totp/") and "ana" in uri
    totp = pyotp.parse_uri(uri)
    with pytest.raises(SecondFactorNeeded):
        sign_in(store, "ana", PASSWORD, now=T0)
    assert get_user(store, "ana").failures == 0  # a missing code is a question, not a failure
    with pytest.raises(NotAuthenticated, match="one-time code"):
        sign_in(store, "ana", PASSWORD, "000000" if totp.at(T0) != "000000" else "111111", now=T0)
    assert sign_in(store, "ana", PASSWORD, totp.at(T0), now=T0).failures == 0
    with pytest.raises(NotAuthenticated, match="already used"):  # the same code again
        sign_in(store, "ana", PASSWORD, totp.at(T0), now=T0 + timedelta(seconds=5))
    # The next step's code, and one step of clock drift either way, are taken.
    assert sign_in(store, "ana", PASSWORD, totp.at(T0 + timedelta(seconds=30)), now=T0 + timedelta(seconds=50))
    later = T0 + timedelta(minutes=5)
    assert sign_in(store, "ana", PASSWORD, totp.at(later - timedelta(seconds=30)), now=later)
    # A wrong password with a right code is still a wrong password.
    with pytest.raises(NotAuthenticated, match="wrong name or password"):
        minute = later + timedelta(minutes=1)
        sign_in(store, "ana", "not the password", totp.at(minute), now=minute)


def test_a_required_code_without_enrolment_keeps_the_person_out(store: Store) -> None:
    create_user(store, "ana", "reviewer", PASSWORD)
    assert require_totp(store, "ana").totp_required
    with pytest.raises(NotAuthenticated, match="none is enrolled"):
        sign_in(store, "ana", PASSWORD, now=T0)
    _, uri = enrol_totp(store, "ana")
    assert sign_in(store, "ana", PASSWORD, pyotp.parse_uri(uri).at(T0), now=T0)
    assert not require_totp(store, "ana", False).totp_required


def test_a_hash_with_old_parameters_is_replaced_at_the_next_sign_in(store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    monkeypatch.setattr(users_module, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192))
    create_user(store, "ana", "reviewer", PASSWORD)
    monkeypatch.undo()
    with store.connect() as conn:
        old = conn.execute(select(users.c.password_hash)).scalar_one()
    assert "m=8192" in old
    sign_in(store, "ana", PASSWORD, now=T0)
    with store.connect() as conn:
        new = conn.execute(select(users.c.password_hash)).scalar_one()
    assert new != old and "m=8192" not in new
    assert sign_in(store, "ana", PASSWORD, now=T0)


def test_users_on_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    made = invoke("users", "create", "ana", "--role", "admin", "--db", db, input=f"{PASSWORD}\n".encode())
    assert made.returncode == 0, made.stderr
    assert PASSWORD.encode() not in made.stdout + made.stderr
    listed = invoke("users", "ls", "--json", "--db", db)
    (row,) = [json.loads(line) for line in listed.stdout.decode().splitlines()]
    assert (row["name"], row["role"], row["totp"], row["disabled"]) == ("ana", "admin", False, None)
    enrolled = invoke("users", "totp", "ana", "--db", db)
    uri = enrolled.stdout.decode().strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/")
    assert invoke("users", "require-totp", "ana", "--db", db).returncode == 0
    store = Store.open(db)
    user = sign_in(store, "ana", PASSWORD, pyotp.parse_uri(uri).now())
    assert user.totp_required
    store.close()
    assert invoke("users", "disable", "ana", "--db", db).returncode == 0
    bad = invoke("users", "create", "bo", "--role", "matcher", "--db", db, input=f"{PASSWORD}\n".encode())
    assert bad.returncode == 2 and b"reviewer or admin" in bad.stderr
    empty = invoke("users", "create", "bo", "--role", "reviewer", "--db", db, input=b"")
    assert empty.returncode == 2 and b"no password" in empty.stderr
