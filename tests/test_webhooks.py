"""Webhooks of the review desk: a decision is written to an outbox in its own transaction and sent,
signed, to a receiver on 127.0.0.1; failures are retried, a delivery survives a restart, and one that
keeps failing is dead until retried by hand.

Runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from helpers import file_match, invoke
from vigil.errors import InvalidValue, NotFound, UsageError
from vigil.serve.queue import decide, queue_page
from vigil.serve.webhooks import Deliverer, add_webhook, deliveries, list_webhooks, remove_webhook, retry_delivery
from vigil.store import Store


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the statuses it is given, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.got: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _decided(store: Store, decision: str = "confirm") -> int:
    file_match(store)
    (item,) = queue_page(store).items
    decide(store, item.id, "ana", decision, "seen")
    return item.id


def _until(check: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_decision_reaches_the_receiver_signed(store: Store, receiver: Receiver) -> None:
    _, secret = add_webhook(store, "hotline-crm", receiver.url)
    item_id = _decided(store)
    sender = Deliverer(store, poll_seconds=0.05)
    try:
        _until(lambda: receiver.got)
    finally:
        sender.close()
    headers, body = receiver.got[0]
    payload = json.loads(body)
    assert (payload["event"], payload["data"]["item"], payload["data"]["decision"]) == ("item_decided", item_id,
                                                                                        "confirm")
    assert headers["Vigil-Event"] == "item_decided" and headers["Vigil-Delivery"] == str(payload["id"])
    stamp, mac = (part.split("=", 1)[1] for part in headers["Vigil-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected) and abs(int(stamp) - time.time()) < 60
    (sent,) = deliveries(store)
    assert (sent.state, sent.attempts, sent.webhook) == ("delivered", 1, "hotline-crm")


def test_failures_are_retried_and_a_restart_loses_nothing(store: Store) -> None:
    receiver = Receiver([500, 503])
    add_webhook(store, "crm", receiver.url)
    _decided(store)
    sender = Deliverer(store, poll_seconds=0.05, first_retry=timedelta(milliseconds=50))
    _until(lambda: len(receiver.got) >= 1)
    sender.close()  # the service stops after the first failure: the delivery waits in the outbox
    (waiting,) = deliveries(store)
    assert (waiting.state, waiting.attempts, waiting.last_error) == ("pending", 1, "HTTP 500")
    restarted = Deliverer(store, poll_seconds=0.05, first_retry=timedelta(milliseconds=50))
    try:
        _until(lambda: deliveries(store)[0].state == "delivered")
    finally:
        restarted.close()
        receiver.close()
    assert len(receiver.got) == 3 and deliveries(store)[0].attempts == 3
    assert len({json.loads(body)["id"] for _, body in receiver.got}) == 1  # one delivery, sent until taken


def test_a_delivery_that_keeps_failing_is_dead_until_retried(store: Store) -> None:
    receiver = Receiver([500] * 3)
    add_webhook(store, "crm", receiver.url)
    _decided(store, "reject")
    sender = Deliverer(store, poll_seconds=0.05, max_attempts=3, first_retry=timedelta(milliseconds=20))
    try:
        _until(lambda: deliveries(store, "dead"))
        (dead,) = deliveries(store, "dead")
        assert (dead.attempts, dead.last_error) == (3, "HTTP 500")
        assert retry_delivery(store, dead.id).state == "pending"
        _until(lambda: deliveries(store)[0].state == "delivered")
    finally:
        sender.close()
        receiver.close()
    with pytest.raises(NotFound):
        retry_delivery(store, dead.id)  # delivered: nothing to retry


def test_webhooks_are_checked_and_a_removed_one_gets_nothing(store: Store, receiver: Receiver) -> None:
    for url in ("ftp://x/y", "http://", "not a url"):
        with pytest.raises(InvalidValue, match="URL"):
            add_webhook(store, "bad", url)
    with pytest.raises(InvalidValue, match="events"):
        add_webhook(store, "bad", receiver.url, ("everything",))
    add_webhook(store, "crm", receiver.url)
    with pytest.raises(UsageError, match="exists already"):
        add_webhook(store, "crm", receiver.url)
    assert remove_webhook(store, "crm").disabled_at is not None
    with pytest.raises(NotFound):
        remove_webhook(store, "crm")
    _decided(store)
    assert deliveries(store) == [] and [w.name for w in list_webhooks(store)] == ["crm"]


def test_webhooks_on_the_command_line(tmp_path: Any, receiver: Receiver) -> None:
    db = str(tmp_path / "v.db")
    made = invoke("webhooks", "add", "crm", "--url", receiver.url, "--db", db)
    assert made.returncode == 0 and made.stdout.decode().strip().startswith("whsec_")
    listed = [json.loads(line) for line in invoke("webhooks", "ls", "--json", "--db", db).stdout.decode().splitlines()]
    assert [(w["name"], w["url"], w["events"]) for w in listed] == [("crm", receiver.url, ["item_decided"])]
    assert "secret" not in listed[0]
    store = Store.open(db)
    _decided(store)
    store.close()
    pending = [json.loads(line) for line in
               invoke("webhooks", "deliveries", "--json", "--db", db).stdout.decode().splitlines()]
    assert [(d["webhook"], d["state"]) for d in pending] == [("crm", "pending")]
    assert invoke("webhooks", "retry", str(pending[0]["id"]), "--db", db).returncode == 0
    assert invoke("webhooks", "remove", "crm", "--db", db).returncode == 0
