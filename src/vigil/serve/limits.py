"""What every request passes before a route sees it: a known key (:class:`KeyGate`), and the body
limit (:class:`BodyLimit`), enforced before a route reads the body: a declared ``Content-Length`` over
the limit is refused at once, and a body sent without one (chunked) is counted as it arrives and
refused as soon as it passes the limit (413 in both cases)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import BodyTooLarge, VigilError
from .errors import error_response, vigil_error_response

__all__ = ["BodyLimit", "KeyGate", "PUBLIC_PATHS"]

# Routes that answer without a key: health, and the API's own description (it holds no data).
PUBLIC_PATHS = frozenset({"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_App = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: _App, max_bytes: int, list_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.list_bytes = list_bytes or max_bytes  # list files imported (POST /v1/lists/{name}/import)

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.list_bytes if scope.get("path", "").endswith("/import") else self.max_bytes
        message = f"the request body is over the service's limit of {limit:,} bytes"
        refusal = error_response(413, "body_too_large", message)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await refusal(scope, receive, send)
                    return
        seen = 0
        over = False  # the body passed the limit: whatever the app answers, the client gets 413
        answered = False

        async def counted() -> _Message:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    over = True
                    raise BodyTooLarge(message)  # a route reading the body stops here (FastAPI may wrap it)
            return msg

        async def replaced(msg: _Message) -> None:
            nonlocal answered
            if not over:
                await send(msg)
            elif not answered:
                answered = True
                await refusal(scope, receive, send)

        try:
            await self.app(scope, counted, replaced)
        except BodyTooLarge:
            if not answered:
                await refusal(scope, receive, send)


class KeyGate:
    """Every request but those to :data:`PUBLIC_PATHS` must bring a known key, checked before anything of
    the request is parsed: a client without one learns nothing (401, not a validation error). Routes
    then check the key's role and rate (``access.require``)."""

    def __init__(self, app: _App) -> None:
        self.app = app

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        import anyio.to_thread

        access = scope["app"].state.service.access
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        try:
            key = access.cached(header)  # checked recently: no thread, no database
            if key is None:
                key = await anyio.to_thread.run_sync(access.key, header)
        except VigilError as exc:
            await vigil_error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key  # the routes' ``access.require`` reads it here
        await self.app(scope, receive, send)
