"""Per-list match settings, declared once: the defaults, their limits, the CLI flags and
the docs all come from :data:`SETTINGS`.

The defaults are the field's (DESIGN.md): PDQ matches at distance ≤ 31 with quality ≥ 50;
a video matches when ≥ 80% of the query's frames (quality ≥ 50) match the listed video's
frames at distance ≤ 31.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import UsageError

__all__ = ["Setting", "SETTINGS", "ListSettings"]


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type[int] | type[float]
    default: float
    low: float
    high: float
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("pdq_threshold", int, 31, 0, 96, "PDQ distance at or under which a photo matches"),
    Setting("pdq_quality", int, 50, 0, 100, "PDQ hashes of lower quality (query or listed) are not matched"),
    Setting("vpdq_threshold", int, 31, 0, 96, "PDQ distance at or under which two video frames match"),
    Setting("vpdq_quality", int, 50, 0, 100, "video frames of lower quality are left out of video matching"),
    Setting("vpdq_query_percent", float, 80.0, 0, 100,
            "share of the query video's frames that must match the listed video"),
    Setting("vpdq_list_percent", float, 0.0, 0, 100,
            "share of the listed video's frames that the query must match (0: any)"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def _default(name: str) -> Any:
    setting = _BY_NAME[name]
    return setting.kind(setting.default)


@dataclass(frozen=True)
class ListSettings:
    """A list's match settings; one field per entry of :data:`SETTINGS`, whose defaults are theirs."""

    pdq_threshold: int = _default("pdq_threshold")
    pdq_quality: int = _default("pdq_quality")
    vpdq_threshold: int = _default("vpdq_threshold")
    vpdq_quality: int = _default("vpdq_quality")
    vpdq_query_percent: float = _default("vpdq_query_percent")
    vpdq_list_percent: float = _default("vpdq_list_percent")

    def changed(self, values: Mapping[str, Any]) -> ListSettings:
        """A copy with ``values`` applied (None values ignored); UsageError if out of range."""
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if value is None:
                continue
            setting = _BY_NAME.get(name)
            if setting is None:
                raise UsageError(f"unknown list setting {name!r}; known: {', '.join(_BY_NAME)}")
            try:
                typed = setting.kind(value)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{setting.flag} must be a number, not {value!r}") from exc
            if not setting.low <= typed <= setting.high:
                raise UsageError(f"{setting.flag} must be between {setting.low:g} and {setting.high:g}, not {value}")
            clean[name] = typed
        return replace(self, **clean)

    def to_json(self) -> str:
        """Only what differs from the defaults, so a later change of default reaches old lists."""
        default = ListSettings()
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)
                           if getattr(self, f.name) != getattr(default, f.name)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ListSettings:
        values = json.loads(text or "{}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
