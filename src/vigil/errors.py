"""Vigil's errors, one tree, translated to messages and exit codes at the edges.

    VigilError                 anything Vigil reports on purpose               exit 1  HTTP 500
    ├── UsageError             the caller asked for something impossible       exit 2  HTTP 400
    │   ├── InvalidValue       a malformed value: hash text, a limit, an array exit 2  HTTP 422
    │   │   └── MalformedSignal  a signal value not of its type                 exit 2  HTTP 422
    │   ├── NotFound           a named thing (a list) does not exist           exit 2  HTTP 404
    │   ├── NotAuthenticated   no API key, or one the service does not know    exit 2  HTTP 401
    │   │   └── SecondFactorNeeded  a sign-in that needs its one-time code       exit 2  HTTP 401
    │   ├── NotPermitted       the key's role may not do this                  exit 2  HTTP 403
    │   ├── BodyTooLarge       a request body over the service's limit         exit 2  HTTP 413
    │   └── RateLimited        a key asked more often than its rate allows     exit 2  HTTP 429
    ├── InputUnusable          an input or dependency that cannot be used      exit 3  HTTP 422
    │   ├── ListFormatError    a hash-list file that cannot be read            exit 3  HTTP 422
    │   ├── NotRegular         a device, pipe or socket in the evidence        exit 3  HTTP 422
    │   ├── IndexCorrupt       a saved match index that is missing or damaged  exit 3  HTTP 500
    │   │   └── CacheUnreadable  a compiled list's cache (rebuilt, not shown)  exit 3  HTTP 500
    │   └── StoreUnusable      the database cannot be opened or failed         exit 3  HTTP 503
    ├── MediaError             one file cannot be hashed as media (a row)      exit 3  HTTP 422
    │   ├── NotMedia           no photo or video signature in the content
    │   ├── MediaTooLarge      pixel count or frame size over the limit, refused before decoding
    │   ├── DecodeTimeout      decoding ran past the time limit
    │   └── CorruptMedia       the decoder rejected the content (truncated, damaged)
    ├── MemberError            a member of a container cannot be read (a row)  exit 3  HTTP 422
    │   ├── LimitExceeded      the member, or its archive, expanded past a limit (a bomb?)
    │   └── MemberUnreadable   its data is damaged, cut short, or cannot be read at all
    └── VerifyFailed           a case's log or reports were changed            exit 1  HTTP 422

Every message is one line that says what is wrong and, where it helps, what to do.

Why these codes. The exit codes are the command's contract (README): 0 the work finished (per-file
errors are rows of the output, not the exit status), 2 a usage error, 3 an input or dependency that
cannot be used; ``case verify`` exits 1 when the case was changed, like ``cmp`` or ``diff`` when the
files differ, so 1 stays "the check failed", apart from 2 and 3 (it could not be checked).

The HTTP statuses are for the service (DESIGN.md's list: 400/401/403/404/413/422/429/503): 400 for a request
that asks for the impossible; 422 for a well-formed request whose value or content fails its check (a
malformed hash, an unreadable list file, media that cannot be hashed, a case that fails verification) —
FastAPI's convention for validation errors, so the two agree; 404 for a named list that does not exist.
A media error, like a member of a container that cannot be read (it carries the member's ``path`` and
the ``reason`` apart: a row shows the reason, a log line both), is 422 whatever its kind:
``MediaTooLarge`` is about pixels, which a small upload can claim (413 is for the request body, checked
before Vigil sees it), and ``NotMedia`` is about content, not the request's Content-Type (415). What the
server holds is not the client's fault: a damaged index is 500 (it needs rebuilding), a database that is
down or refuses is 503 (try again later). A ``VigilError`` with no more precise class is 500.

Third-party errors (Pillow, PyAV, SQLAlchemy, zipfile, tarfile, py7zr, zlib, lzma) are translated where
Vigil calls them: a user sees one of these with a message, never the library's exception and its stack
trace. ``InvalidValue`` is also a
``ValueError``, the exception Python code expects from a malformed value, and ``NotRegular`` an
``OSError``, what reading a file raises.
"""

from __future__ import annotations

__all__ = [
    "VigilError",
    "UsageError",
    "InvalidValue",
    "MalformedSignal",
    "NotFound",
    "NotAuthenticated",
    "SecondFactorNeeded",
    "NotPermitted",
    "BodyTooLarge",
    "RateLimited",
    "InputUnusable",
    "ListFormatError",
    "NotRegular",
    "IndexCorrupt",
    "CacheUnreadable",
    "StoreUnusable",
    "MediaError",
    "NotMedia",
    "MediaTooLarge",
    "DecodeTimeout",
    "CorruptMedia",
    "MemberError",
    "LimitExceeded",
    "MemberUnreadable",
    "VerifyFailed",
]


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    exit_code = 1
    http_status = 500

    def __str__(self) -> str:
        # Errors become report rows and terminal lines: keep them to one line.
        return " ".join(super().__str__().split())


class UsageError(VigilError):
    """The caller asked for something impossible: a bad option, a bad combination of them."""

    exit_code = 2
    http_status = 400


class InvalidValue(UsageError, ValueError):
    """A value that is not what it must be: hash text, a quality outside 0-100, a limit that is not
    positive, an array that is not an RGB photo."""

    http_status = 422


class MalformedSignal(InvalidValue):
    """A signal value that is not of its type: wrong length, not hex, empty. The message names the
    type and quotes the value; a list reader turns it into a ListFormatError naming the line or record."""


class NotFound(UsageError):
    """A thing named by the caller (a list) does not exist."""

    http_status = 404


class NotAuthenticated(UsageError):
    """A service request without an API key, or with one the service does not know (or has revoked)."""

    http_status = 401


class SecondFactorNeeded(NotAuthenticated):
    """A sign-in whose password was right but which needs the person's one-time code (TOTP) too."""


class NotPermitted(UsageError):
    """A service request whose key's role may not do what it asks."""

    http_status = 403


class BodyTooLarge(UsageError):
    """A service request body over the service's limit, refused before it is read in full."""

    http_status = 413


class RateLimited(UsageError):
    """A key that asked more often than its rate allows; ``retry_after``: seconds until it may again."""

    http_status = 429

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[type[RateLimited], tuple[str, float]]:
        return type(self), (str(self), self.retry_after)


class InputUnusable(VigilError):
    """An input or dependency that cannot be used; the message says which and why."""

    exit_code = 3
    http_status = 422


class ListFormatError(InputUnusable):
    """A hash-list file that cannot be read; says where (line or record) and why.

    Raised before anything of the file is kept: an import is all or nothing.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 record: int | None = None) -> None:
        where = []
        if source:
            where.append(source)
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.source = source
        self.line = line
        self.record = record


class NotRegular(InputUnusable, OSError):
    """The path is a device, pipe or socket: it is never read (an OSError, as reading a file raises)."""


class IndexCorrupt(InputUnusable):
    """A saved index folder that is missing, damaged, or written by an incompatible version."""

    http_status = 500


class CacheUnreadable(IndexCorrupt):
    """A compiled list's cache folder that is damaged or of another format; the caller rebuilds it."""


class StoreUnusable(InputUnusable):
    """The database cannot be opened, or it failed a statement (the driver's reason in one line)."""

    http_status = 503


class MediaError(VigilError):
    """A file could not be hashed as media; the run goes on (a row of its output)."""

    exit_code = 3
    http_status = 422


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

    exit_code = 3
    http_status = 422

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


class VerifyFailed(VigilError):
    """A case's log or reports are not what its hash chain records (each problem was listed)."""

    exit_code = 1
    http_status = 422
