"""The review desk's queue: match events grouped by the content that matched, claimed by one reviewer
at a time, and decided.

An item is one content: an uploaded file (its SHA-256, else its MD5) or a looked-up hash (its type and
value), so a thousand uploads of one file are one item, counted. Each match event is filed under its
item as it is written (``file_events``, in the writer's transaction). Items wait in the order a
reviewer should take them: the most severe category first (categories sort as the schemes write them,
"1" before "2", "A1" before "B2"; none last), then the closest match, then the oldest. A reviewer claims
an item for ``CLAIM_MINUTES`` (others then see it as taken; an abandoned claim runs out), and decides:
**confirm** (it is the listed content), **reject** (a false positive) or **escalate** (for a senior
reviewer: it stays in the queue, escalated). Items of the categories an admin names (the service's
``two_person`` setting) are confirmed by two different people. Each item is due ``sla_hours`` after its
first match. A decided item keeps counting the events that match it.
Claims and decisions go into the audit log (``audit``) with the change they record, and decisions to the
webhooks that want them (``webhooks``, an outbox in the same transaction).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, or_, select, tuple_, update

from ..errors import InvalidValue, NotFound, UsageError
from ..evidence.audit import record
from ..lists import ListKind, Record, Signal, import_records
from ..lists.catalog import find_list
from ..lists.provenance import now as _now  # the project's clock: aware, UTC
from ..store import Store, as_utc
from ..store.schema import match_events, review_items
from .webhooks import enqueue

__all__ = ["CLAIM_MINUTES", "OPEN", "Decision", "Item", "ItemMatch", "QueuePage", "State", "add_content",
           "check_list_for", "claim", "content_key", "content_signals", "decide", "file_events", "get_item",
           "queue_page"]

CLAIM_MINUTES = 15
_NO_CATEGORY = "~"  # sorts after digits and letters: items without a category come last
_UPLOAD_HASHES = ("sha256", "md5", "sha1", "pdq")  # an upload's hashes, the one that names its content first
_MATCHES_SHOWN = 20


class State(StrEnum):
    PENDING = "pending"
    ESCALATED = "escalated"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Decision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    ESCALATE = "escalate"


_AFTER = {Decision.CONFIRM: State.CONFIRMED, Decision.REJECT: State.REJECTED, Decision.ESCALATE: State.ESCALATED}
OPEN = (State.PENDING, State.ESCALATED)  # the states of items still to decide


@dataclass(frozen=True)
class ItemMatch:
    list: str
    entry: str
    signal: str
    distance: int
    variant: str
    category: str | None
    events: int


@dataclass(frozen=True)
class Item:
    id: int
    content_key: str
    state: State
    events: int
    first_seen: datetime
    last_seen: datetime
    best_distance: int
    category: str | None
    claimed_by: str | None
    claimed_until: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    first_confirmed_by: str | None = None
    matches: list[ItemMatch] = field(default_factory=list)

    def due(self, sla_hours: float) -> datetime:
        """When the item should be decided by: ``sla_hours`` after its first match."""
        return self.first_seen + timedelta(hours=sla_hours)

    def to_json(self, sla_hours: float | None = None, now: datetime | None = None) -> dict[str, Any]:
        """The item as the API gives it; with ``sla_hours``, when it is due and whether an open one is late."""
        def stamp(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        timing: dict[str, Any] = {}
        if sla_hours is not None:
            due = self.due(sla_hours)
            timing = {"due": stamp(due), "overdue": self.state in OPEN and (now or _now()) > due}
        return {"id": self.id, "content": self.content_key, "state": self.state.value, "count": self.events,
                "first_seen": stamp(self.first_seen), "last_seen": stamp(self.last_seen),
                "best_distance": self.best_distance, "category": self.category, "claimed_by": self.claimed_by,
                "claimed_until": stamp(self.claimed_until), "decided_by": self.decided_by,
                "decided_at": stamp(self.decided_at), "note": self.note, "first_confirmed_by": self.first_confirmed_by,
                **timing,
                "matches": [{"list": m.list, "entry": m.entry, "signal": m.signal, "distance": m.distance,
                             "variant": m.variant, "category": m.category, "count": m.events} for m in self.matches]}


@dataclass(frozen=True)
class QueuePage:
    items: list[Item]
    next: str | None  # the cursor of the next page, None at the end


def _query_hashes(query: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    """(type, hash, quality) of each hash a match event's query (its ``query`` JSON) holds: the looked-up
    signal, or an upload's digests and PDQ (``{"hash", "quality"}``), SHA-256 first."""
    if "type" in query and "value" in query:
        return [(str(query["type"]), str(query["value"]), None)]
    found: list[tuple[str, str, int | None]] = []
    for kind in _UPLOAD_HASHES:
        value = query.get(kind)
        if isinstance(value, str) and value:
            found.append((kind, value, None))
        elif isinstance(value, dict) and isinstance(value.get("hash"), str):
            found.append((kind, value["hash"], value.get("quality")))
    return found


def content_key(query: dict[str, Any]) -> str:
    """What an event's query is the content of: ``"sha256:…"`` for an upload's signals, ``"pdq:…"`` for a
    looked-up hash."""
    hashes = _query_hashes(query)
    if hashes:
        kind, value, _ = hashes[0]
        return f"{kind}:{value}"[:200]
    return "query:" + json.dumps(query, sort_keys=True)[:194]


def file_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Give each match-event row (as ``match_events.insert()`` takes them) its ``item_id``: the open or
    decided item of its content, made when there is none yet. In the caller's transaction."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(content_key(json.loads(row["query"])), []).append(row)
    found = {r.content_key: r for r in conn.execute(
        select(review_items.c.id, review_items.c.content_key, review_items.c.best_distance,
               review_items.c.category_order).where(review_items.c.content_key.in_(list(by_key))))}
    for key, group in by_key.items():
        closest = min(int(r["distance"]) for r in group)
        severest = min((str(r["category"]) for r in group if r.get("category")), default=_NO_CATEGORY)[:200]
        first, last = min(r["at"] for r in group), max(r["at"] for r in group)
        old = found.get(key)
        if old is None:
            item_id = conn.execute(review_items.insert().values(
                content_key=key, state=State.PENDING.value, events=len(group), first_seen=first, last_seen=last,
                best_distance=closest, category_order=severest).returning(review_items.c.id)).scalar_one()
        else:
            item_id = old.id
            conn.execute(update(review_items).where(review_items.c.id == old.id).values(
                events=review_items.c.events + len(group), last_seen=last,
                best_distance=min(int(old.best_distance), closest),
                category_order=min(str(old.category_order), severest)))
        for row in group:
            row["item_id"] = int(item_id)


def _item(row: Any, matches: list[ItemMatch] | None = None) -> Item:
    m = row._mapping

    def when(name: str) -> datetime | None:
        return None if m[name] is None else as_utc(m[name])

    category = None if m["category_order"] == _NO_CATEGORY else str(m["category_order"])
    return Item(int(m["id"]), str(m["content_key"]), State(m["state"]), int(m["events"]), as_utc(m["first_seen"]),
                as_utc(m["last_seen"]), int(m["best_distance"]), category, m["claimed_by"], when("claimed_until"),
                m["decided_by"], when("decided_at"), m["note"], m["first_confirmed_by"], matches or [])


def _matches(conn: Connection, item_ids: Sequence[int]) -> dict[int, list[ItemMatch]]:
    """What each item matched: per list entry, its closest event and how many there were."""
    if not item_ids:
        return {}
    e = match_events.c
    rows = conn.execute(select(e.item_id, e.list_name, e.entry_id, e.signal, func.min(e.distance),
                               func.min(e.variant), func.min(e.category), func.count())
                        .where(e.item_id.in_(list(item_ids)))
                        .group_by(e.item_id, e.list_name, e.entry_id, e.signal))
    out: dict[int, list[ItemMatch]] = {}
    for item_id, list_name, entry, signal, distance, variant, category, count in rows:
        out.setdefault(int(item_id), []).append(ItemMatch(list_name, entry, signal, int(distance), variant, category,
                                                          int(count)))
    for found in out.values():
        found.sort(key=lambda x: (x.distance, x.list, x.entry))
        del found[_MATCHES_SHOWN:]
    return out


def _cursor(item: Item) -> str:
    raw = json.dumps([item.category or _NO_CATEGORY, item.best_distance, item.first_seen.isoformat(), item.id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[str, int, datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        category, distance, first, item_id = json.loads(raw)
        return str(category), int(distance), datetime.fromisoformat(first), int(item_id)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(f"not a cursor this queue gave: {cursor[:40]!r}") from exc


def queue_page(store: Store, states: Sequence[State] = OPEN, *, after: str | None = None,
               limit: int = 50) -> QueuePage:
    """The items in these states, in review order, ``limit`` at a time (``after``: the cursor of the
    page before)."""
    if not 1 <= limit <= 500:
        raise InvalidValue("limit must be 1-500")
    r = review_items.c
    order = (r.category_order, r.best_distance, r.first_seen, r.id)
    query = select(review_items).where(r.state.in_([s.value for s in states]))
    if after is not None:
        query = query.where(tuple_(*order) > tuple_(*_after(after)))
    with store.connect() as conn:
        rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
        matches = _matches(conn, [int(row.id) for row in rows[:limit]])
    items = [_item(row, matches.get(int(row.id))) for row in rows[:limit]]
    return QueuePage(items, _cursor(items[-1]) if len(rows) > limit else None)


def get_item(store: Store, item_id: int) -> Item:
    with store.connect() as conn:
        return _get(conn, item_id)


def _get(conn: Connection, item_id: int) -> Item:
    row = conn.execute(select(review_items).where(review_items.c.id == item_id)).first()
    if row is None:
        raise NotFound(f"no review item {item_id}")
    return _item(row, _matches(conn, [item_id]).get(item_id))


def claim(store: Store, item_id: int, who: str, *, now: datetime | None = None,
          minutes: float = CLAIM_MINUTES) -> Item:
    """Take an open item for ``minutes`` (again, to extend one's own claim). UsageError when someone
    else holds it or it is decided."""
    now = now or _now()
    r = review_items.c
    with store.begin() as conn:
        item = _get(conn, item_id)
        if item.state not in OPEN:
            raise UsageError(f"item {item_id} is decided already ({item.state.value} by {item.decided_by})")
        taken = conn.execute(update(review_items).where(
            r.id == item_id, or_(r.claimed_by.is_(None), r.claimed_by == who, r.claimed_until <= now))
            .values(claimed_by=who, claimed_until=now + timedelta(minutes=minutes)))
        if not taken.rowcount:
            raise UsageError(f"item {item_id} is claimed by {item.claimed_by} until "
                             f"{item.claimed_until:%H:%M:%S} UTC" if item.claimed_until else f"item {item_id} is taken")
        record(conn, "item_claimed", item=item_id, content=item.content_key, by=who, minutes=minutes)
        return _get(conn, item_id)


def decide(store: Store, item_id: int, who: str, decision: Decision | str, note: str | None = None, *,
           now: datetime | None = None, two_person: Collection[str] = ()) -> Item:
    """Decide an open item (claimed by ``who``, or by nobody now). Escalated, it stays open for a senior
    reviewer; confirmed or rejected, it leaves the queue. An item whose category is in ``two_person``
    is confirmed by two different people: the first confirmation is noted and the item stays open
    (unclaimed) for the second."""
    now = now or _now()
    try:
        chosen = Decision(str(decision))
    except ValueError:
        raise InvalidValue(f"decision is confirm, reject or escalate, not {str(decision)!r}") from None
    if note is not None and len(note) > 10_000:
        raise InvalidValue("a note is at most 10,000 characters")
    r = review_items.c
    with store.begin() as conn:
        item = _get(conn, item_id)
        if item.state not in OPEN:
            raise UsageError(f"item {item_id} is decided already ({item.state.value} by {item.decided_by})")
        first = chosen is Decision.CONFIRM and item.category in two_person and item.first_confirmed_by is None
        if chosen is Decision.CONFIRM and item.first_confirmed_by == who:
            raise UsageError(f"item {item_id} needs a second person to confirm it ({who} confirmed it first)")
        values: dict[str, Any] = ({"first_confirmed_by": who} if first else
                                  {"state": _AFTER[chosen].value, "decided_by": who, "decided_at": now})
        if note is not None:  # a decision without one keeps the note before it (an escalation's); all are audited
            values["note"] = note
        done = conn.execute(update(review_items).where(
            r.id == item_id, r.state.in_([s.value for s in OPEN]),
            or_(r.claimed_by.is_(None), r.claimed_by == who, r.claimed_until <= now))
            .values(claimed_by=None, claimed_until=None, **values))
        if not done.rowcount:
            raise UsageError(f"item {item_id} is claimed by {item.claimed_by}: only they may decide it now")
        event = "item_confirmed_once" if first else "item_decided"
        told = {"item": item_id, "content": item.content_key, "by": who, "decision": chosen.value, "note": note,
                "first_confirmed_by": item.first_confirmed_by, "category": item.category,
                "matches": [f"{m.list}/{m.entry}" for m in item.matches]}
        record(conn, event, **told)
        enqueue(conn, event, told)  # the webhooks that want it: sent after this commits, at least once
        return _get(conn, item_id)


_LISTABLE = ("md5", "sha1", "sha256", "pdq")  # hashes a list entry of the content can hold


def content_signals(store: Store, item_id: int) -> list[Signal]:
    """The hashes of an item's content, as its first match event recorded them: an upload's digests and
    PDQ, or the looked-up hash (a single vPDQ frame is not a video's hash: left out)."""
    with store.connect() as conn:
        text = conn.execute(select(match_events.c.query).where(match_events.c.item_id == item_id)
                            .order_by(match_events.c.id).limit(1)).scalar_one_or_none()
    if text is None:
        return []
    return [Signal.of(kind, value, quality) for kind, value, quality in _query_hashes(json.loads(text))
            if kind in _LISTABLE]


def check_list_for(decision: Decision | str, list_name: str | None, store: Store) -> ListKind | None:
    """The kind of list a decision may add its content to (confirm: a block list; reject: an allow-list),
    checked before deciding: InvalidValue for escalate, UsageError for a list of the other kind."""
    if list_name is None:
        return None
    chosen = Decision(str(decision))
    if chosen is Decision.ESCALATE:
        raise InvalidValue("only confirm (a block list) or reject (an allow-list) adds the content to a list")
    want = ListKind.BLOCK if chosen is Decision.CONFIRM else ListKind.ALLOW
    with store.connect() as conn:
        known = find_list(conn, list_name)
    if known is not None and known.kind is not want:
        raise UsageError(f"{list_name!r} is a{'n allow' if known.kind is ListKind.ALLOW else ' block'} list; "
                         f"{chosen.value} adds to a{'n allow' if want is ListKind.ALLOW else ' block'} list")
    return want


def add_content(store: Store, item: Item, list_name: str, kind: ListKind, who: str) -> str:
    """Add the item's content to a list (made if new, of ``kind``), as one entry named by its content;
    returns the entry's id. The next copy then matches it directly (a block list), or has its matches
    suppressed (an allow-list)."""
    signals = content_signals(store, item.id)
    if not signals:
        raise UsageError(f"item {item.id} holds no hash a list can take")
    category = item.category if kind is ListKind.BLOCK else None
    with store.connect() as conn:
        exists = find_list(conn, list_name) is not None
    import_records(store, list_name, [Record(item.content_key, signals, category)], action="review",
                   kind=None if exists else kind, source=None if exists else "review desk")
    with store.begin() as conn:
        told = {"item": item.id, "content": item.content_key, "list": list_name, "by": who,
                "signals": [s.type for s in signals]}
        record(conn, "item_listed", **told)
        enqueue(conn, "item_listed", told)
    return item.content_key
