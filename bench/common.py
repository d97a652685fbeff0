"""Small helpers shared by the benchmark modules: timing, statistics, markdown, progress."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

REFDATA = Path("/work/shared/refdata/threatexchange")
PDQ_IMAGES = REFDATA / "pdq-images"
SAMPLE_VIDEOS = REFDATA / "videos"
BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work"
RESULTS = BENCH / "results"
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:6.0f}s] {message}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one call, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def timed_median(fn: Callable[[], T], repeat: int) -> tuple[float, list[float], T]:
    """Median wall seconds over ``repeat`` calls (all kept), and the last result."""
    times: list[float] = []
    result: Any = None
    for _ in range(max(1, repeat)):
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, result


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), q in 0-100."""
    if not values:
        return float("nan")
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def fmt(value: object, digits: int = 2) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def command_output(*args: str) -> str:
    """What a command prints (stripped), or "?" when it cannot be run: for the machine line of a report."""
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"
