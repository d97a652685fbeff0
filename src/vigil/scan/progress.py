"""What a front end shows while a scan runs: a module of its own, so the CLI can draw a scan's
progress without loading the scan (SQLAlchemy, the hashing stack) before the scan runs."""

from __future__ import annotations

__all__ = ["ScanProgress"]


class ScanProgress:
    """What a front end shows while a scan runs; the scan calls these from its main thread,
    except ``counted`` (from the thread that sizes the evidence)."""

    def started(self, resumed_entries: int, resumed_bytes: int) -> None: ...
    def counted(self, files: int, size: int, finished: bool) -> None: ...
    def advanced(self, items: int, nbytes: int, hits: int, errors: int) -> None: ...
    def stage(self, text: str) -> None: ...
