#!/usr/bin/env python3
"""Compare two `vigil scan` output folders of the same evidence (two versions of Vigil), and hash_file JSON lines.

    python bench/compare_scans.py OUT_A OUT_B [--hashes HASHES_A HASHES_B]
    python bench/compare_scans.py A.jsonl B.jsonl

OUT_A / OUT_B: scan output folders. Compared:
  * report.json: parsed and compared as JSON, with these time fields removed first:
    evidence.started, evidence.finished, summary.seconds. evidence.tool ("vigil X.Y.Z") is
    compared too; a difference there is printed but counted as trivial (not a failure) -- use
    --strict-tool to count it. Everything else, items order included, must be equal.
    As a second, stricter check, the raw bytes are compared after the three time values are blanked
    (catches formatting / key-order changes): a difference there alone is reported as FORMAT.
  * hits.csv: byte-identical.
  * vics-case.json: byte-identical (it carries no time or date field; SourceApplicationVersion is the tool
    version: treated like evidence.tool).
  * report.html: compared with its Started / Finished rows blanked (informational unless --html).
HASHES_A / HASHES_B: folders holding hashes-exact.jsonl and hashes-fast.jsonl, or two .jsonl files:
  compared line by line as JSON, keyed by (mode, path); every field must be equal.

Exit 0 when everything compared is identical, 1 otherwise (with a summary of what differs).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

TIME_FIELDS = (("evidence", "started"), ("evidence", "finished"), ("summary", "seconds"))
MAX_SHOWN = 15


class Result:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.notes: list[str] = []

    def fail(self, what: str, details: list[str]) -> None:
        self.failures.append(what)
        print(f"DIFFERS: {what}")
        for line in details[:MAX_SHOWN]:
            print(f"    {line}")
        if len(details) > MAX_SHOWN:
            print(f"    ... and {len(details) - MAX_SHOWN} more")

    def ok(self, what: str) -> None:
        print(f"same:    {what}")

    def note(self, what: str) -> None:
        self.notes.append(what)
        print(f"note:    {what}")


def short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def json_diff(a: Any, b: Any, path: str = "") -> list[str]:
    """Readable differences between two JSON values (paths like items[3].signals.pdq.hash)."""
    if type(a) is not type(b):
        return [f"{path or '.'}: {short(a)} != {short(b)}"]
    if isinstance(a, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: only in A ({short(a[k])})")
            elif k not in a:
                out.append(f"{p}: only in B ({short(b[k])})")
            else:
                out += json_diff(a[k], b[k], p)
        if not out and list(a) != list(b):
            out.append(f"{path or '.'}: same keys, other order: {list(a)} vs {list(b)}")
        return out
    if isinstance(a, list):
        out = []
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            out += json_diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [f"{path}: {short(a)} != {short(b)}"]


def strip_times(report: dict[str, Any]) -> dict[str, Any]:
    r = copy.deepcopy(report)
    for section, key in TIME_FIELDS:
        if isinstance(r.get(section), dict):
            r[section].pop(key, None)
    return r


def item_label(report: dict[str, Any], diff_line: str) -> str:
    m = re.match(r"items\[(\d+)\]", diff_line)
    if m and int(m.group(1)) < len(report.get("items", [])):
        return f"   (item {m.group(1)}: {report['items'][int(m.group(1))]['path']})"
    return ""


def blank_times_raw(raw: bytes, report: dict[str, Any]) -> bytes:
    """The report's bytes with the three time values blanked (each once, where the writer puts them)."""
    for section, key in TIME_FIELDS:
        value = report.get(section, {}).get(key)
        raw = raw.replace(f'"{key}": {json.dumps(value)}'.encode(), f'"{key}": "<time>"'.encode(), 1)
    return raw


def compare_report(a: Path, b: Path, res: Result, strict_tool: bool) -> tuple[str | None, str | None]:
    raw_a, raw_b = (a / "report.json").read_bytes(), (b / "report.json").read_bytes()
    ra, rb = json.loads(raw_a), json.loads(raw_b)
    tool_a, tool_b = ra.get("evidence", {}).get("tool"), rb.get("evidence", {}).get("tool")
    sa, sb = strip_times(ra), strip_times(rb)
    if tool_a != tool_b:
        msg = f"report.json evidence.tool: {tool_a!r} vs {tool_b!r}"
        if strict_tool:
            res.fail(msg, [])
        else:
            res.note(msg + " (ignored; --strict-tool counts it)")
        sa["evidence"].pop("tool", None)
        sb["evidence"].pop("tool", None)
    diffs = json_diff(sa, sb)
    if diffs:
        n_items_a, n_items_b = len(ra.get("items", [])), len(rb.get("items", []))
        head = [f"{d}{item_label(ra, d)}" for d in diffs]
        res.fail(f"report.json content ({len(diffs)} differences; items {n_items_a} vs {n_items_b})", head)
    else:
        res.ok(f"report.json content (times ignored; {len(ra.get('items', []))} items, "
               f"summary {json.dumps({k: v for k, v in ra['summary'].items() if k != 'seconds'})})")
        ba, bb = blank_times_raw(raw_a, ra), blank_times_raw(raw_b, rb)
        if tool_a != tool_b:
            ba = ba.replace(json.dumps(tool_a).encode(), b'"<tool>"', 1)
            bb = bb.replace(json.dumps(tool_b).encode(), b'"<tool>"', 1)
        if ba != bb:
            res.fail("report.json FORMAT: same JSON, other bytes (key order / indentation / number format)",
                     text_diff(ba, bb))
        else:
            res.ok("report.json bytes (with the time values blanked)")
    return tool_a, tool_b


def text_diff(a: bytes, b: bytes) -> list[str]:
    """Changed lines; for a changed line, the place it first differs (long lines are cut around it)."""
    la = a.decode("utf-8", "replace").splitlines()
    lb = b.decode("utf-8", "replace").splitlines()
    out: list[str] = []

    def snippet(text: str, col: int) -> str:
        lo = max(0, col - 60)
        return ("..." if lo else "") + text[lo:col + 100] + ("..." if col + 100 < len(text) else "")

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                x, y = la[i1 + k], lb[j1 + k]
                col = next((c for c, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
                out.append(f"line {i1 + k + 1} col {col + 1}: A {snippet(x, col)!r}")
                out.append(f"{' ' * len(f'line {i1 + k + 1} col {col + 1}: ')}B {snippet(y, col)!r}")
            continue
        out += [f"line {i + 1} only in A: {la[i][:200]!r}" for i in range(i1, i2)]
        out += [f"line {j + 1} only in B: {lb[j][:200]!r}" for j in range(j1, j2)]
    return out or ["(differ only in line endings / trailing bytes)"]


def compare_bytes(name: str, a: Path, b: Path, res: Result, replace: list[tuple[bytes, bytes]] | None = None) -> None:
    fa, fb = a / name, b / name
    if not fa.exists() or not fb.exists():
        res.fail(f"{name}: missing in {'A' if not fa.exists() else 'B'}", [])
        return
    ba, bb = fa.read_bytes(), fb.read_bytes()
    for old_a, old_b, new in replace or []:
        ba, bb = ba.replace(old_a, new), bb.replace(old_b, new)
    if ba == bb:
        res.ok(f"{name} ({len(ba)} bytes)")
    else:
        res.fail(f"{name}", text_diff(ba, bb))


def compare_html(a: Path, b: Path, res: Result, counted: bool) -> None:
    def blank(p: Path) -> bytes:
        data = p.read_bytes()
        return re.sub(rb"<tr><td>(Started|Finished)</td><td>[^<]*</td></tr>", rb"<tr><td>\1</td><td></td></tr>", data)

    fa, fb = a / "report.html", b / "report.html"
    if not fa.exists() or not fb.exists():
        res.note("report.html missing on one side (not compared)")
        return
    ba, bb = blank(fa), blank(fb)
    if ba == bb:
        res.ok("report.html (Started / Finished blanked)")
    elif counted:
        res.fail("report.html (Started / Finished blanked)", text_diff(ba, bb))
    else:
        res.note(f"report.html differs beyond Started / Finished (informational; --html counts it): "
                 f"{len(text_diff(ba, bb))} diff lines")


def load_jsonl(p: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if line.strip():
            d = json.loads(line)
            key = (str(d.get("mode")), str(d.get("path")))
            if key in out:
                raise SystemExit(f"{p}:{n}: duplicate {key}")
            out[key] = d
    return out


def compare_jsonl(fa: Path, fb: Path, res: Result) -> None:
    if not fa.exists() or not fb.exists():
        res.fail(f"{fa.name}: missing ({fa if not fa.exists() else fb})", [])
        return
    da, db = load_jsonl(fa), load_jsonl(fb)
    details = []
    for key in sorted(set(da) | set(db)):
        if key not in db:
            details.append(f"{key[1]} ({key[0]}): only in A")
        elif key not in da:
            details.append(f"{key[1]} ({key[0]}): only in B")
        else:
            details += [f"{key[1]} ({key[0]}): {d}" for d in json_diff(da[key], db[key])]
    if details:
        res.fail(f"{fa.name} vs {fb.name}: {len(details)} differences", details)
    else:
        order = "same order" if list(da) == list(db) else "OTHER ORDER (content equal)"
        res.ok(f"{fa.name} vs {fb.name} ({len(da)} files, {order})")


def compare_hashes(a: Path, b: Path, res: Result) -> None:
    if a.is_file() or b.is_file():
        compare_jsonl(a, b, res)
        return
    for name in ("hashes-exact.jsonl", "hashes-fast.jsonl"):
        compare_jsonl(a / name, b / name, res)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--hashes", nargs=2, metavar=("HASHES_A", "HASHES_B"),
                    help="also compare these hash folders (hashes-{exact,fast}.jsonl) or .jsonl files")
    ap.add_argument("--strict-tool", action="store_true", help="a different tool version string is a failure")
    ap.add_argument("--html", action="store_true", help="a report.html difference is a failure")
    args = ap.parse_args()
    a, b = Path(args.a), Path(args.b)
    res = Result()
    if a.is_file() and b.is_file():
        compare_jsonl(a, b, res)
    else:
        print(f"A = {a}\nB = {b}")
        tool_a, tool_b = compare_report(a, b, res, args.strict_tool)
        compare_bytes("hits.csv", a, b, res)
        version = []
        if tool_a != tool_b and not args.strict_tool:
            va = f'"SourceApplicationVersion":{json.dumps(str(tool_a or "").removeprefix("vigil "))}'.encode()
            vb = f'"SourceApplicationVersion":{json.dumps(str(tool_b or "").removeprefix("vigil "))}'.encode()
            version = [(va, vb, b'"SourceApplicationVersion":"<version>"')]
        compare_bytes("vics-case.json", a, b, res, version)
        compare_html(a, b, res, args.html)
    if args.hashes:
        print(f"hashes A = {args.hashes[0]}\nhashes B = {args.hashes[1]}")
        compare_hashes(Path(args.hashes[0]), Path(args.hashes[1]), res)
    if res.failures:
        print(f"\nRESULT: DIFFERENT ({len(res.failures)}): " + "; ".join(res.failures))
        return 1
    print("\nRESULT: IDENTICAL" + (f" (notes: {len(res.notes)})" if res.notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
