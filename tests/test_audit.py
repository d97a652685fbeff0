"""The service's audit log: sign-ins, decisions and changes to people and keys, each in the transaction
of what it records, in a hash-chained, append-only log that `vigil audit verify` checks.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from helpers import file_match, invoke
from vigil.errors import NotAuthenticated, StoreUnusable, UsageError
from vigil.lists import Record, Signal, import_records, revoke
from vigil.serve import Role, ServeSettings, create_app, create_key, create_user, revoke_key, sign_in
from vigil.serve.audit import audit_page, export_entries, verify
from vigil.serve.queue import claim, decide, queue_page
from vigil.store import Store

PASSWORD = "correct horse battery"


def _events(store: Store) -> list[tuple[str, dict[str, object]]]:
    return [(e.event, e.data) for e in export_entries(store)]


def test_what_people_and_keys_do_is_audited_in_order_and_the_chain_holds(store: Store) -> None:
    create_key(store, "gate", "matcher")
    create_user(store, "ana", "reviewer", PASSWORD)
    with pytest.raises(NotAuthenticated):
        sign_in(store, "nobody", PASSWORD)
    with pytest.raises(NotAuthenticated):
        sign_in(store, "ana", "not the password")
    sign_in(store, "ana", PASSWORD)
    revoke_key(store, "gate")
    file_match(store)
    (item,) = queue_page(store).items
    claim(store, item.id, "ana")
    with pytest.raises(UsageError):
        decide(store, item.id, "bo", "confirm")  # refused: nothing happened, nothing is written
    decide(store, item.id, "ana", "reject", "a benign photo")
    got = _events(store)
    assert [event for event, _ in got] == ["key_created", "user_created", "sign_in_failed", "sign_in_failed",
                                           "signed_in", "key_revoked", "item_claimed", "item_decided"]
    assert got[0][1]["name"] == "gate" and "key" not in json.dumps(got[0][1]).replace("\"key_", "")
    assert got[2][1] == {"name": "nobody", "reason": "unknown name"}
    assert (got[3][1]["name"], got[3][1]["failures"]) == ("ana", 1)
    assert got[7][1]["decision"] == "reject" and got[7][1]["matches"] == ["known/e1"]
    assert PASSWORD not in json.dumps(got)
    count, problems, head = verify(store)
    assert (count, problems, head) == (8, [], list(export_entries(store))[-1].hash)


def test_list_changes_are_audited_with_what_they_did(store: Store) -> None:
    import_records(store, "ncmec", [Record(f"id{n}", [Signal.of("md5", f"{n:032x}")]) for n in range(5)],
                   format="ncmec", file_name="feed.xml")
    revoke(store, "ncmec", ["id1"])
    imported, revoked = [(e.event, e.data) for e in export_entries(store)]
    assert imported == ("list_changed", {"list": "ncmec", "action": "import", "change": 1, "version": 1,
                                         "added": 5, "updated": 0, "unchanged": 0, "revoked": 0,
                                         "file": "feed.xml", "sha256": None})
    assert (revoked[1]["action"], revoked[1]["revoked"], revoked[1]["version"]) == ("revoke", 1, 1)
    assert verify(store)[1] == []


def test_the_log_refuses_changes_and_verify_names_an_entry_changed_behind_its_back(store: Store,
                                                                                   tmp_path: Path) -> None:
    for n in range(3):
        create_key(store, f"k{n}", "matcher")
    with pytest.raises(StoreUnusable, match="append-only"), store.begin() as conn:
        conn.execute(text("UPDATE audit SET data = '{}' WHERE seq = 2"))
    with pytest.raises(StoreUnusable, match="append-only"), store.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE seq = 3"))
    assert verify(store)[1] == []
    # Someone with the database's owner rights drops the guard and edits an entry.
    with store.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_no_update"))
        else:
            conn.execute(text("DROP TRIGGER audit_append_only ON audit"))
        conn.exec_driver_sql("""UPDATE audit SET data = '{"id":2,"name":"someone else","prefix":"x","role":"admin"}'
                                WHERE seq = 2""")
    count, problems, _ = verify(store)
    assert count == 3 and [p.seq for p in problems] == [2]  # its content no longer matches its hash
    if store.engine.dialect.name == "sqlite":
        db = store.engine.url.database
        assert db is not None
        checked = invoke("audit", "verify", "--db", db)
        assert checked.returncode == 1 and b"entry 2:" in checked.stdout
        as_json = json.loads(invoke("audit", "verify", "--json", "--db", db).stdout)
        assert (as_json["ok"], as_json["entries"], [p["seq"] for p in as_json["problems"]]) == (False, 3, [2])


def test_appends_from_many_threads_keep_one_chain(store: Store) -> None:
    def make(n: int) -> None:
        for k in range(10):
            create_key(store, f"t{n}-{k}", "matcher")

    threads = [threading.Thread(target=make, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    count, problems, _ = verify(store)
    assert (count, problems) == (40, [])


def test_the_log_over_http_and_on_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    store = Store.open(db)
    keys = {role: create_key(store, f"{role.value}-key", role)[1] for role in Role}
    app = create_app(ServeSettings(rate=0, refresh_seconds=0, key_cache_seconds=0), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        admin = {"Authorization": f"Bearer {keys[Role.ADMIN]}"}
        first = client.get("/v1/audit", params={"limit": 3}, headers=admin).json()
        assert [e["seq"] for e in first["entries"]] == [1, 2, 3] and first["next"] == 3
        rest = client.get("/v1/audit", params={"after": first["next"]}, headers=admin).json()
        assert [e["data"]["name"] for e in rest["entries"]] == ["admin-key"] and rest["next"] is None
        only = client.get("/v1/audit", params={"event": "key_revoked"}, headers=admin).json()
        assert only["entries"] == []
        refused = client.get("/v1/audit", headers={"Authorization": f"Bearer {keys[Role.REVIEWER]}"})
        assert refused.status_code == 403
    assert audit_page(store, after=2, limit=1).next == 3
    store.close()
    lines = [json.loads(line) for line in invoke("audit", "export", "--db", db).stdout.decode().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 4] and all(len(line["hash"]) == 64 for line in lines)
    ok = invoke("audit", "verify", "--db", db)
    assert ok.returncode == 0 and b"4 entries; the chain holds; head " + lines[-1]["hash"].encode() in ok.stdout
