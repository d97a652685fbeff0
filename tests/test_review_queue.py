"""The review desk's queue: match events grouped by the content that matched, in review order, claimed by
one reviewer at a time, and decided; and the queue over HTTP.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from vigil.errors import InvalidValue, NotFound, UsageError
from vigil.lists import Record, Signal, import_records
from vigil.matching import Match, QueryResult
from vigil.serve import Role, ServeSettings, create_app, create_key
from vigil.serve.events import EventWriter
from vigil.serve.queue import CLAIM_MINUTES, State, claim, content_key, decide, get_item, queue_page
from vigil.store import Store

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _found(entry: str, distance: int = 0, category: str | None = "1", listed: str = "known") -> QueryResult:
    return QueryResult("q", matches=[Match(listed, entry, "pdq", distance, "original", category)])


@pytest.fixture
def events(store: Store) -> Iterator[EventWriter]:
    writer = EventWriter(store, flush_seconds=0.05)
    yield writer
    writer.close()


def _lookup(writer: EventWriter, value: str, result: QueryResult) -> None:
    writer.record("lookup", "gate", [({"type": "pdq", "value": value}, result)])


def test_a_thousand_matches_of_one_content_are_one_item(store: Store, events: EventWriter) -> None:
    for _ in range(1000):
        _lookup(events, "ab" * 32, _found("e1", 12))
    upload = {"md5": "11" * 16, "sha256": "22" * 32, "pdq": {"hash": "cd" * 32, "quality": 90}}
    for k in range(3):
        events.record("match", "gate", [(upload, _found("e2", 4 + k))], f"upload-{k}")
    _lookup(events, "ef" * 32, _found("e1", 20))
    assert events.flush()
    items = queue_page(store).items
    assert [(i.content_key, i.events, i.best_distance) for i in items] == [
        ("sha256:" + "22" * 32, 3, 4), ("pdq:" + "ab" * 32, 1000, 12), ("pdq:" + "ef" * 32, 1, 20)]
    (match,) = items[0].matches
    assert (match.list, match.entry, match.distance, match.events) == ("known", "e2", 4, 3)
    assert content_key({"md5": "11" * 16}) == "md5:" + "11" * 16


def test_items_wait_most_severe_first_then_closest_then_oldest_and_page_by_cursor(
        store: Store, events: EventWriter) -> None:
    cases = [("a", None, 0), ("b", "2", 5), ("c", "1", 9), ("d", "1", 3), ("e", "A1", 0), ("f", "2", 5)]
    for name, category, distance in cases:
        _lookup(events, name * 64 if name != "e" else "e" * 64, _found(name, distance, category))
        assert events.flush()
    order = [i.content_key[4:5] for i in queue_page(store).items]
    assert order == ["d", "c", "b", "f", "e", "a"]  # "1" before "2" before "A1"; none last; b before f: older
    seen: list[str] = []
    page = queue_page(store, limit=4)
    seen += [i.content_key[4:5] for i in page.items]
    assert page.next is not None
    page = queue_page(store, after=page.next, limit=4)
    seen += [i.content_key[4:5] for i in page.items]
    assert seen == order and page.next is None
    with pytest.raises(InvalidValue, match="cursor"):
        queue_page(store, after="not-a-cursor")
    with pytest.raises(InvalidValue, match="limit"):
        queue_page(store, limit=0)


def test_one_reviewer_at_a_time_and_an_abandoned_claim_runs_out(store: Store, events: EventWriter) -> None:
    _lookup(events, "ab" * 32, _found("e1"))
    assert events.flush()
    (item,) = queue_page(store).items
    held = claim(store, item.id, "ana", now=T0)
    assert (held.claimed_by, held.claimed_until) == ("ana", T0 + timedelta(minutes=CLAIM_MINUTES))
    with pytest.raises(UsageError, match="claimed by ana"):
        claim(store, item.id, "bo", now=T0 + timedelta(minutes=1))
    with pytest.raises(UsageError, match="claimed by ana"):
        decide(store, item.id, "bo", "confirm", now=T0 + timedelta(minutes=1))
    assert claim(store, item.id, "ana", now=T0 + timedelta(minutes=10)).claimed_until == T0 + timedelta(minutes=25)
    later = T0 + timedelta(minutes=26)
    assert claim(store, item.id, "bo", now=later).claimed_by == "bo"  # ana's claim ran out


def test_decisions_escalate_then_confirm_and_a_decided_item_stays_decided(store: Store, events: EventWriter) -> None:
    _lookup(events, "ab" * 32, _found("e1"))
    _lookup(events, "cd" * 32, _found("e2"))
    assert events.flush()
    first, second = queue_page(store).items
    escalated = decide(store, first.id, "ana", "escalate", "looks like a crop; a second pair of eyes", now=T0)
    assert (escalated.state, escalated.decided_by, escalated.claimed_by) == (State.ESCALATED, "ana", None)
    assert [i.id for i in queue_page(store, [State.ESCALATED]).items] == [first.id]
    confirmed = decide(store, first.id, "lead", "confirm", now=T0)
    assert (confirmed.state, confirmed.decided_by) == (State.CONFIRMED, "lead")
    assert confirmed.note == "looks like a crop; a second pair of eyes"  # kept: the lead wrote none
    assert decide(store, second.id, "ana", "reject", "a benign photo", now=T0).state is State.REJECTED
    assert queue_page(store).items == []
    with pytest.raises(UsageError, match="decided already"):
        decide(store, first.id, "ana", "reject", now=T0)
    with pytest.raises(UsageError, match="decided already"):
        claim(store, second.id, "ana", now=T0)
    with pytest.raises(InvalidValue, match="confirm, reject or escalate"):
        decide(store, second.id, "ana", "delete")
    with pytest.raises(NotFound):
        get_item(store, 999)
    # A decided item goes on counting what matches it.
    _lookup(events, "ab" * 32, _found("e1"))
    assert events.flush()
    assert get_item(store, first.id).events == 2 and get_item(store, first.id).state is State.CONFIRMED


def test_the_queue_over_http(store: Store) -> None:
    import_records(store, "known", [Record("e1", [Signal.of("md5", "ab" * 16)], "A1")], action="add")
    keys = {role: create_key(store, f"{role.value}-key", role)[1] for role in Role}
    app = create_app(ServeSettings(rate=0, refresh_seconds=0, key_cache_seconds=0, two_person=("C9",), sla_hours=2),
                     store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        def auth(role: Role) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[role]}"}

        for _ in range(3):
            client.get("/v1/lookup", params={"signal_type": "md5", "signal": "AB" * 16}, headers=auth(Role.MATCHER))
        assert client.app.state.service.events.flush()  # type: ignore[attr-defined]
        page = client.get("/v1/queue", headers=auth(Role.REVIEWER)).json()
        (item,) = page["items"]
        assert (item["content"], item["count"], item["state"], item["category"], page["next"]) == (
            "md5:" + "ab" * 16, 3, "pending", "A1", None)
        assert item["matches"] == [{"list": "known", "entry": "e1", "signal": "md5", "distance": 0,
                                    "variant": "original", "category": "A1", "count": 3}]
        assert item["due"] == (datetime.fromisoformat(item["first_seen"]) + timedelta(hours=2)).isoformat()
        assert item["overdue"] is False and item["first_confirmed_by"] is None
        url = f"/v1/queue/{item['id']}"
        assert client.post(url + "/claim", headers=auth(Role.REVIEWER)).json()["claimed_by"] == "reviewer-key"
        taken = client.post(url + "/decision", json={"decision": "confirm"}, headers=auth(Role.ADMIN))
        assert taken.status_code == 400 and "claimed by reviewer-key" in taken.json()["error"]["message"]
        done = client.post(url + "/decision", json={"decision": "confirm", "note": "seen"}, headers=auth(Role.REVIEWER))
        assert (done.json()["state"], done.json()["decided_by"]) == ("confirmed", "reviewer-key")
        assert client.get("/v1/queue", headers=auth(Role.REVIEWER)).json()["items"] == []
        assert [i["id"] for i in client.get("/v1/queue", params={"state": "confirmed"},
                                            headers=auth(Role.REVIEWER)).json()["items"]] == [item["id"]]
        assert client.get("/v1/queue", headers=auth(Role.MATCHER)).status_code == 403
        assert client.get("/v1/queue/99", headers=auth(Role.REVIEWER)).status_code == 404
        assert client.post(url + "/decision", json={"decision": "nope"}, headers=auth(Role.REVIEWER)).status_code == 422
        assert client.get("/v1/queue", params={"after": "xyz"}, headers=auth(Role.REVIEWER)).status_code == 422


def test_two_people_confirm_the_categories_that_need_two(store: Store, events: EventWriter) -> None:
    _lookup(events, "ab" * 32, _found("e1", category="A1"))
    _lookup(events, "cd" * 32, _found("e2", category="B2"))
    assert events.flush()
    severe, other = queue_page(store).items
    once = decide(store, severe.id, "ana", "confirm", now=T0, two_person={"A1"})
    assert (once.state, once.first_confirmed_by, once.decided_by) == (State.PENDING, "ana", None)
    with pytest.raises(UsageError, match="needs a second person"):
        decide(store, severe.id, "ana", "confirm", now=T0, two_person={"A1"})
    both = decide(store, severe.id, "bo", "confirm", now=T0, two_person={"A1"})
    assert (both.state, both.first_confirmed_by, both.decided_by) == (State.CONFIRMED, "ana", "bo")
    assert decide(store, other.id, "ana", "confirm", now=T0, two_person={"A1"}).state is State.CONFIRMED
    from vigil.serve.audit import export_entries

    assert [e.event for e in export_entries(store)] == ["item_confirmed_once", "item_decided", "item_decided"]


def test_each_item_is_due_a_set_time_after_its_first_match(store: Store, events: EventWriter) -> None:
    _lookup(events, "ab" * 32, _found("e1"))
    assert events.flush()
    (item,) = queue_page(store).items
    due = item.first_seen + timedelta(hours=4)
    assert item.to_json(4, now=due - timedelta(minutes=1))["overdue"] is False
    late = item.to_json(4, now=due + timedelta(minutes=1))
    assert (late["due"], late["overdue"]) == (due.isoformat(), True)
    decided = decide(store, item.id, "ana", "reject")
    assert decided.to_json(4, now=due + timedelta(days=1))["overdue"] is False  # decided: not late any more
    assert "due" not in decided.to_json()


def test_a_decision_adds_the_content_to_a_list_so_the_next_copy_is_known(store: Store) -> None:
    import_records(store, "known", [Record("e1", [Signal.of("md5", "ab" * 16)], "1"),
                                    Record("e2", [Signal.of("md5", "cd" * 16)], "1")], action="add")
    keys = {role: create_key(store, f"{role.value}-key", role)[1] for role in (Role.MATCHER, Role.REVIEWER)}
    app = create_app(ServeSettings(rate=0, refresh_seconds=0, key_cache_seconds=0), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        matcher = {"Authorization": f"Bearer {keys[Role.MATCHER]}"}
        reviewer = {"Authorization": f"Bearer {keys[Role.REVIEWER]}"}

        def lookup(md5: str) -> dict[str, object]:
            got = client.get("/v1/lookup", params={"signal_type": "md5", "signal": md5}, headers=matcher).json()
            assert isinstance(got, dict)
            return got

        lookup("ab" * 16)
        lookup("cd" * 16)
        assert client.app.state.service.events.flush()  # type: ignore[attr-defined]
        first, second = client.get("/v1/queue", headers=reviewer).json()["items"]
        # A list of the other kind is refused before anything is decided.
        wrong = client.post(f"/v1/queue/{first['id']}/decision", json={"decision": "reject", "list": "known"},
                            headers=reviewer)
        assert wrong.status_code == 400 and "block list" in wrong.json()["error"]["message"]
        assert client.get(f"/v1/queue/{first['id']}", headers=reviewer).json()["state"] == "pending"
        escalate = client.post(f"/v1/queue/{first['id']}/decision", json={"decision": "escalate", "list": "x"},
                               headers=reviewer)
        assert escalate.status_code == 422
        # Rejected onto an allow-list: the next lookup of the same hash is suppressed.
        done = client.post(f"/v1/queue/{first['id']}/decision", json={"decision": "reject", "list": "benign"},
                           headers=reviewer).json()
        assert done["state"] == "rejected" and done["listed"] == {"list": "benign", "entry": first["content"]}
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while not lookup(first["content"][4:]).get("allowed"):
            assert datetime.now(UTC) < deadline
        again = lookup(first["content"][4:])
        assert again["matches"] == [] and [m["list"] for m in again["suppressed"]] == ["known"]  # type: ignore[union-attr]
        # Confirmed onto a block list of its own.
        confirmed = client.post(f"/v1/queue/{second['id']}/decision", json={"decision": "confirm", "list": "ours"},
                                headers=reviewer).json()
        assert confirmed["listed"]["list"] == "ours"
        while {m["list"] for m in lookup(second["content"][4:])["matches"]} != {"known", "ours"}:  # type: ignore[union-attr]
            assert datetime.now(UTC) < deadline
    from vigil.lists import describe_list
    from vigil.serve.audit import export_entries

    assert (describe_list(store, "benign").kind.value, describe_list(store, "ours").kind.value) == ("allow", "block")
    assert [e.event for e in export_entries(store)][-3:] == ["item_decided", "list_changed", "item_listed"]
