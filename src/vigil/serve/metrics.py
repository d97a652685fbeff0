"""``/metrics`` in Prometheus' text format: requests and their latency per route, lookups matched and
not, matches per list, the lists' versions and sizes, import jobs by state.

Under ``vigil serve --workers N`` each worker process counts into files of a folder the command made
(``PROMETHEUS_MULTIPROC_DIR``, prometheus_client's multiprocess mode) and a scrape adds them up, so the
numbers are the whole service's whichever worker answers. List and job figures are read from the
database when scraped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from ..errors import NotFound
from ..lists.catalog import all_lists, describe_list
from ..matching import QueryResult
from ..store import Store
from ..store.schema import service_jobs

__all__ = ["CONTENT_TYPE", "Metrics", "RequestTimer"]

_access = logging.getLogger("vigil.serve.access")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Database:
    """Figures read from the database at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Each list's counts as of its last change: counting is a pass over the list's entries (seconds at
        # 10M), and a list's row is stamped by every change to it (imports and revocations alike).
        self._counted: dict[int, tuple[datetime, int, int]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        entries = GaugeMetricFamily("vigil_list_entries", "Entries of each list", labels=["list", "state"])
        versions = GaugeMetricFamily("vigil_list_version", "Content version of each list (bumped by imports)",
                                     labels=["list"])
        for info in all_lists(self.store, with_counts=False):
            known = self._counted.get(info.id)
            if known is None or known[0] != info.updated_at:
                try:
                    counted = describe_list(self.store, info.name)
                except NotFound:
                    continue  # deleted since
                known = self._counted[info.id] = (info.updated_at, counted.active, counted.revoked)
            entries.add_metric([info.name, "active"], known[1])
            entries.add_metric([info.name, "revoked"], known[2])
            versions.add_metric([info.name], info.content_version)
        jobs = GaugeMetricFamily("vigil_import_jobs", "Import jobs by state", labels=["state"])
        with self.store.connect() as conn:
            query = select(service_jobs.c.state, func.count()).group_by(service_jobs.c.state)
            counts: dict[str, int] = {str(state): int(n) for state, n in conn.execute(query)}
        for state in ("queued", "running", "done", "failed"):
            jobs.add_metric([state], int(counts.get(state, 0)))
        yield entries
        yield versions
        yield jobs


class Metrics:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.requests = Counter("vigil_requests", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("vigil_request_seconds", "Time to answer a request", ["route"],
                                 buckets=_BUCKETS, registry=self.registry)
        self.lookups = Counter("vigil_lookups", "Signals and uploads looked up", ["result"], registry=self.registry)
        self.matches = Counter("vigil_matches", "Matches by list", ["list"], registry=self.registry)
        self._database = _Database(store)
        self.registry.register(self._database)  # (in one process; with workers, a scrape adds the files up)

    def looked_up(self, results: Sequence[QueryResult]) -> None:
        matched = sum(bool(r.matches) for r in results)
        if matched:
            self.lookups.labels("matched").inc(matched)
        if len(results) - matched:
            self.lookups.labels("unmatched").inc(len(results) - matched)
        for r in results:
            for m in r.matches:
                self.matches.labels(m.list).inc()

    def exposition(self) -> bytes:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]  # every worker's counts
        registry.register(self._database)
        return generate_latest(registry)


class RequestTimer:
    """ASGI middleware: each request counted and timed under its route's template (``/v1/lists/{name}``),
    unknown paths under "other" so that scanners cannot grow the label set."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def seen(msg: Any) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, seen)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "other"
            metrics: Metrics | None = getattr(getattr(scope["app"].state, "service", None), "metrics", None)
            seconds = time.perf_counter() - started
            if metrics is not None:
                metrics.requests.labels(name, scope.get("method", ""), str(status)).inc()
                metrics.latency.labels(name).observe(seconds)
            _access.info("request", extra={"fields": {"method": scope.get("method"), "route": name, "status": status,
                                                      "ms": round(seconds * 1000, 2)}})
