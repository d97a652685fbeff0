"""How a service runs: its database, limits and rates (``vigil serve``'s options; the environment
carries them to worker processes)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from ..errors import InvalidValue

__all__ = ["ServeSettings"]

_ENV = "VIGIL_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    database: str | None = None  # a URL or SQLite path (`--db`); None: $VIGIL_DB, else the default file
    workers: int = 1
    max_body_bytes: int = 64 * 1024 * 1024  # uploads and list files; a batch of 10,000 lookups is ~1 MB
    max_list_bytes: int = 4 * 1024**3  # a list file imported over HTTP (1M PDQ hashes: about 70 MB)
    max_batch: int = 10_000  # signals in one POST /v1/lookup
    rate: float = 200.0  # requests a second per key, the whole service (each worker its share)
    burst: int = 400
    refresh_seconds: float = 2.0  # how often a worker looks whether the lists changed
    key_cache_seconds: float = 5.0  # how long a checked key is trusted before it is looked up again
    preload: bool = False  # start the hashing processes at start-up, not at the first upload (vigil serve does)
    two_person: tuple[str, ...] = ()  # categories whose review items two people must confirm
    sla_hours: float = 24.0  # an item should be decided within this many hours of its first match

    def __post_init__(self) -> None:
        for name in ("workers", "max_body_bytes", "max_list_bytes", "max_batch", "burst"):
            if getattr(self, name) < 1:
                raise InvalidValue(f"{name} must be at least 1")
        for name in ("rate", "refresh_seconds", "key_cache_seconds"):
            if getattr(self, name) < 0:
                raise InvalidValue(f"{name} must not be negative")
        if not self.sla_hours > 0:
            raise InvalidValue("sla_hours must be more than 0")
        object.__setattr__(self, "two_person", tuple(str(c).strip() for c in self.two_person if str(c).strip()))

    @property
    def rate_per_worker(self) -> float:
        return self.rate / self.workers

    def to_env(self) -> None:
        os.environ[_ENV] = json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(_ENV)
        return cls(**json.loads(text)) if text else cls()
