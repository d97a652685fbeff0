"""Limits checked before and during decoding, so hostile files cost little."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidValue

__all__ = ["Limits", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class Limits:
    """Per-file decoding limits.

    max_pixels: largest photo (width x height) decoded; checked from the header,
        before any pixel is decoded (decompression bombs). 100 MP covers every
        camera but the 200 MP phone sensors; raise it for those.
    max_frame_pixels: largest video frame (width x height), from the stream header.
    max_seconds: wall time for decoding and hashing one file's media.
    """

    max_pixels: int = 100_000_000
    max_frame_pixels: int = 36_000_000
    max_seconds: float = 1800.0

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_frame_pixels", "max_seconds"):
            if getattr(self, name) <= 0:
                raise InvalidValue(f"{name} must be positive, not {getattr(self, name)!r}")


DEFAULT_LIMITS = Limits()
