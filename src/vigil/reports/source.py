"""What a report is written from: rows and hits read through a small protocol, not an app's database.

A scan reads them from its case database (``vigil.scan.casereport``); the service or the hunter
can read theirs from anywhere, and the writers of this package serve them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from ..signals import MD5, SHA1, SHA256

__all__ = ["Picture", "ReportHeader", "ReportSource", "Row", "Rows"]


@dataclass
class Row:
    """One item of a report (a file or a member read), joined with what its content is."""

    seq: int
    path: str  # for display (non-UTF-8 bytes as \\xNN)
    kind: str
    size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    signals: dict[str, Any]
    matches: list[dict[str, Any]]
    allowed: list[dict[str, Any]]
    error: str | None

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "kind": self.kind, "size": self.size, MD5.name: self.md5, SHA1.name: self.sha1,
               SHA256.name: self.sha256, "signals": self.signals, "matches": self.matches, "error": self.error}
        if self.allowed:
            out["allowed"] = self.allowed
        return out


class Rows(Enum):
    """Which rows a writer asks for, in report order."""

    ALL = "all"
    HITS = "hits"  # rows whose content matched a block list
    ERRORS = "errors"  # rows not fully read, or whose content could not be hashed


@dataclass(frozen=True)
class Picture:
    """The small picture of a hit (JPEG): a thumbnail, or a strip of ``frames`` video frames."""

    data: bytes | None
    frames: int
    error: str | None = None


@dataclass(frozen=True)
class ReportHeader:
    case: str | None
    tool: str | None
    started: str | None
    finished: str | None
    evidence: list[str]  # what was read, as shown to a person
    evidence_block: dict[str, Any]  # report.json's ``evidence`` block
    lists: list[dict[str, Any]] = field(default_factory=list)  # the lists used: name, kind, entries, …
    max_pictures: int = 0  # hits past this many have no picture (the page stays one a browser opens)


class ReportSource(Protocol):
    def header(self) -> ReportHeader: ...

    def rows(self, which: Rows = Rows.ALL) -> Iterator[Row]:
        """Rows in report order, streamed (bounded memory)."""
        ...

    def hit_contents(self) -> Iterator[tuple[str, list[Row]]]:
        """Each hit content (sha256) with every row (copy) that holds it, in order of first copy."""
        ...

    def pictures(self) -> Mapping[str, Picture]:
        """The pictures of hits, by content sha256."""
        ...
