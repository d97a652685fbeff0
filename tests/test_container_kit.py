"""Every registered container passes the container kit (tests/kits/containers.py)."""

from __future__ import annotations

from kits.containers import *  # noqa: F403 (the kit's checks, collected here)
