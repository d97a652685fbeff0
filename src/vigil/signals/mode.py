"""Hashing modes shared by the photo and video signals."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Mode"]


class Mode(StrEnum):
    """``exact`` reproduces the reference implementations bit for bit; ``fast``
    decodes less (reduced-size JPEG decoding, key frames) for triage."""

    EXACT = "exact"
    FAST = "fast"
