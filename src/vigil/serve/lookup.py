"""``GET /v1/lookup`` (one signal) and ``POST /v1/lookup`` (up to ``max_batch``): the JSON of
``vigil match --json``, with the query as ``{"type", "value"}``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from ..errors import InvalidValue
from ..matching import Query as MatchQuery
from ..matching import QueryResult, parse_hash_line
from ..signals import PDQ, SIGNALS
from .access import require
from .keys import Role

__all__ = ["MATCHING", "BatchOut", "LookupBatch", "LookupOut", "MatchOut", "QueryOut", "SignalIn", "lookup_many",
           "lookup_one", "router", "to_query"]

router = APIRouter()
MATCHING = frozenset({Role.MATCHER, Role.CURATOR})


class SignalIn(BaseModel):
    type: str = Field(description="md5, sha1, sha256, pdq or vpdq", max_length=20)
    value: str = Field(description="the hash as hex (vpdq: frame,quality,hex,timestamp)", max_length=300)
    quality: int | None = Field(None, ge=0, le=100, description="pdq: the hash's quality (default 100)")

    @property
    def kind(self) -> str:
        """The type as matched (``type`` as given may be upper-case or padded)."""
        return self.type.strip().lower()


class LookupBatch(BaseModel):
    signals: list[SignalIn] = Field(description="the signals to look up, any mix of types")
    lists: list[str] | None = Field(None, description="lists to look in (default: every list)")


class MatchOut(BaseModel):
    list: str
    entry: str
    signal: str
    distance: int
    variant: str
    category: str | None = None
    category_scheme: str | None = None
    derived: str | None = None
    query_percent: float | None = None
    list_percent: float | None = None


class QueryOut(BaseModel):
    type: str
    value: str


class LookupOut(BaseModel):
    query: QueryOut
    matches: list[MatchOut]
    allowed: list[MatchOut] | None = None
    suppressed: list[MatchOut] | None = None


class BatchOut(BaseModel):
    results: list[LookupOut]


def to_query(signal: SignalIn) -> MatchQuery:
    """A match query of one signal, or InvalidValue (422) saying what is wrong with it."""
    kind = signal.kind
    value = signal.value.strip()
    if kind not in SIGNALS:
        raise InvalidValue(f"unknown signal type {signal.type!r} (want {SIGNALS.names_text()})")
    if not value or len(value.split()) != 1:  # (split: C speed; 10,000 of these a batch)
        raise InvalidValue(f"the {kind} value must be one word, not {signal.value!r}")
    if signal.quality is not None and SIGNALS.get(kind) is not PDQ:
        raise InvalidValue("quality is given with pdq hashes only")
    query = parse_hash_line(f"{kind} {value}" + (f" {signal.quality}" if signal.quality is not None else ""))
    if query.error:
        raise InvalidValue(query.error)
    # The value as matched: lower-case hex (a vpdq line as given).
    query.label = next(iter(query.digests.values())) if query.digests else query.pdq[0].hash if query.pdq else value
    return query


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _out(kind: str, value: str, result: QueryResult) -> dict[str, Any]:
    out = result.to_json()
    body: dict[str, Any] = {"query": {"type": kind, "value": value}, "matches": out["matches"]}
    if "allowed" in out:
        body["allowed"], body["suppressed"] = out["allowed"], out["suppressed"]
    return body


# Answers are encoded with orjson, as they are: the models above document them (OpenAPI) without
# validating every answer again (a third of a lookup's time in the service).
@router.get("/v1/lookup", response_model=None, responses={200: {"model": LookupOut}}, tags=["lookups"],
            summary="Look one signal up")
def lookup_one(request: Request, signal_type: Annotated[str, Query(max_length=20)],
               signal: Annotated[str, Query(max_length=300)],
               quality: Annotated[int | None, Query(ge=0, le=100)] = None,
               list_: Annotated[list[str] | None, Query(alias="list")] = None) -> Response:
    service, key = require(request, MATCHING)
    one = SignalIn(type=signal_type, value=signal, quality=quality)
    query = to_query(one)
    result = service.lists.matcher(list_).match(query)
    kind = one.kind
    service.metrics.looked_up([result])
    service.events.record("lookup", key.name, [({"type": kind, "value": query.label}, result)])
    return _json(_out(kind, query.label, result))


@router.post("/v1/lookup", response_model=None, responses={200: {"model": BatchOut}}, tags=["lookups"],
             summary="Look up to 10,000 signals up at once")
def lookup_many(request: Request, batch: LookupBatch) -> Response:
    service, key = require(request, MATCHING)
    if not batch.signals:
        raise InvalidValue("signals is empty: send at least one {\"type\", \"value\"}")
    limit = service.settings.max_batch
    if len(batch.signals) > limit:
        raise InvalidValue(f"{len(batch.signals):,} signals in one request; the limit is {limit:,}")
    queries = []
    for n, signal in enumerate(batch.signals):
        try:
            queries.append(to_query(signal))
        except InvalidValue as exc:
            raise InvalidValue(f"signals[{n}]: {exc}") from None
    results = service.lists.matcher(batch.lists).match_many(queries)
    kinds = [s.kind for s in batch.signals]
    service.metrics.looked_up(results)
    service.events.record("lookup", key.name, [({"type": k, "value": q.label}, r)
                                                       for k, q, r in zip(kinds, queries, results, strict=True)
                                                       if r.matches])
    return _json({"results": [_out(k, q.label, r) for k, q, r in zip(kinds, queries, results, strict=True)]})
