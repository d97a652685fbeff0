"""Containers read in place: the members of archives (and, later, disk images), never extracted."""

from __future__ import annotations

from .base import (
    SEP,
    ArchiveLimits,
    LimitExceeded,
    Member,
    MemberError,
    MemberUnreadable,
    archive_format,
    iter_members,
    member_path,
)

__all__ = [
    "SEP", "ArchiveLimits", "LimitExceeded", "Member", "MemberError", "MemberUnreadable", "archive_format",
    "iter_members", "member_path",
]
