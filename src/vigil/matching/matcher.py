"""Matching media and hashes against lists: the library behind ``vigil match``.

A query is whatever signals one file or one hash line gives: digests, PDQ hashes of
the photo and of its variants (mirrored, rotated, borders trimmed), vPDQ frames of a
video. Each list is searched through its compiled index (``vigil.index``: the list compiled whole,
and a delta of what changed since, ``vigil.lists.segments``); hits are resolved against the store,
so a revoked entry never matches; a query that matches
an allow-list (known benign media) has its other matches suppressed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import NotFound, UsageError
from ..evidence.sources import display_path
from ..hashing import FileResult
from ..index.vpdq import VideoScore, score_candidates, unique_quality_frames
from ..lists.catalog import ListInfo, ListKind, all_lists
from ..lists.compiled import CompiledList
from ..lists.segments import ListIndex, hidden, load_index
from ..signals import PDQ, SIGNALS, VPDQ, IndexKind
from ..signals.agreement import FRAME_WINDOWS, PHOTO_WINDOWS, windows_agree
from ..signals.guided import GUIDED_RADIUS, WindowProbe, confirm, find
from ..signals.variants import WINDOW_MIN_QUALITY
from ..signals.views import ORIGINAL, View, Window
from ..signals.vpdq import FrameWindow, VideoView, VpdqFeature, parse_line
from ..store import Store, param_mark

__all__ = [
    "PdqQuery", "Query", "Match", "QueryResult", "Matcher", "parse_hash_line", "iter_hash_queries",
    "query_from_result", "WINDOW_FRAMES_PERCENT",
]

# A video matches a video listed from media through its frames' windows when this share of its frames
# (those with windows) match frames of the listed video, each by two agreeing windows.
WINDOW_FRAMES_PERCENT = 50.0
# A photo's windows that came near a listed photo's without agreeing on a crop are looked for by guided
# windows alone (signals.guided.find) in at most this many listed photos, the closest first: a
# near-flat window comes within reach of many listed ones in a large list, and each costs a few ms.
_FINDS = 8


@dataclass(frozen=True)
class PdqQuery:
    view: View  # which view of the photo: as is, turned, trimmed, a window
    hash: str
    quality: int


@dataclass
class Query:
    label: str  # the path, or the hash line, as the user gave it
    # Why the query is incomplete or empty; whatever signals it has are still matched
    # (a damaged photo's md5 may well be listed).
    digests: dict[str, str] = field(default_factory=dict)
    pdq: list[PdqQuery] = field(default_factory=list)
    vpdq: list[VpdqFeature] | None = None
    vpdq_views: list[VideoView] = field(default_factory=list)  # the video mirrored, trimmed to its picture
    vpdq_windows: list[FrameWindow] = field(default_factory=list)  # its frames' windows (media-backed lists)
    error: str | None = None
    # The photo itself, where it is at hand: a listed photo whose windows agree is also looked for at
    # the places they predict (signals.guided). Without it, agreeing windows match by themselves.
    probe: WindowProbe | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Match:
    list: str
    entry: str
    signal: str
    distance: int
    variant: str
    category: str | None = None
    category_scheme: str | None = None
    derived: str | None = None  # which derived hash of a media-backed entry matched
    query_percent: float | None = None  # videos: share of the query's frames matched
    list_percent: float | None = None  # videos: share of the listed video's frames matched

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"list": self.list, "entry": self.entry, "signal": self.signal,
                                  "distance": self.distance, "variant": self.variant, "category": self.category}
        if self.category_scheme is not None:
            out["category_scheme"] = self.category_scheme
        if self.derived is not None:
            out["derived"] = self.derived
        if self.query_percent is not None:
            out["query_percent"] = round(float(self.query_percent), 1)
            out["list_percent"] = round(float(self.list_percent or 0.0), 1)
        return out


@dataclass
class QueryResult:
    query: str
    matches: list[Match] = field(default_factory=list)  # block-list matches: the hits
    allowed: list[Match] = field(default_factory=list)  # allow-list matches: known benign media
    suppressed: list[Match] = field(default_factory=list)  # block-list matches that an allow-list overruled
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"query": self.query, "matches": [m.to_json() for m in self.matches],
                                  "error": self.error}
        if self.allowed:
            out["allowed"] = [m.to_json() for m in self.allowed]
            out["suppressed"] = [m.to_json() for m in self.suppressed]
        return out


def parse_hash_line(line: str) -> Query:
    """A ``<type> <value>`` line (md5, sha1, sha256, pdq [quality], vpdq frame,quality,hex,ts)."""
    text = line.strip()
    kind, _, value = text.partition(" ")
    kind = kind.lower()
    value = value.strip()
    query = Query(text)
    signal = SIGNALS.get(kind)
    try:
        if signal is None:
            query.error = f"unknown signal type {kind!r} (want {SIGNALS.names_text()})"
        elif signal.index is IndexKind.EXACT:
            query.digests[kind] = signal.normalise(value)
        elif signal is PDQ:
            hexhash, _, quality = value.partition(" ")
            query.pdq.append(PdqQuery(ORIGINAL, PDQ.normalise(hexhash), int(quality) if quality else 100))
        elif signal is VPDQ:
            query.vpdq = [parse_line(value)]
        else:
            query.error = f"signal type {kind!r} cannot be matched from a hash line"
    except ValueError as exc:
        query.error = str(exc)
    return query


@dataclass
class _Hit:
    part: int  # which compiled part of which list (Matcher._parts)
    pk: int
    signal: str
    distance: int
    view: View
    derived: str | None = None
    query_percent: float | None = None
    list_percent: float | None = None


class Matcher:
    """Matches queries against some or all lists of a store; load once, query many times."""

    def __init__(self, store: Store, lists: Sequence[str] | None = None, *,
                 on_compile: Callable[[str], None] | None = None) -> None:
        self.store = store
        known = all_lists(store, with_counts=False)
        if lists:
            by_name = {i.name: i for i in known}
            missing = [n for n in lists if n not in by_name]
            if missing:
                names = ", ".join(by_name) or "none yet"
                raise NotFound(f"no list named {', '.join(map(repr, missing))}; lists here: {names}")
            known = [by_name[n] for n in dict.fromkeys(lists)]
        if not known:
            raise UsageError("this database has no lists yet: import one with `vigil lists import FILE --list NAME`")
        self.lists: list[ListInfo] = known
        self.indexes: list[ListIndex] = []
        for info in known:
            def announce(what: str, name: str = info.name) -> None:
                if on_compile is not None:
                    on_compile(name)
            self.indexes.append(load_index(store, info.id, info.content_version, on_build=announce))
        # Every compiled part of every list: (the list's position, the part, the entries whose rows in
        # it are out of date, found instead in the list's delta).
        self._parts: list[tuple[int, CompiledList, np.ndarray | None]] = [
            (pos, comp, stale) for pos, index in enumerate(self.indexes) for comp, stale in index.segments()]

    @property
    def wants_windows(self) -> bool:
        """Whether some list holds derived windows (media-backed, of photos or of video frames):
        queries then bring theirs."""
        return any(comp.has_windows or comp.has_frame_windows for _, comp, _ in self._parts)

    def match(self, query: Query) -> QueryResult:
        return self.match_many([query])[0]

    def match_many(self, queries: Sequence[Query]) -> list[QueryResult]:
        queries = self._complete_windows(queries)
        hits: list[list[_Hit]] = [[] for _ in queries]
        for part, (pos, comp, _) in enumerate(self._parts):
            info = self.lists[pos]
            self._exact(part, comp, queries, hits)
            self._pdq(part, info, comp, queries, hits)
            self._videos(part, info, comp, queries, hits)
            self._video_windows(part, info, comp, queries, hits)
        return self._resolve(queries, hits)

    def _complete_windows(self, queries: Sequence[Query]) -> Sequence[Query]:
        """The queries, those whose photo's windows were hashed in two steps (``variants.QueryWindows``)
        with all of them where one of the first step's came within a list's distance of a listed
        photo's window; the others (most photos) without windows, as theirs are near none."""
        waiting = [i for i, q in enumerate(queries) if q.probe is not None and q.probe.in_steps]
        if not waiting:
            return queries
        asked = [(i, v) for i in waiting for v in queries[i].pdq
                 if v.view.window is not None and v.quality >= WINDOW_MIN_QUALITY]
        near: set[int] = set()
        for pos, comp, stale in self._parts:
            info = self.lists[pos]
            if comp.pdq is None or not comp.has_windows or not asked:
                continue
            bits = np.frombuffer(bytes.fromhex("".join(v.hash for _, v in asked)), dtype=np.uint8).reshape(-1, 32)
            found = comp.pdq.search(bits, info.settings.pdq_threshold)
            for q, row in zip(found.query.tolist(), found.row.tolist(), strict=True):
                tag_no = int(comp.pdq_tag[row])
                if (comp.windows[tag_no] is not None and comp.frame_windows[tag_no] is None
                        and not 0 <= int(comp.pdq_quality[row]) < WINDOW_MIN_QUALITY
                        and not hidden(stale, int(comp.pdq_pk[row]))):
                    near.add(asked[q][0])
            asked = [(i, v) for i, v in asked if i not in near]
        out = list(queries)
        for i in waiting:
            q, probe = queries[i], queries[i].probe
            assert probe is not None
            whole = [v for v in q.pdq if v.view.window is None]
            rest = [PdqQuery(*v) for v in probe.complete_windows()] if i in near else []
            out[i] = replace(q, pdq=whole + rest)
        return out

    # --- per signal -------------------------------------------------------------------------

    @staticmethod
    def _exact(part: int, comp: CompiledList, queries: Sequence[Query], hits: list[list[_Hit]]) -> None:
        for signal in SIGNALS.indexed_by(IndexKind.EXACT):  # in the registry's order: md5's hit is named first
            kind = signal.name
            index = comp.exact.get(kind)
            if index is None:
                continue
            asked = [(i, q.digests[kind]) for i, q in enumerate(queries) if kind in q.digests]
            if not asked:
                continue
            found = index.lookup([value for _, value in asked])
            for (i, _), rows in zip(asked, found, strict=True):
                for row in rows:
                    hits[i].append(_Hit(part, int(comp.exact_pk[kind][row]), kind, 0, ORIGINAL))

    @staticmethod
    def _pdq(part: int, info: ListInfo, comp: CompiledList, queries: Sequence[Query],
             hits: list[list[_Hit]]) -> None:
        if comp.pdq is None:
            return
        gate = info.settings.pdq_quality
        # Windows have their own quality floor (variants.WINDOW_MIN_QUALITY: they are made only above
        # it, and a match through them needs three that agree); the list's gate is for whole photos.
        asked = [(i, v) for i, q in enumerate(queries) for v in q.pdq
                 if v.quality >= (WINDOW_MIN_QUALITY if v.view.window is not None else gate)]
        if not asked:
            return
        bits = np.frombuffer(bytes.fromhex("".join(v.hash for _, v in asked)), dtype=np.uint8).reshape(-1, 32)
        found = comp.pdq.search(bits, info.settings.pdq_threshold)
        # Windows (parts of photos) match only windows, and a listed photo matches through them only
        # when three different ones agree on the crop and scale that relate the copy to it
        # (signals.agreement.windows_agree): one window, however close, can match by chance, and
        # among thousands of photos so can two. With the photo at hand (a probe), the listed photo's
        # windows are then also looked for where the agreeing ones put them, and two more must be
        # there within GUIDED_RADIUS (signals.guided.confirm): three near-flat windows of soft shapes
        # can agree by chance too, and a copy has the others where they belong. Where they do not
        # agree, one of them and four more found where it puts them, of the listed ones' contrast,
        # make a match too (signals.guided.find): a crop of a smooth photo keeps few corners.
        windows: dict[tuple[int, int], list[tuple[View, Window, int, str]]] = {}
        for q, row, dist in zip(found.query.tolist(), found.row.tolist(), found.distance.tolist(), strict=True):
            i, asked_pdq = asked[q]
            tag_no = int(comp.pdq_tag[row])
            if comp.frame_windows[tag_no] is not None:
                continue  # a window of a listed video's frame: only a video's frame windows match those
            listed_window = comp.windows[tag_no]
            listed_quality = int(comp.pdq_quality[row])
            if 0 <= listed_quality < (WINDOW_MIN_QUALITY if listed_window is not None else gate):
                continue
            pk = int(comp.pdq_pk[row])
            if (listed_window is None) != (asked_pdq.view.window is None):
                continue
            if listed_window is not None:
                windows.setdefault((i, pk), []).append((asked_pdq.view, listed_window, int(dist), comp.tags[tag_no]))
            else:
                hits[i].append(_Hit(part, pk, PDQ.name, int(dist), asked_pdq.view, comp.tags[tag_no] or None))
        finds: dict[int, int] = {}  # per query: listed photos tried by guided windows alone
        # Closest first, so that the cap on finding leaves out the least likely listed photos.
        for (i, pk), pairs in sorted(windows.items(), key=lambda item: min(p[2] for p in item[1])):
            agree = len(pairs) >= PHOTO_WINDOWS and windows_agree((view, window) for view, window, _, _ in pairs)
            probe = queries[i].probe
            if probe is None:
                if agree:
                    view, _, dist, label = min(pairs, key=lambda p: p[2])
                    hits[i].append(_Hit(part, pk, PDQ.name, dist, view, label))
                continue
            if not agree:
                finds[i] = finds.get(i, 0) + 1
                if finds[i] > _FINDS:
                    continue
            # The photo is at hand: the listed photo's other windows are looked for where these put them.
            rows = comp.window_rows_of(pk)
            listed = [w for w in (comp.windows[tag] for tag in comp.pdq_tag[rows].tolist()) if w is not None]
            if len(listed) != len(rows):
                continue  # (grouped rows are photo windows: cannot happen)
            matched = [(view, window, dist) for view, window, dist, _ in pairs]
            radius = min(GUIDED_RADIUS, info.settings.pdq_threshold)
            bits, quality = comp.pdq.hashes(rows), comp.pdq_quality[rows]
            made = (confirm(probe, matched, listed, bits, radius, listed_quality=quality) if agree
                    else find(probe, matched, listed, bits, quality, radius))
            if made is not None:
                view, dist = made
                label = next(lbl for v, _, d, lbl in pairs if v == view and d == dist)
                hits[i].append(_Hit(part, pk, PDQ.name, dist, view, label))

    @staticmethod
    def _video_scores(info: ListInfo, comp: CompiledList, features: Sequence[VpdqFeature]) -> list[VideoScore]:
        if comp.videos is None or not features:
            return []
        s = info.settings
        bits = np.frombuffer(bytes.fromhex("".join(f.hash for f in features)), dtype=np.uint8).reshape(-1, 32)
        quality = np.array([f.quality for f in features], dtype=np.int16)
        frames = unique_quality_frames(bits, quality, s.vpdq_quality)
        return score_candidates(comp.videos, frames, radius=s.vpdq_threshold, min_quality=s.vpdq_quality)

    @staticmethod
    def _video_matches(info: ListInfo, score: VideoScore) -> bool:
        s = info.settings
        return score.query_percent >= s.vpdq_query_percent and score.list_percent >= s.vpdq_list_percent

    @staticmethod
    def _views(q: Query) -> Iterator[tuple[View, Sequence[VpdqFeature]]]:
        """The video as is, then each of its views (mirrored, trimmed): each scored on its own."""
        if q.vpdq:
            yield ORIGINAL, q.vpdq
        for v in q.vpdq_views:
            yield v.view, v.features

    def _videos(self, part: int, info: ListInfo, comp: CompiledList, queries: Sequence[Query],
                hits: list[list[_Hit]]) -> None:
        for i, q in enumerate(queries):
            best: dict[int, tuple[VideoScore, View]] = {}  # listed video -> its best matching view
            for view, features in self._views(q):
                for score in self._video_scores(info, comp, features):
                    if self._video_matches(info, score):
                        known = best.get(score.video)
                        if known is None or score.query_percent > known[0].query_percent:
                            best[score.video] = (score, view)
            for score, view in best.values():
                hits[i].append(_Hit(part, int(comp.video_pk[score.video]), VPDQ.name, score.best_distance,
                                    view, None, score.query_percent, score.list_percent))

    def _video_windows(self, part: int, info: ListInfo, comp: CompiledList, queries: Sequence[Query],
                       hits: list[list[_Hit]]) -> None:
        """A cropped copy of a video listed from media: a query frame matches a listed frame when two
        of its windows match windows of that frame and agree on the crop (as photos' windows do, where
        three must: a video's frames add their own evidence); the video matches when at least
        ``WINDOW_FRAMES_PERCENT`` of its frames that have windows match so, and two of them at least
        (bench/results/video_recall.md: a crop cuts away corners, and a frame of smooth or moving
        content keeps too few agreeing windows, so the 80% frames must reach whole is out of reach)."""
        if comp.pdq is None or not comp.has_frame_windows:
            return
        s = info.settings
        asked = [(i, w) for i, q in enumerate(queries) for w in q.vpdq_windows if w.quality >= s.pdq_quality]
        if not asked:
            return
        bits = np.frombuffer(bytes.fromhex("".join(w.hash for _, w in asked)), dtype=np.uint8).reshape(-1, 32)
        found = comp.pdq.search(bits, s.pdq_threshold)
        pairs: dict[tuple[int, int], dict[tuple[int, int], list[tuple[View, Window, int, str]]]] = {}
        for k, row, dist in zip(found.query.tolist(), found.row.tolist(), found.distance.tolist(), strict=True):
            tag_no = int(comp.pdq_tag[row])
            listed = comp.frame_windows[tag_no]
            if listed is None or 0 <= int(comp.pdq_quality[row]) < s.pdq_quality:
                continue
            i, window = asked[k]
            per = pairs.setdefault((i, int(comp.pdq_pk[row])), {})
            per.setdefault((window.frame, listed[0]), []).append((window.view, listed[1], int(dist), comp.tags[tag_no]))
        frames_asked: dict[int, set[int]] = {}
        for i, window in asked:
            frames_asked.setdefault(i, set()).add(window.frame)
        for (i, pk), per in pairs.items():
            query_frames: set[int] = set()
            listed_frames: set[int] = set()
            best: tuple[View, Window, int, str] | None = None
            for (query_frame, listed_frame), matched in per.items():
                if len(matched) >= FRAME_WINDOWS and windows_agree(
                        ((view, window) for view, window, _, _ in matched), FRAME_WINDOWS):
                    query_frames.add(query_frame)
                    listed_frames.add(listed_frame)
                    closest = min(matched, key=lambda m: m[2])
                    best = closest if best is None or closest[2] < best[2] else best
            if best is None:
                continue
            query_percent = 100.0 * len(query_frames) / len(frames_asked[i])
            list_percent = 100.0 * len(listed_frames) / max(self._listed_frames(comp, pk), len(listed_frames))
            enough = len(query_frames) >= min(2, len(frames_asked[i]))
            if enough and query_percent >= WINDOW_FRAMES_PERCENT and list_percent >= s.vpdq_list_percent:
                hits[i].append(_Hit(part, pk, VPDQ.name, best[2], best[0], best[3], query_percent, list_percent))

    @staticmethod
    def _listed_frames(comp: CompiledList, pk: int) -> int:
        """How many frames the listed video (entry ``pk``) has hashed: its vPDQ's length."""
        if comp.videos is None:
            return 0
        where = np.flatnonzero(np.asarray(comp.video_pk) == pk)
        if not len(where):
            return 0
        v = int(where[0])
        return int(comp.videos.offsets[v + 1] - comp.videos.offsets[v])

    def video_undecided(self, features: Sequence[VpdqFeature], views: Sequence[VideoView] = ()) -> bool:
        """Whether a video's frames (as is, or in one of its ``views``) come near a listed video (some
        frame within the threshold) without matching any: then hashes taken at other moments (fast
        mode's key frames) may be what stands between it and a match, and the frames a reference
        list holds decide."""
        near = False
        query = Query("", vpdq=list(features), vpdq_views=list(views))
        for pos, comp, stale in self._parts:
            info = self.lists[pos]
            for _, asked in self._views(query):
                for score in self._video_scores(info, comp, asked):
                    if hidden(stale, int(comp.video_pk[score.video])):
                        continue
                    if self._video_matches(info, score):
                        return False
                    near = near or score.query_percent > 0
        return near

    # --- resolving against the store -------------------------------------------------------

    def _resolve(self, queries: Sequence[Query], hits: list[list[_Hit]]) -> list[QueryResult]:
        pks = sorted({h.pk for per in hits for h in per})
        rows: dict[int, tuple[str, str | None, str | None, bool]] = {}
        if pks:
            with self.store.connect() as conn:
                mark = param_mark(conn)
                for start in range(0, len(pks), 5000):
                    chunk = pks[start:start + 5000]
                    # Written out: SQLAlchemy's building of the query was two thirds of a lookup's read (measured).
                    sql = ("SELECT pk, entry_id, category, category_scheme, revoked FROM entries "
                           f"WHERE pk IN ({', '.join([mark] * len(chunk))})")
                    for r in conn.exec_driver_sql(sql, tuple(chunk)):
                        rows[r.pk] = (r.entry_id, r.category, r.category_scheme, bool(r.revoked))
        results = []
        for query, per in zip(queries, hits, strict=True):
            best: dict[tuple[int, int], _Hit] = {}
            for h in per:
                row = rows.get(h.pk)
                if row is None or row[3]:
                    continue  # revoked (or deleted since the index was compiled): never a match
                pos, _, stale = self._parts[h.part]
                if hidden(stale, h.pk):
                    continue  # the entry changed since: its rows in the list's delta are the ones that count
                key = (pos, h.pk)
                if key not in best or _rank(h) < _rank(best[key]):
                    best[key] = h
            result = QueryResult(query.label, error=query.error)
            for (pos, _), h in sorted(best.items(), key=lambda kv: (kv[0][0], kv[1].distance, rows[kv[1].pk][0])):
                entry_id, category, scheme, _ = rows[h.pk]
                info = self.lists[pos]
                match = Match(info.name, entry_id, h.signal, h.distance, h.view.label, category, scheme,
                              h.derived, h.query_percent, h.list_percent)
                (result.allowed if info.kind is ListKind.ALLOW else result.matches).append(match)
            if result.allowed:
                result.matches, result.suppressed = [], result.matches
            results.append(result)
        return results


def _rank(hit: _Hit) -> tuple[int, int, int, int]:
    """Which of several hits on one entry to report: exact digests first, then the whole photo
    (or a whole variant of it) over agreeing windows, which are the weaker evidence, then the
    closest, then the query's own hash over a variant and the entry's own over a derived one."""
    return (0 if SIGNALS[hit.signal].index is IndexKind.EXACT else 1, int(hit.view.window is not None),
            hit.distance, (not hit.view.is_original) + (hit.derived is not None))


def iter_hash_queries(lines: Iterable[str]) -> Iterator[Query]:
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            yield parse_hash_line(line)


def query_from_result(result: FileResult) -> Query:
    """The signals ``vigil hash`` computed for one file, as a query."""
    query = Query(display_path(result.path), error=result.error)
    if result.digests is not None:
        query.digests = result.digests.as_dict()
    if result.pdq_variants:
        query.pdq = [PdqQuery(*v) for v in result.pdq_variants]
    elif result.pdq is not None:
        query.pdq = [PdqQuery(ORIGINAL, result.pdq.hash, result.pdq.quality)]
    query.pdq += [PdqQuery(*v) for v in result.pdq_windows or ()]
    if result.vpdq:  # a damaged video still matches on the frames hashed before the damage
        query.vpdq = result.vpdq
    query.vpdq_views = list(result.vpdq_views or ())
    query.vpdq_windows = list(result.vpdq_windows or ())
    query.probe = result.probe
    return query
