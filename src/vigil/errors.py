"""Vigil's errors, one tree, translated to messages and exit codes at the edges.

    VigilError                 anything Vigil reports on purpose
    ├── UsageError             the caller asked for something impossible (exit 2)
    ├── InputUnusable          an input or dependency that cannot be used (exit 3)
    ├── MediaError             one file cannot be hashed as media (a row, never the end of a run)
    │   ├── NotMedia           no photo or video signature in the content
    │   ├── MediaTooLarge      refused before decoding: pixel count or frame size over the limit
    │   ├── DecodeTimeout      decoding ran past the time limit
    │   └── CorruptMedia       the decoder rejected the content (truncated, damaged)
    └── MemberError            one member of a container (an archive) cannot be read (a row; the walk
        │                      goes on); carries the member's ``path`` and the ``reason`` apart
        ├── LimitExceeded      the member, or its archive, expanded past a limit (a bomb?)
        └── MemberUnreadable   its data is damaged, cut short, or cannot be read at all

Every message is one line that says what is wrong and, where it helps, what to do. Third-party
errors (Pillow, PyAV, zipfile, tarfile, py7zr, zlib, lzma …) are translated into this tree where
Vigil calls the library, never further up.
"""

from __future__ import annotations

__all__ = [
    "VigilError",
    "UsageError",
    "InputUnusable",
    "MediaError",
    "NotMedia",
    "MediaTooLarge",
    "DecodeTimeout",
    "CorruptMedia",
    "MemberError",
    "LimitExceeded",
    "MemberUnreadable",
]


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    exit_code = 1

    def __str__(self) -> str:
        # Errors become report rows and terminal lines: keep them to one line.
        return " ".join(super().__str__().split())


class UsageError(VigilError):
    exit_code = 2


class InputUnusable(VigilError):
    exit_code = 3


class MediaError(VigilError):
    """A file could not be hashed as media; the run goes on."""


class NotMedia(MediaError):
    pass


class MediaTooLarge(MediaError):
    pass


class DecodeTimeout(MediaError):
    pass


class CorruptMedia(MediaError):
    pass


class MemberError(VigilError):
    """A member of a container cannot be read; the walk goes on (the member becomes a row).

    ``path`` is the member's (``case/a.zip!/x.jpg``) and ``reason`` says why without it: a row is
    already the member's, so it shows the reason alone, where a log line shows both.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[MemberError], tuple[str, str]]:
        return type(self), (self.path, self.reason)


class LimitExceeded(MemberError):
    pass


class MemberUnreadable(MemberError):
    pass
