"""Containers read in place: the members of archives (and, later, disk images), never extracted.

One :class:`Container` per format behind one protocol (``base``), one file each (``zip``, ``tar``,
``compressed``, ``sevenzip``), picked by content through the registry (``registry``); every one
passes the container test kit (tests/kits/containers.py).
"""

from __future__ import annotations

from ...errors import LimitExceeded, MemberError, MemberUnreadable
from .base import SEP, ArchiveLimits, Budget, Container, Member, member_path
from .registry import CONTAINERS, ContainerRegistry, LazyContainer, archive_format, iter_members

__all__ = [
    "CONTAINERS", "SEP", "ArchiveLimits", "Budget", "Container", "ContainerRegistry", "LazyContainer",
    "LimitExceeded", "Member", "MemberError", "MemberUnreadable", "archive_format", "iter_members", "member_path",
]
