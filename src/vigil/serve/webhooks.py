"""Webhooks: the review desk tells other systems what was decided, signed, at least once.

An admin adds a webhook (``vigil webhooks add NAME --url URL``): a URL, the events it wants
(``item_decided`` by default), and a secret shown once. Each such event is written to an outbox
(``webhook_deliveries``) in the transaction of the decision itself, so nothing decided is lost to a
crash or a restart; a delivery thread in each worker sends what is due, one worker per delivery (a
delivery is leased before it is sent), and a delivery whose worker died is sent again when its lease
runs out: at least once, so receivers de-duplicate by the ``Vigil-Delivery`` id. A failed delivery (no
answer, or not 2xx) is retried with a doubling delay (``FIRST_RETRY`` at first, at most
``LONGEST_RETRY``); after ``MAX_ATTEMPTS`` it is dead, listed by ``vigil webhooks deliveries --state
dead`` and ``GET /v1/webhooks/deliveries``, until retried by hand.

Each request is ``POST`` JSON ``{"id", "event", "at", "data"}`` with headers ``Vigil-Event``,
``Vigil-Delivery`` and ``Vigil-Signature: t=<unix seconds>,v1=<hex>``, where v1 is
HMAC-SHA256(secret, "<t>." + body): a receiver recomputes it, and refuses a t far from its clock
(a replayed request).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select, update

from ..errors import InvalidValue, NotFound, UsageError, VigilError
from ..evidence.audit import record
from ..lists.provenance import now as _now  # the project's clock: aware, UTC
from ..store import Store, as_utc
from ..store.schema import webhook_deliveries, webhooks

__all__ = ["EVENTS", "FIRST_RETRY", "LEASE", "LONGEST_RETRY", "MAX_ATTEMPTS", "Deliverer", "Delivery", "Webhook",
           "add_webhook", "deliveries", "enqueue", "list_webhooks", "remove_webhook", "retry_delivery", "sign"]

EVENTS = ("item_decided", "item_confirmed_once", "item_listed")
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about 9 hours of retries
LEASE = timedelta(seconds=60)  # a delivery being sent is not sent by another worker for this long

_log = logging.getLogger("vigil.serve")


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook: str
    event: str
    state: str  # pending, delivered, dead
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None

    def to_json(self) -> dict[str, Any]:
        def stamp(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {"id": self.id, "webhook": self.webhook, "event": self.event, "state": self.state,
                "attempts": self.attempts, "created": stamp(self.created_at),
                "next_attempt": stamp(self.next_attempt_at), "delivered": stamp(self.delivered_at),
                "error": self.last_error}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Vigil-Signature`` header of a request with this body, sent at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _webhook(row: Any) -> Webhook:
    m = row._mapping
    return Webhook(int(m["id"]), str(m["name"]), str(m["url"]), tuple(json.loads(m["events"])),
                   as_utc(m["created_at"]), None if m["disabled_at"] is None else as_utc(m["disabled_at"]))


def add_webhook(store: Store, name: str, url: str, events: tuple[str, ...] = ("item_decided",)) -> tuple[Webhook, str]:
    """A new webhook: (it, its signing secret, shown this once)."""
    name = name.strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise InvalidValue("a webhook's name must be 1-100 printable characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise InvalidValue(f"a webhook's URL must be http:// or https:// with a host, not {url[:80]!r}")
    unknown = [e for e in events if e not in EVENTS]
    if not events or unknown:
        raise InvalidValue(f"events must be some of {', '.join(EVENTS)}; not {', '.join(unknown) or 'none'}")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with store.begin() as conn:
        if conn.execute(select(webhooks.c.id).where(webhooks.c.name == name)).first() is not None:
            raise UsageError(f"a webhook named {name!r} exists already")
        conn.execute(webhooks.insert().values(name=name, url=url, secret=secret, events=json.dumps(list(events)),
                                              created_at=_now(), disabled_at=None))
        record(conn, "webhook_added", name=name, url=url, events=list(events))
        row = conn.execute(select(webhooks).where(webhooks.c.name == name)).one()
    return _webhook(row), secret


def list_webhooks(store: Store) -> list[Webhook]:
    with store.connect() as conn:
        return [_webhook(r) for r in conn.execute(select(webhooks).order_by(webhooks.c.id))]


def remove_webhook(store: Store, name: str) -> Webhook:
    """Stop sending to a webhook (its record and deliveries stay; pending ones are not sent)."""
    with store.begin() as conn:
        row = conn.execute(select(webhooks).where(webhooks.c.name == name, webhooks.c.disabled_at.is_(None))).first()
        if row is None:
            raise NotFound(f"no active webhook named {name!r} (see `vigil webhooks ls`)")
        conn.execute(update(webhooks).where(webhooks.c.id == row.id).values(disabled_at=_now()))
        record(conn, "webhook_removed", name=name)
        return _webhook(conn.execute(select(webhooks).where(webhooks.c.id == row.id)).one())


def enqueue(conn: Connection, event: str, data: dict[str, Any]) -> int:
    """Put ``event`` in the outbox for every active webhook that wants it, in ``conn``'s transaction;
    returns how many deliveries were queued."""
    now = _now()
    wanted = [r for r in conn.execute(select(webhooks.c.id, webhooks.c.events).where(webhooks.c.disabled_at.is_(None)))
              if event in json.loads(r.events)]
    for r in wanted:
        body = {"event": event, "at": now.isoformat(), "data": data}
        conn.execute(webhook_deliveries.insert().values(
            webhook_id=r.id, event=event, payload=json.dumps(body, ensure_ascii=False, sort_keys=True),
            created_at=now, state="pending", attempts=0, next_attempt_at=now, delivered_at=None, last_error=None))
    return len(wanted)


def _delivery(row: Any) -> Delivery:
    m = row._mapping

    def when(name: str) -> datetime | None:
        return None if m[name] is None else as_utc(m[name])

    return Delivery(int(m["id"]), str(m["name"]), str(m["event"]), str(m["state"]), int(m["attempts"]),
                    as_utc(m["created_at"]), when("next_attempt_at"), when("delivered_at"), m["last_error"])


def _deliveries_query() -> Any:
    d = webhook_deliveries.c
    return select(d.id, webhooks.c.name, d.event, d.state, d.attempts, d.created_at, d.next_attempt_at,
                  d.delivered_at, d.last_error).join(webhooks, webhooks.c.id == d.webhook_id)


def deliveries(store: Store, state: str | None = None, limit: int = 100) -> list[Delivery]:
    """The newest deliveries (of one state: ``dead`` is the dead-letter view)."""
    if state is not None and state not in ("pending", "delivered", "dead"):
        raise InvalidValue("state is pending, delivered or dead")
    query = _deliveries_query()
    if state is not None:
        query = query.where(webhook_deliveries.c.state == state)
    with store.connect() as conn:
        return [_delivery(r) for r in conn.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit))]


def retry_delivery(store: Store, delivery_id: int) -> Delivery:
    """Send a dead (or any undelivered) delivery again, from its first attempt."""
    d = webhook_deliveries.c
    with store.begin() as conn:
        done = conn.execute(update(webhook_deliveries).where(d.id == delivery_id, d.state != "delivered")
                            .values(state="pending", attempts=0, next_attempt_at=_now(), last_error=None))
        if not done.rowcount:
            raise NotFound(f"no undelivered delivery {delivery_id}")
        record(conn, "delivery_retried", delivery=delivery_id)
        return _delivery(conn.execute(_deliveries_query().where(d.id == delivery_id)).one())


def _retry_after(first: timedelta, attempts: int) -> timedelta:
    """How long to wait after this many failed attempts: doubling from ``first``, at most LONGEST_RETRY."""
    longer: timedelta = first * 2 ** min(attempts - 1, 20)
    return min(LONGEST_RETRY, longer)


class Deliverer:
    """The delivery thread of one worker: sends what is due, every ``poll_seconds``."""

    def __init__(self, store: Store, *, poll_seconds: float = 1.0, timeout: float = 10.0,
                 max_attempts: int = MAX_ATTEMPTS, first_retry: timedelta = FIRST_RETRY) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.first_retry = first_retry
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-webhooks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                while self.send_due() and not self._stop.is_set():
                    pass
            except VigilError as exc:  # the database is away: the next round tries again
                _log.warning("webhook deliveries wait: %s", exc)

    def send_due(self, limit: int = 20) -> int:
        """Lease and send the deliveries that are due; returns how many were tried."""
        d = webhook_deliveries.c
        now = _now()
        with self.store.connect() as conn:
            due = conn.execute(select(d.id, d.next_attempt_at).where(d.state == "pending", d.next_attempt_at <= now)
                               .order_by(d.next_attempt_at).limit(limit)).all()
        tried = 0
        for row in due:
            with self.store.begin() as conn:  # the lease: only the worker whose update took it sends it
                leased = conn.execute(update(webhook_deliveries).where(
                    d.id == row.id, d.state == "pending", d.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=now + LEASE)).rowcount
                if not leased:
                    continue
                job = conn.execute(select(d.id, d.event, d.payload, d.attempts, webhooks.c.url, webhooks.c.secret,
                                          webhooks.c.disabled_at)
                                   .join(webhooks, webhooks.c.id == d.webhook_id).where(d.id == row.id)).one()
            tried += 1
            if job.disabled_at is not None:
                self._settle(job.id, "dead", job.attempts, "the webhook was removed")
                continue
            error = self._post(job.url, job.secret, job.id, job.event, job.payload)
            attempts = int(job.attempts) + 1
            if error is None:
                self._settle(job.id, "delivered", attempts, None)
            elif attempts >= self.max_attempts:
                _log.error("webhook delivery %s is dead after %d attempts: %s", job.id, attempts, error)
                self._settle(job.id, "dead", attempts, error)
            else:
                self._settle(job.id, "pending", attempts, error, _now() + _retry_after(self.first_retry, attempts))
        return tried

    def _post(self, url: str, secret: str, delivery_id: int, event: str, payload: str) -> str | None:
        body = json.dumps({"id": delivery_id, **json.loads(payload)}, ensure_ascii=False, sort_keys=True).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "Vigil-Webhooks", "Vigil-Event": event,
            "Vigil-Delivery": str(delivery_id), "Vigil-Signature": sign(secret, int(time.time()), body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read(65536)
                return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"[:500]

    def _settle(self, delivery_id: int, state: str, attempts: int, error: str | None,
                next_at: datetime | None = None) -> None:
        with self.store.begin() as conn:
            conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(
                state=state, attempts=attempts, last_error=error, next_attempt_at=next_at,
                delivered_at=_now() if state == "delivered" else None))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout + 5)
