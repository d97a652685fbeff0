"""The match service as an ASGI application: ``create_app(settings)``; ``vigil serve`` runs it under
Uvicorn (``app_from_env`` in each worker process)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from sqlalchemy import text

from .. import __version__
from ..errors import StoreUnusable
from ..store import Store
from .access import Access, require
from .errors import ERRORS, install_error_handlers
from .events import EventWriter
from .hasher import Hasher
from .hma import router as hma_router
from .jobs import Jobs
from .keys import Role
from .limits import BodyLimit, KeyGate
from .listing import router as listing_router
from .live import LiveLists
from .logs import log_as_json
from .lookup import router as lookup_router
from .metrics import CONTENT_TYPE, Metrics, RequestTimer
from .review import router as review_router
from .settings import ServeSettings
from .upload import router as upload_router
from .webhooks import Deliverer

__all__ = ["Service", "app_from_env", "create_app"]

@dataclass
class Service:
    """What every route of one worker shares."""

    settings: ServeSettings
    store: Store
    access: Access
    lists: LiveLists
    jobs: Jobs
    metrics: Metrics
    events: EventWriter
    hasher: Hasher
    webhooks: Deliverer


def _service(settings: ServeSettings, store: Store | None) -> Service:
    store = store if store is not None else Store.open(settings.database)
    access = Access(store, rate=settings.rate_per_worker, burst=settings.burst,
                    key_cache_seconds=settings.key_cache_seconds)
    return Service(settings, store, access, LiveLists(store, settings.refresh_seconds), Jobs(store),
                   Metrics(store), EventWriter(store), Hasher(max(1, (os.cpu_count() or 1) // settings.workers)),
                   Deliverer(store))


def create_app(settings: ServeSettings | None = None, *, store: Store | None = None) -> FastAPI:
    """The service's application. ``store``: an open store to use (tests); else ``settings.database`` is
    opened (and migrated) when the application starts."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            app.state.service = _service(settings, store)
        if settings.preload:
            app.state.service.hasher.warm()
        yield
        app.state.service.jobs.close()
        app.state.service.events.close()
        app.state.service.hasher.close()
        app.state.service.webhooks.close()

    app = FastAPI(title="Vigil match service", version=__version__, lifespan=lifespan,
                  description="Look hashes and media up in the hash lists Vigil keeps. Every route but "
                              "`GET /v1/health` (and this document) needs `Authorization: Bearer <key>`; "
                              "keys come from `vigil keys create NAME --role ROLE`.")
    if store is not None:  # in process: ready before the first request, lifespan or not
        app.state.service = _service(settings, store)
    install_error_handlers(app)
    # The last added runs first: the timer (refusals are counted too), the body limit, the key gate, a route.
    app.add_middleware(KeyGate)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, list_bytes=settings.max_list_bytes)
    app.add_middleware(RequestTimer)

    @app.get("/v1/health", tags=["service"], summary="Whether the service and its database answer",
             responses={503: ERRORS[503]})
    def health(request: Request) -> dict[str, Any]:
        service: Service = request.app.state.service
        try:
            with service.store.connect() as conn:
                conn.execute(text("SELECT 1"))
        except StoreUnusable as exc:
            raise StoreUnusable(f"the database does not answer: {exc}") from exc
        return {"status": "ok", "version": __version__, "lists": len(service.lists.versions)}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics (any key's role may read them)",
             response_class=Response, responses=ERRORS)
    def metrics(request: Request) -> Response:
        service, _ = require(request, frozenset(Role))
        return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)

    for router in (lookup_router, upload_router, listing_router, review_router, hma_router):
        app.include_router(router, responses=ERRORS)
    return app


def app_from_env() -> FastAPI:
    """The application of one Uvicorn worker, with the settings ``vigil serve`` put in the environment."""
    log_as_json()
    return create_app(ServeSettings.from_env())
