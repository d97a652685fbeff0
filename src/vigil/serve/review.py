"""The review desk's queue over HTTP (``reviewer`` keys, and ``admin``): ``GET /v1/queue`` (items in
review order, paged by cursor), ``GET /v1/queue/{id}``, ``POST /v1/queue/{id}/claim`` and
``POST /v1/queue/{id}/decision``. A key acts under its name: the name claims and decides. And the audit
log those go into: ``GET /v1/audit``, and the webhooks' deliveries: ``GET /v1/webhooks/deliveries``
(admin keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from .access import require
from .audit import audit_page, entry_json
from .keys import Role
from .queue import OPEN, Decision, State, add_content, check_list_for, claim, decide, get_item, queue_page
from .webhooks import deliveries

__all__ = ["REVIEWING", "DecisionIn", "audit_index", "deliveries_index", "item_claim", "item_decide", "item_show",
           "queue_index", "router"]

router = APIRouter(tags=["review desk"])
REVIEWING = frozenset({Role.REVIEWER})
_MAX_ID = 2**31 - 1


class DecisionIn(BaseModel):
    decision: Decision = Field(description="confirm (it is the listed content), reject (a false positive) or "
                               "escalate (for a senior reviewer)")
    note: str | None = Field(None, max_length=10_000)
    list: str | None = Field(None, min_length=1, max_length=200,
                             description="confirm: add the content's hashes to this block list, so the next copy "
                             "matches it directly; reject: to this allow-list, so the next lookup of it is "
                             "suppressed (made if new)")


@router.get("/v1/queue", summary="Review items in the order to take them: most severe category, closest, oldest")
def queue_index(request: Request, state: Annotated[list[State] | None, Query()] = None,
                after: Annotated[str | None, Query(max_length=400)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    service, _ = require(request, REVIEWING)
    page = queue_page(service.store, state or OPEN, after=after, limit=limit)
    return {"items": [i.to_json(service.settings.sla_hours) for i in page.items], "next": page.next}


@router.get("/v1/queue/{item_id}", summary="One review item, with what it matched")
def item_show(request: Request, item_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> dict[str, Any]:
    service, _ = require(request, REVIEWING)
    return get_item(service.store, item_id).to_json(service.settings.sla_hours)


@router.post("/v1/queue/{item_id}/claim", summary="Take an item for 15 minutes (others see it as taken)")
def item_claim(request: Request, item_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> dict[str, Any]:
    service, key = require(request, REVIEWING)
    return claim(service.store, item_id, key.name).to_json(service.settings.sla_hours)


@router.post("/v1/queue/{item_id}/decision", summary="Confirm, reject or escalate an item")
def item_decide(request: Request, item_id: Annotated[int, Path(ge=1, le=_MAX_ID)], body: DecisionIn) -> dict[str, Any]:
    service, key = require(request, REVIEWING)
    kind = check_list_for(body.decision, body.list, service.store)  # before deciding: a wrong list changes nothing
    item = decide(service.store, item_id, key.name, body.decision, body.note, two_person=service.settings.two_person)
    out = item.to_json(service.settings.sla_hours)
    if body.list is not None and kind is not None and item.state in (State.CONFIRMED, State.REJECTED):
        out["listed"] = {"list": body.list, "entry": add_content(service.store, item, body.list, kind, key.name)}
    return out


@router.get("/v1/audit", summary="The audit log, oldest first (admin keys): sign-ins, decisions, people and keys")
def audit_index(request: Request, after: Annotated[int, Query(ge=0, le=_MAX_ID)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                event: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    service, _ = require(request, frozenset({Role.ADMIN}))
    page = audit_page(service.store, after=after, limit=limit, event=event)
    return {"entries": [entry_json(e) for e in page.entries], "next": page.next}


@router.get("/v1/webhooks/deliveries", summary="Webhook deliveries, newest first (admin keys); state=dead: the "
            "ones that failed every attempt")
def deliveries_index(request: Request, state: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    service, _ = require(request, frozenset({Role.ADMIN}))
    return {"deliveries": [d.to_json() for d in deliveries(service.store, state, limit)]}
