"""Errors as the service answers them: ``{"error": {"code", "message"}}`` with the status Vigil's error
tree gives (``vigil.errors``), never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from ..errors import RateLimited, VigilError

__all__ = ["ERRORS", "ErrorBody", "ErrorOut", "error_response", "install_error_handlers", "vigil_error_response"]

_log = logging.getLogger("vigil.serve")

class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error the service answers: a code (snake case) and a one-line message."""

    error: ErrorBody


# The errors every route may answer, documented in OpenAPI with their one shape.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": what} for status, what in (
        (400, "the request asks for the impossible"), (401, "no key, or an unknown or revoked one"),
        (403, "the key's role may not do this"), (404, "no such list, job or bank"),
        (413, "the body is over the limit"), (422, "a value or the content fails its check"),
        (429, "the key is over its rate"), (503, "the database does not answer"))}

_CODES = {400: "bad_request", 401: "not_authenticated", 403: "not_permitted", 404: "not_found",
          405: "method_not_allowed", 413: "body_too_large", 422: "invalid", 429: "rate_limited",
          503: "unavailable"}


def _code(exc: VigilError) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _vigil(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VigilError)
    return vigil_error_response(exc)


def vigil_error_response(exc: VigilError) -> JSONResponse:
    """The answer to one of Vigil's errors, wherever it was raised (a route, the key gate)."""
    headers = {"Retry-After": str(max(1, round(exc.retry_after + 0.49)))} if isinstance(exc, RateLimited) else None
    if exc.http_status >= 500:
        _log.error("%s: %s", type(exc).__name__, exc)
    return error_response(exc.http_status, _code(exc), str(exc), headers)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(422, "invalid", "; ".join(parts) or "the request is not valid")


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers: dict[str, Any] | None = getattr(exc, "headers", None)
    return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail), headers)


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    _log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal", "the service failed on this request; it is logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VigilError, _vigil)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
