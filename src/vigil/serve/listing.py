"""Lists over HTTP: see them, create one, import a file into one as a background job (``/v1/jobs``),
revoke entries, export, and page through entries by cursor. Curator keys write; matcher keys read."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..errors import InvalidValue
from ..lists import export_list
from ..lists.catalog import ListInfo, ListKind, all_lists, create_list, describe_list, get_list, page_records, revoke
from ..lists.formats import get_format
from ..store import Store
from .access import require
from .jobs import ImportRequest
from .keys import Role

__all__ = ["CURATING", "READING", "ListIn", "RevokeIn", "job_show", "lists_create", "lists_entries", "lists_export",
           "lists_import", "lists_index", "lists_revoke", "lists_show", "router"]

router = APIRouter(tags=["lists"])
READING = frozenset({Role.MATCHER, Role.CURATOR})
CURATING = frozenset({Role.CURATOR})
_CHUNK = 1 << 20
_MAX_ID = 2**62  # ids and cursors are database integers (64-bit): larger ones name nothing


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: ListKind = ListKind.BLOCK
    source: str | None = Field(None, max_length=200, description="where the list comes from (NCMEC, own, …)")


class RevokeIn(BaseModel):
    entries: list[str] = Field(min_length=1, max_length=100_000, description="entry ids to revoke, all or none")


def _list(i: ListInfo) -> dict[str, Any]:
    return {"name": i.name, "kind": i.kind.value, "source": i.source, "active": i.active, "revoked": i.revoked,
            "version": i.content_version, "settings": i.settings.as_dict(), "created": i.created_at.isoformat(),
            "updated": i.updated_at.isoformat()}


@router.get("/v1/lists", summary="Every list, with its entry counts")
def lists_index(request: Request) -> dict[str, Any]:
    service, _ = require(request, READING)
    return {"lists": [_list(i) for i in all_lists(service.store)]}


@router.post("/v1/lists", status_code=201, summary="Create a list")
def lists_create(request: Request, body: ListIn) -> dict[str, Any]:
    service, _ = require(request, CURATING)
    with service.store.begin() as conn:
        create_list(conn, body.name, source=body.source, kind=body.kind)
    return _list(describe_list(service.store, body.name))


@router.get("/v1/lists/{name}", summary="One list, with its entry counts")
def lists_show(request: Request, name: str) -> dict[str, Any]:
    service, _ = require(request, READING)
    return _list(describe_list(service.store, name))


def _exists(store: Store, name: str) -> None:
    """NotFound (404) unless the list exists (without counting its entries: seconds at 10M)."""
    with store.connect() as conn:
        get_list(conn, name)


@router.post("/v1/lists/{name}/import", status_code=202, summary="Import a list file (any format Vigil reads) "
             "as a background job; the body is the file")
async def lists_import(request: Request, name: str, format: Annotated[str | None, Query(max_length=40)] = None,
                       signal: Annotated[str | None, Query(max_length=20)] = None,
                       replace: bool = False) -> dict[str, Any]:
    service, key = require(request, CURATING)
    await run_in_threadpool(_exists, service.store, name)  # 404 before the body is read
    if format is not None:
        get_format(format)
    folder = tempfile.mkdtemp(prefix="vigil-import-")
    size = 0
    try:
        path = os.path.join(folder, "list")
        with open(path, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidValue("the body is empty: send the list file as the request body")
        job = service.jobs.submit_import(ImportRequest(name, path, folder, size, format=format, signal=signal,
                                                       replace=replace), key.name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"job": job, "state": "queued"}


@router.get("/v1/jobs/{job_id}", summary="A background job's state and progress")
def job_show(request: Request, job_id: Annotated[int, Path(ge=1, le=_MAX_ID)]) -> dict[str, Any]:
    service, _ = require(request, CURATING)
    job: dict[str, Any] = service.jobs.get(job_id)
    return job


@router.post("/v1/lists/{name}/revoke", summary="Revoke entries by id (all or none); they stop matching at once")
def lists_revoke(request: Request, name: str, body: RevokeIn) -> dict[str, Any]:
    service, _ = require(request, CURATING)
    return {"revoked": revoke(service.store, name, body.entries)}


@router.get("/v1/lists/{name}/export", summary="The list in an exchange format, streamed")
def lists_export(request: Request, name: str, format: Annotated[str, Query(max_length=40)] = "vics") -> Any:
    service, _ = require(request, READING)
    fmt = get_format(format)
    describe_list(service.store, name)
    folder = tempfile.mkdtemp(prefix="vigil-export-")
    path = os.path.join(folder, "export")
    try:
        with open(path, "wb") as out:  # written whole first: an error midway is an error, not a cut file
            export_list(service.store, name, fmt.name, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as f:
                while block := f.read(_CHUNK):
                    yield block
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    media = "application/xml" if fmt.name == "ncmec" else "text/plain" if fmt.name in ("te", "plain", "icse") \
        else "application/json"
    return StreamingResponse(chunks(), media_type=media,
                             headers={"Content-Disposition": f'attachment; filename="{fmt.name}-export"'})


@router.get("/v1/lists/{name}/entries", summary="A page of the list's entries, in the order they were added")
def lists_entries(request: Request, name: str, after: Annotated[str | None, Query(max_length=20)] = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
    service, _ = require(request, READING)
    if after is not None and not (after.isdigit() and int(after) <= _MAX_ID):
        raise InvalidValue("after must be the `next` cursor of the page before")
    records, cursor = page_records(service.store, name, after=int(after) if after else None, limit=limit)
    return {"entries": [{"id": r.id, "signals": [{"type": s.type, "value": s.value, "quality": s.quality}
                                                 for s in r.signals],
                         "category": r.category, "category_scheme": r.category_scheme, "metadata": r.metadata,
                         "revoked": r.revoked} for r in records],
            "next": None if cursor is None else str(cursor)}
