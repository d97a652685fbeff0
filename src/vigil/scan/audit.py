"""Verifying a case: the log's hash chain, and the report files against the hashes it recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .casedb import CaseDB

__all__ = ["Verification", "verify_case"]


@dataclass
class Verification:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def bad(self, text: str) -> None:
        self.problems.append(text)
        self.lines.append(f"FAIL {text}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_case(case: CaseDB, out: Path) -> Verification:
    result = Verification()
    count, problems = case.log.verify()
    for p in problems:
        result.bad(f"log entry {p.seq}: {p.problem}")
    entries = case.log.entries()
    if not problems:
        head = entries[-1].hash if entries else "-"
        result.lines.append(f"ok   case log: {count} entries, hash chain intact, head {head} "
                            "(compare with the head recorded when the scan ended)")
    written = [e for e in entries if e.event == "reports written"]
    if not written:
        result.bad("the log records no reports (the scan has not finished: vigil scan … --resume)")
        return result
    last = written[-1]
    if entries[-1].seq != last.seq:
        result.bad(f"the log goes on after the reports were written (entry {entries[-1].seq}: {entries[-1].event})")
    for name, digest in sorted(last.data.get("files", {}).items()):
        path = out / name
        if not path.exists():
            result.bad(f"{name} is missing")
        elif _sha256(path) != digest:
            result.bad(f"{name} differs from the file the scan wrote (sha256 recorded in log entry {last.seq})")
        else:
            result.lines.append(f"ok   {name} matches log entry {last.seq}")
    return result
