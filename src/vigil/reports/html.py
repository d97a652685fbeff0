"""``report.html``: one self-contained page an examiner opens offline in any browser.

Hits come first, grouped by list and then by category; each distinct content is one card
that stacks every path it was found at. Thumbnails (photo) and frame strips (video) are
embedded, blurred and greyscale by the page's style until the examiner clicks one to reveal
it (a second click hides it again); nothing moves or plays by itself. No script or style is
fetched from anywhere: the page works on an air-gapped machine.
"""

from __future__ import annotations

import base64
import itertools
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from .atomic import AtomicFile
from .source import ReportSource, Rows

__all__ = ["write_report_html", "MAX_ERROR_ROWS"]

MAX_ERROR_ROWS = 5000  # the page stays usable; every row is in report.json


def _template() -> jinja2.Template:
    source = files("vigil.reports").joinpath("templates/report.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["bytes"] = _human_bytes
    return env.from_string(source)


def _human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _groups(source: ReportSource) -> list[dict[str, Any]]:
    """[{list, categories: [{category, scheme, cards: [...]}]}] in the order the lists were used."""
    header = source.header()
    pictures = source.pictures()
    by_list: dict[str, dict[tuple[str, str], list[dict[str, Any]]]] = {}
    for sha, rows in source.hit_contents():
        first = rows[0]
        picture = pictures.get(sha)
        if picture is not None:
            data, frames, error = picture.data, picture.frames, picture.error
        else:
            data, frames = None, 0
            error = (f"only the first {header.max_pictures:,} hits are pictured"
                     if first.kind in ("image", "video") else "not a picture")
        for name in dict.fromkeys(m["list"] for m in first.matches):
            matches = [m for m in first.matches if m["list"] == name]
            category = next((m.get("category") for m in matches if m.get("category") is not None), None)
            scheme = next((m.get("category_scheme") for m in matches if m.get("category") is not None), None)
            key = (str(category) if category is not None else "", scheme or "")
            by_list.setdefault(name, {}).setdefault(key, []).append({
                "sha256": sha, "kind": first.kind, "size": first.size, "md5": first.md5,
                "paths": [r.path for r in rows], "matches": matches,
                "thumb": "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else None,
                "frames": frames, "thumb_error": error})
    order = [str(entry["name"]) for entry in header.lists]
    groups = []
    for name in sorted(by_list, key=lambda n: (order.index(n) if n in order else len(order), n)):
        categories: list[dict[str, Any]] = [
            {"category": c or None, "scheme": s or None, "cards": cards}
            for (c, s), cards in sorted(by_list[name].items(), key=lambda kv: (kv[0][0] == "", kv[0]))]
        groups.append({"list": name, "count": sum(len(c["cards"]) for c in categories), "categories": categories})
    return groups


def write_report_html(source: ReportSource, out: Path, summary: dict[str, Any]) -> AtomicFile:
    header = source.header()
    errors = list(itertools.islice(source.rows(Rows.ERRORS), MAX_ERROR_ROWS))
    page = _template().render(
        case=header.case, tool=header.tool, started=header.started, finished=header.finished,
        evidence=header.evidence, lists=header.lists, summary=summary,
        groups=_groups(source), errors=errors, more_errors=max(0, summary["errors"] - len(errors)))
    with AtomicFile(out / "report.html") as f:
        f.write(page.encode("utf-8"))
    return f
