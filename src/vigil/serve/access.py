"""Who may ask what: API keys checked per request (cached for seconds, so a revocation takes effect
within ``key_cache_seconds``), roles per route, and a rate per key (a token bucket).

The rate is kept in each worker process: with ``workers`` processes, each allows its share of the
key's rate (``rate / workers`` a second, the same burst), so the whole service allows about the rate
however requests are spread.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import NotAuthenticated, NotPermitted, RateLimited, StoreUnusable
from ..store import Store
from .keys import ApiKey, Role, check_key, key_digest

__all__ = ["Access", "require"]


def _secret(authorization: str | None) -> str:
    """The key an ``Authorization: Bearer <key>`` header carries; NotAuthenticated without one."""
    if not authorization:
        raise NotAuthenticated("this route needs an API key: send `Authorization: Bearer <key>`")
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise NotAuthenticated("send the API key as `Authorization: Bearer <key>`")
    return secret


def require(request: Any, roles: frozenset[Role]) -> tuple[Any, ApiKey]:
    """(the worker's service, the request's key) once the key's role and rate allow the route; every
    route starts with it. The key was found by the gate (``limits.KeyGate``) before the request was
    parsed, and is read from the request's state, not looked up again."""
    service = request.app.state.service
    key = getattr(request.state, "api_key", None) or service.access.key(request.headers.get("authorization"))
    return service, service.access.allow(key, roles)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Access:
    """The service's gate: :meth:`allow` returns the key a request was made with, or raises."""

    def __init__(self, store: Store, *, rate: float, burst: int, key_cache_seconds: float = 5.0) -> None:
        self.store = store
        self.rate = rate  # requests a second per key, in this process
        self.burst = burst
        self.key_cache_seconds = key_cache_seconds
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def cached(self, authorization: str | None) -> ApiKey | None:
        """The key a header names when this worker checked it recently (no database): the common case,
        answered without leaving the event loop; None when it must be looked up (:meth:`key`)."""
        try:
            digest = key_digest(_secret(authorization))
        except NotAuthenticated:
            return None
        found = self._keys.get(digest)
        return found[0] if found is not None and found[1] > time.monotonic() else None

    def key(self, authorization: str | None) -> ApiKey:
        """The active key an ``Authorization: Bearer <key>`` header names; NotAuthenticated otherwise.
        The key never appears in a message or a log line."""
        secret = _secret(authorization)
        digest = key_digest(secret)
        clock = time.monotonic()
        cached = self._keys.get(digest)
        if cached is not None and cached[1] > clock:
            found = cached[0]
        else:
            try:
                found = check_key(self.store, secret)
            except StoreUnusable:
                # The database is away: a key this worker knew goes on being trusted as it was (a
                # revocation takes effect when the database answers again); any other waits for it.
                if cached is None or cached[0] is None:
                    raise
                return cached[0]
            with self._lock:
                if len(self._keys) > 10_000:  # unknown keys tried by the thousand: forget them all
                    self._keys.clear()
                self._keys[digest] = (found, clock + self.key_cache_seconds)
        if found is None:
            raise NotAuthenticated("unknown or revoked API key")
        return found

    def allow(self, key: ApiKey, roles: frozenset[Role]) -> ApiKey:
        """``key``, once its role is one of ``roles`` (admin always is) and its rate allows."""
        if key.role is not Role.ADMIN and key.role not in roles:
            wanted = " or ".join(sorted(r.value for r in roles | {Role.ADMIN}))
            raise NotPermitted(f"the key {key.name!r} has the role {key.role.value}; this route needs {wanted}")
        self._spend(key)
        return key

    def _spend(self, key: ApiKey) -> None:
        if self.rate <= 0:
            return
        clock = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key.id)
            if bucket is None:
                bucket = self._buckets[key.id] = _Bucket(float(self.burst), clock)
            bucket.tokens = min(float(self.burst), bucket.tokens + (clock - bucket.stamp) * self.rate)
            bucket.stamp = clock
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate
        raise RateLimited(f"the key {key.name!r} is over its rate; retry in {math.ceil(wait)} s", retry_after=wait)
