"""``POST /v1/match``: an uploaded photo or video hashed and matched, as ``vigil match --json`` does for
a file. The body is capped before it is read (``limits``); the content is sniffed, not trusted by its
name or type; it is hashed in a separate process under the CLI's decoding limits and time limit
(``hasher``: a process kept for it), so a hostile file costs that process, never the service. The upload is
held in a private temporary file only while it is hashed, then deleted: nothing of it is kept."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile

from ..errors import InvalidValue, NotMedia
from ..hashing import FileResult, HashOptions
from ..matching import query_from_result
from ..media.sniff import Kind
from .access import require
from .hasher import Hasher
from .lookup import MATCHING

__all__ = ["hash_upload", "match_upload", "router"]

router = APIRouter()
_COPY_CHUNK = 1 << 20


def _metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidValue(f"metadata is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidValue("metadata must be a JSON object")
    return value


def hash_upload(hasher: Hasher, file: UploadFile, options: HashOptions) -> FileResult:
    """An upload hashed in the worker's hashing process under the CLI's limits; its bytes are deleted
    after."""
    folder = tempfile.mkdtemp(prefix="vigil-upload-")  # 0700: this user's alone
    try:
        path = os.path.join(folder, "upload")
        with open(path, "wb") as out:
            shutil.copyfileobj(file.file, out, _COPY_CHUNK)
        return hasher.hash(path, options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.post("/v1/match", tags=["lookups"], summary="Hash an uploaded photo or video and match it")
def match_upload(request: Request, file: Annotated[UploadFile, File(description="the photo or video")],
                 content_id: Annotated[str | None, Form(max_length=200, description="the client's id for it")] = None,
                 metadata: Annotated[str | None, Form(max_length=10_000, description="a JSON object")] = None,
                 list_: Annotated[list[str] | None, Form(alias="list")] = None) -> dict[str, Any]:
    service, key = require(request, MATCHING)
    extra = _metadata(metadata)
    matcher = service.lists.matcher(list_)
    options = HashOptions(variants=True, windows=matcher.wants_windows)
    result = hash_upload(service.hasher, file, options)
    label = content_id or file.filename or "upload"
    result.path = label
    outcome = matcher.match(query_from_result(result))
    service.metrics.looked_up([outcome])
    signals = result.to_json()["signals"]
    assert isinstance(signals, dict)
    service.events.record("match", key.name, [(signals, outcome)], content_id, extra)
    if not outcome.matches and not outcome.allowed:
        if result.error:
            raise InvalidValue(f"the upload cannot be hashed as media: {result.error}")
        if result.kind not in (Kind.IMAGE, Kind.VIDEO):
            raise NotMedia("the upload is not a photo or video Vigil can read (sniffed by its content)")
    body: dict[str, Any] = outcome.to_json()
    body["kind"] = result.kind.value
    if content_id is not None:
        body["content_id"] = content_id
    if extra is not None:
        body["metadata"] = extra
    return body
