"""Whether Vigil's own PDQ core may be used: checked once per install, not once per process.

The core (numba kernels in ``_pdqcore``, Meta's C++ through ctypes in ``_pdqcpp``) must give
``pdqhash.compute``'s hashes bit for bit. Checking that takes the numba kernels, whose start-up
alone costs 0.4 s: too much for every ``vigil hash one.jpg``. So the verdict is kept in a small
file in the user's cache folder (``$XDG_CACHE_HOME/vigil``, else ``~/.cache/vigil``), keyed by
what could change it: the versions of Vigil, pdqhash, numba, numpy and the interpreter, the
machine, and the core's own source. Any change, or a file that cannot be read, runs the check
again; a cache that cannot be written only means the check runs each time (never an error).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from . import _pdqcpp

__all__ = ["AVAILABLE", "cache_file", "check"]


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vigil" / "pdq-core-check.json"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "none"


def _key() -> dict[str, str]:
    here = Path(__file__).parent
    source = hashlib.sha256()
    for name in ("_pdqcore.py", "_pdqcpp.py", "_pdqfast.py"):
        with contextlib.suppress(OSError):
            source.update((here / name).read_bytes())
    uname = os.uname()
    return {
        "vigil": _version("vigil"),
        "pdqhash": _version("pdqhash"),
        "numba": _version("numba"),
        "numpy": np.__version__,
        "python": sys.version,
        "machine": f"{uname.sysname} {uname.machine} {uname.nodename}",
        "source": source.hexdigest(),
    }


def _run_check() -> bool:
    if not _pdqcpp.BOUND:
        return False  # nothing to run: the symbols are not there
    from . import _pdqcore  # numba: only when the verdict is not known yet

    return _pdqcore.agrees_with_pdqhash()


def check(path: Path | None = None) -> bool:
    """The verdict: from the cache file when its key matches, else by running the check (and
    keeping the result for next time)."""
    path = cache_file() if path is None else path
    key = _key()
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(kept, dict) and kept.get("key") == key and isinstance(kept.get("available"), bool):
            return bool(kept["available"])
    except (OSError, ValueError):
        pass  # none yet, unreadable or damaged: check again
    verdict = _run_check()
    with contextlib.suppress(OSError):  # a read-only home: the check runs again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pdq-core-check-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"key": key, "available": verdict}, f)
            os.replace(tmp, path)  # readers see the old file or the new one, never half of one
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return verdict


AVAILABLE = check()
