"""Vigil's errors, one tree, translated to messages and exit codes at the edges.

    VigilError                 anything Vigil reports on purpose
    ├── UsageError             the caller asked for something impossible (exit 2)
    ├── InputUnusable          an input or dependency that cannot be used (exit 3)
    │   └── MalformedSignal    a signal value not of its type (also a ValueError)
    └── MediaError             one file cannot be hashed as media (a row, never the end of a run)
        ├── NotMedia           no photo or video signature in the content
        ├── MediaTooLarge      refused before decoding: pixel count or frame size over the limit
        ├── DecodeTimeout      decoding ran past the time limit
        └── CorruptMedia       the decoder rejected the content (truncated, damaged)

Every message is one line that says what is wrong and, where it helps, what to do.
"""

from __future__ import annotations

__all__ = [
    "VigilError",
    "UsageError",
    "InputUnusable",
    "MalformedSignal",
    "MediaError",
    "NotMedia",
    "MediaTooLarge",
    "DecodeTimeout",
    "CorruptMedia",
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


class MalformedSignal(InputUnusable, ValueError):
    """A signal value that is not of its type: wrong length, not hex, empty. The message names the
    type and quotes the value. A ValueError too, so that readers which turn any bad value into an
    error naming its line or record catch it with the rest."""


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
