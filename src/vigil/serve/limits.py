"""The request body limit, enforced before a route reads the body: a declared ``Content-Length`` over
the limit is refused at once, and a body sent without one (chunked) is counted as it arrives and
refused as soon as it passes the limit (413 in both cases)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import BodyTooLarge
from .errors import error_response

__all__ = ["BodyLimit"]

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_App = Callable[[_Scope, _Receive, _Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: _App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"the request body is over the service's limit of {self.max_bytes:,} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await error_response(413, "body_too_large", message)(scope, receive, send)
                    return
        seen = 0
        over = False  # the body passed the limit: whatever the app answers, the client gets 413
        answered = False

        async def counted() -> _Message:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise BodyTooLarge(message)  # a route reading the body stops here (FastAPI may wrap it)
            return msg

        async def replaced(msg: _Message) -> None:
            nonlocal answered
            if not over:
                await send(msg)
            elif not answered:
                answered = True
                await error_response(413, "body_too_large", message)(scope, receive, send)

        try:
            await self.app(scope, counted, replaced)
        except BodyTooLarge:
            if not answered:
                await error_response(413, "body_too_large", message)(scope, receive, send)
