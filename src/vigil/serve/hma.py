"""Routes with the request and response shapes of Meta's Hasher-Matcher-Actioner (HMA 1.1), so that a
platform can point its HMA client at Vigil: ``/status``, ``/m/raw_lookup``, ``/m/lookup``, ``/h/hash``,
``/c/banks``, ``/c/bank/{name}/signal``. A bank is a Vigil list; a bank content id is the entry's row
number (HMA's ids are integers); distances are strings, as HMA sends them. Behind the same keys and
roles as Vigil's own routes (HMA itself has none).

What differs on purpose: HMA's ``matching_enabled_ratio`` (a coin flip that disables a bank for a share
of lookups) does not exist in Vigil, so a bank is created enabled or refused; a lookup by URL (HMA's
``url=``) is not offered: fetching URLs is ``vigil hunt``'s job, with its SSRF defences.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from ..errors import InvalidValue, NotFound, UsageError
from ..hashing import HashOptions
from ..lists import Record, Signal, import_records
from ..lists.catalog import all_lists, create_list, describe_list
from ..matching import Match, QueryResult
from ..media.sniff import Kind
from ..signals.mode import Mode
from ..store.schema import entries, lists
from .access import require
from .keys import Role
from .listing import CURATING
from .lookup import MATCHING, SignalIn, to_query
from .upload import hash_upload

__all__ = ["BankIn", "hma_bank_add_signal", "hma_bank_create", "hma_banks", "hma_hash", "hma_lookup", "hma_lookup_file",
           "hma_raw_lookup", "hma_status", "router"]

router = APIRouter(tags=["HMA-compatible"])
_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "photo_md5": "md5"}  # HMA's names -> Vigil's
_MEDIA = {"photo": Kind.IMAGE, "video": Kind.VIDEO}  # the form field names HMA wants


class BankIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    enabled_ratio: float | None = None
    enabled: bool | None = None


def _vigil_type(signal_type: str) -> str:
    kind = _TYPES.get(signal_type.strip().lower())
    if kind is None:
        raise InvalidValue(f"No such SignalType '{signal_type}'")
    return kind


def _ids(service: Any, found: list[Match]) -> dict[tuple[str, str], int]:
    """(list, entry) -> the entry's row number, HMA's integer bank content id."""
    if not found:
        return {}
    with service.store.connect() as conn:
        rows = conn.execute(select(lists.c.name, entries.c.entry_id, entries.c.pk)
                            .join(lists, lists.c.id == entries.c.list_id)
                            .where(entries.c.entry_id.in_({m.entry for m in found}))).all()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}


def _lookup(service: Any, key: Any, signal_type: str, signal: str, banks: str | None) -> QueryResult:
    kind = _vigil_type(signal_type)
    try:
        query = to_query(SignalIn(type=kind, value=signal, quality=None))
    except InvalidValue as exc:
        raise InvalidValue(f"invalid signal: {exc}") from None
    names = [b for b in (banks or "").split(",") if b]
    result: QueryResult = service.lists.matcher(names or None).match(query)
    service.metrics.looked_up([result])
    service.events.record("lookup", key.name, [({"type": kind, "value": query.label}, result)])
    return result


def _by_bank(service: Any, result: QueryResult) -> dict[str, list[dict[str, Any]]]:
    ids = _ids(service, result.matches)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in result.matches:
        out[m.list].append({"bank_content_id": ids.get((m.list, m.entry), 0), "distance": str(m.distance)})
    return dict(out)


@router.get("/status", response_class=PlainTextResponse, summary="HMA's health check")
def hma_status(request: Request) -> str:
    require(request, frozenset(Role))
    return "I-AM-ALIVE"


@router.get("/m/raw_lookup", summary="HMA's raw hash lookup")
def hma_raw_lookup(request: Request, signal: Annotated[str, Query(max_length=300)],
                   signal_type: Annotated[str, Query(max_length=40)], banks: str | None = None,
                   include_distance: bool = False) -> dict[str, Any]:
    service, key = require(request, MATCHING)
    result = _lookup(service, key, signal_type, signal, banks)
    ids = _ids(service, result.matches)
    if include_distance:
        return {"matches": [{"bank_content_id": ids.get((m.list, m.entry), 0), "distance": str(m.distance)}
                            for m in result.matches]}
    return {"matches": [ids.get((m.list, m.entry), 0) for m in result.matches]}


@router.get("/m/lookup", summary="HMA's lookup by hash: matches by bank")
def hma_lookup(request: Request, signal: Annotated[str | None, Query(max_length=300)] = None,
               signal_type: Annotated[str | None, Query(max_length=40)] = None,
               banks: str | None = None, url: str | None = None) -> dict[str, Any]:
    service, key = require(request, MATCHING)
    if url is not None:
        raise UsageError("lookups by URL are not offered here (fetching URLs is `vigil hunt`'s job); "
                         "send the hash, or POST the file to /m/lookup")
    if not signal or not signal_type:
        raise UsageError("Either url or both signal and signal_type are required")
    return _by_bank(service, _lookup(service, key, signal_type, signal, banks))


def _one_file(form: Any) -> tuple[str, UploadFile]:
    uploads = [(name, value) for name, value in form.multi_items() if not isinstance(value, str)]
    if not uploads:
        raise UsageError("Missing multipart/form-data file upload")
    if len(uploads) > 1:
        raise UsageError("Only one file allowed per request")
    name, file = uploads[0]
    if name not in _MEDIA:
        raise UsageError(f"no such content_type: '{name}'")
    return name, file


async def _hashed(request: Request) -> Any:
    import anyio.to_thread

    async with request.form() as form:  # its spooled files are closed when done
        name, file = _one_file(form)
        # exact mode: the reference PDQ, as HMA computes it (clients may bank these hashes)
        result = await anyio.to_thread.run_sync(hash_upload, request.app.state.service.hasher, file,
                                                HashOptions(mode=Mode.EXACT))
    if result.error or result.kind is not _MEDIA[name]:
        raise InvalidValue(f"the {name} cannot be hashed: {result.error or 'not a ' + name}")
    return result


def _hashes(result: Any) -> dict[str, str]:
    if result.kind is Kind.IMAGE and result.pdq is not None:
        return {"pdq": result.pdq.hash}
    return {"video_md5": result.digests.md5}


@router.post("/h/hash", summary="HMA's hashing of an uploaded file (field `photo` or `video`)")
async def hma_hash(request: Request) -> dict[str, str]:
    require(request, MATCHING)
    return _hashes(await _hashed(request))


@router.post("/m/lookup", summary="HMA's lookup of an uploaded file: matches by signal type and bank")
async def hma_lookup_file(request: Request, banks: str | None = None) -> dict[str, Any]:
    service, key = require(request, MATCHING)
    result = await _hashed(request)
    import anyio.to_thread

    out: dict[str, Any] = {}
    for kind, value in _hashes(result).items():
        def by_bank(kind: str = kind, value: str = value) -> dict[str, list[dict[str, Any]]]:
            return _by_bank(service, _lookup(service, key, kind, value, banks))  # (reads the database: a thread)

        out[kind] = await anyio.to_thread.run_sync(by_bank)
    return out


@router.get("/c/banks", summary="HMA's banks: Vigil's block lists")
def hma_banks(request: Request) -> list[dict[str, Any]]:
    service, _ = require(request, MATCHING)
    return [{"name": i.name, "matching_enabled_ratio": 1.0} for i in all_lists(service.store, with_counts=False)
            if i.kind.value == "block"]


@router.post("/c/banks", status_code=201, summary="HMA's bank creation: a new block list")
def hma_bank_create(request: Request, body: BankIn) -> dict[str, Any]:
    service, _ = require(request, CURATING)
    if (body.enabled_ratio not in (None, 1.0)) or body.enabled is False:
        raise InvalidValue("Vigil's lists are always enabled: matching_enabled_ratio must be 1.0")
    with service.store.begin() as conn:
        create_list(conn, body.name, source="HMA API")
    return {"name": body.name, "matching_enabled_ratio": 1.0}


@router.post("/c/bank/{name}/signal", status_code=201, summary="HMA's adding of hashes to a bank")
def hma_bank_add_signal(request: Request, name: str, body: dict[str, Any]) -> dict[str, Any]:
    service, _ = require(request, CURATING)
    try:
        describe_list(service.store, name)
    except NotFound:
        raise NotFound(f"bank '{name}' not found") from None
    note = body.pop("note", None)
    if note is not None and (not isinstance(note, str) or len(note) > 255):
        raise InvalidValue("note should be a string of at most 255 characters")
    if not body:
        raise InvalidValue("No signals given")
    signals = []
    for kind, value in body.items():
        if not isinstance(value, str):
            raise InvalidValue(f"Invalid {kind} signal: not a string")
        signals.append(Signal.of(_vigil_type(kind), value))
    entry = f"hma-{secrets.token_hex(8)}"
    import_records(service.store, name, [Record(entry, signals, metadata={"note": note} if note else {})],
                   action="add")
    with service.store.connect() as conn:
        pk = conn.execute(select(entries.c.pk).join(lists, lists.c.id == entries.c.list_id)
                          .where(lists.c.name == name, entries.c.entry_id == entry)).scalar_one()
    return {"id": int(pk), "signals": {k: s.value for k, s in zip(body, signals, strict=True)}}
