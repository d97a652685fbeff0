"""Bundled benign demo media (Meta's ThreatExchange test photos and video)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["media_dir"]


def media_dir() -> Path:
    """Folder of the bundled demo media (a real folder on disk)."""
    with as_file(files(__package__) / "media") as path:
        return Path(path)
