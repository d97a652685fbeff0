"""Videos: Vigil's vPDQ (exact and fast) against the PyPI ``vpdq`` package, same files, same run."""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import vpdq

from common import SAMPLE_VIDEOS, fmt, log, summary, table, timed, timed_median, verdict
from vigil.hashing import HashOptions, hash_files
from vigil.media.video import open_video
from vigil.signals.mode import Mode
from vigil.signals.vpdq import VpdqFeature, hash_video

MATCH_DISTANCE = 31  # vPDQ reference defaults: frames within 31 bits ...
MATCH_QUALITY = 50  # ... counting only frames of quality >= 50 ...
MATCH_SHARE = 0.80  # ... and a video matches when >= 80% of the query's frames do


def sample_videos() -> list[str]:
    return sorted(str(p) for p in SAMPLE_VIDEOS.glob("*.mp4"))


def _name(path: str) -> str:
    return Path(path).stem


def _family(path: str) -> str:
    """Videos of one family really share content: edits of one another, or made from the same photo."""
    name = _name(path)
    for family in ("chair", "pattern", "gen-720p-exif"):
        if name.startswith(family):
            return family
    return name


def _groups(generated: list[str], samples: list[str]) -> dict[str, list[str]]:
    return {"generated 720p H.264, slow pans": [p for p in generated if "fastpan" not in p],
            "generated 720p H.264, fast-pan stress": [p for p in generated if "fastpan" in p],
            "sample videos": samples}


def _vpdq_lines(path: str, seconds: float) -> list[str]:
    return [f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}"
            for f in vpdq.computeHash(path, seconds_per_hash=seconds)]


def _vigil_exact(path: str, seconds: float) -> list[VpdqFeature]:
    return hash_video(path, seconds_per_hash=seconds, mode=Mode.EXACT)


def _many(paths: list[str], mode: Mode, seconds: float) -> list[list[VpdqFeature]]:
    out = []
    for r in hash_files(paths, HashOptions(mode=mode, seconds_per_hash=seconds), jobs=2):
        if r.error or r.vpdq is None:
            raise RuntimeError(f"Vigil failed on {r.path}: {r.error}")
        out.append(r.vpdq)
    return out


def _decode_only(path: str, threads: str) -> int:
    """Decode every frame and do nothing else: the floor under any exact vPDQ hasher."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = threads
        return sum(1 for _ in container.decode(stream))


def _mismatches(a: list[str], b: list[str]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def duration(path: str) -> tuple[float, int, float]:
    """(seconds, declared frames, fps) from the container."""
    with open_video(path) as (_c, _s, info):
        frames = info.declared_frames
        seconds = frames / info.fps if frames else (info.duration or 0.0)
        return seconds, frames, info.fps


# ------------------------------------------------------------------ reference settings
def run_reference(paths: list[str]) -> tuple[dict[str, Any], list[str], dict[str, dict[float, list[VpdqFeature]]]]:
    log(f"videos (reference settings): {len(paths)} sample videos, vpdq.computeHash vs Vigil exact")
    _vigil_exact(paths[0], 1.0)  # warm-up
    per_video: list[dict[str, Any]] = []
    exact: dict[str, dict[float, list[VpdqFeature]]] = {p: {} for p in paths}
    floors: dict[str, dict[str, float]] = {}
    for path in paths:
        floors[path] = {"decode_1thread_s": timed(lambda p=path: _decode_only(p, "SLICE"))[0],
                        "decode_2threads_s": timed(lambda p=path: _decode_only(p, "AUTO"))[0]}
        for seconds in (0.0, 1.0):
            t_ref, ref = timed(lambda p=path, s=seconds: _vpdq_lines(p, s))
            t_vig, feats = timed(lambda p=path, s=seconds: _vigil_exact(p, s))
            exact[path][seconds] = feats
            mismatch = _mismatches([f.to_line() for f in feats], ref)
            per_video.append({"video": _name(path), "S": seconds, "features": len(ref), "vpdq_s": t_ref,
                              "vigil_s": t_vig, "mismatches": mismatch})
            log(f"  {_name(path)} S={seconds:g}: vpdq {t_ref:.2f} s, Vigil {t_vig:.2f} s, mismatches {mismatch}")
    frames = {p: len(exact[p][0.0]) for p in paths}
    totals: dict[str, Any] = {}
    for seconds in (0.0, 1.0):
        rows = [r for r in per_video if r["S"] == seconds]
        log(f"videos (reference settings): Vigil hash_files jobs=2, S={seconds:g}")
        t_many, many = timed(lambda s=seconds: _many(paths, Mode.EXACT, s))
        many_mismatch = sum(_mismatches([f.to_line() for f in m], [f.to_line() for f in exact[p][seconds]])
                            for m, p in zip(many, paths, strict=True))
        total_frames = sum(frames.values())
        t_ref = sum(r["vpdq_s"] for r in rows)
        t_vig = sum(r["vigil_s"] for r in rows)
        totals[f"S={seconds:g}"] = {
            "videos": len(paths), "decoded_frames": total_frames, "features": sum(r["features"] for r in rows),
            "vpdq_s": t_ref, "vigil_s": t_vig, "vigil_jobs2_s": t_many,
            "vpdq_fps": total_frames / t_ref, "vigil_fps": total_frames / t_vig,
            "vigil_jobs2_fps": total_frames / t_many,
            "x_single": t_ref / t_vig, "x_jobs2": t_ref / t_many,
            "mismatched_lines": sum(r["mismatches"] for r in rows), "jobs2_vs_single_mismatches": many_mismatch,
            "decode_1thread_s": sum(f["decode_1thread_s"] for f in floors.values()),
            "decode_2threads_s": sum(f["decode_2threads_s"] for f in floors.values()),
        }
        totals[f"S={seconds:g}"]["x_ceiling"] = t_ref / totals[f"S={seconds:g}"]["decode_2threads_s"]
    raw = {"per_video": per_video, "totals": totals}
    return raw, _reference_md(raw), exact


def _reference_md(raw: dict[str, Any]) -> list[str]:
    md = ["## Videos, reference settings: Vigil exact vs `vpdq.computeHash` (sample videos)", ""]
    md += table(
        ["S (s/hash)", "videos", "decoded frames", "features", "vpdq s", "Vigil s (1 video at a time)",
         "Vigil s (hash_files jobs=2)", "vpdq frames/s", "Vigil frames/s", "Vigil jobs=2 frames/s",
         "x vpdq (single)", "x vpdq (jobs=2)", "lines differing from vpdq"],
        [[k, v["videos"], v["decoded_frames"], v["features"], v["vpdq_s"], v["vigil_s"], v["vigil_jobs2_s"],
          v["vpdq_fps"], v["vigil_fps"], v["vigil_jobs2_fps"], v["x_single"], v["x_jobs2"], v["mismatched_lines"]]
         for k, v in raw["totals"].items()])
    md.append("<details><summary>Per video</summary>")
    md.append("")
    md += table(["video", "S", "features", "vpdq s", "Vigil s", "x", "lines differing"],
                [[r["video"], r["S"], r["features"], r["vpdq_s"], r["vigil_s"], r["vpdq_s"] / r["vigil_s"],
                  r["mismatches"]] for r in raw["per_video"]])
    md += ["</details>", ""]
    lines = []
    for k, v in raw["totals"].items():
        ok = v["x_single"] >= 2
        lines.append(f"- Vigil >= 2x vpdq at {k}: one video at a time {v['x_single']:.2f}x ({verdict(ok)}); "
                     f"videos in parallel (hash_files jobs=2) {v['x_jobs2']:.2f}x ({verdict(v['x_jobs2'] >= 2)}); "
                     f"{v['mismatched_lines']} lines differ from vpdq, {v['jobs2_vs_single_mismatches']} differ "
                     "between jobs=2 and single.")
    v = raw["totals"]["S=0"]
    lines.append(
        f"- The floor: decoding every frame and hashing nothing takes {v['decode_1thread_s']:.2f} s on one thread "
        f"(vpdq decodes this way, hashing on other threads meanwhile: vpdq took {v['vpdq_s']:.2f} s at S=0) and "
        f"{v['decode_2threads_s']:.2f} s with frame threads on both cores. So no exact hasher, even one whose "
        f"hashing cost nothing, could be more than {v['x_ceiling']:.2f}x vpdq on this machine at S=0.")
    return [*md, "Targets:", "", *lines, ""]


# ------------------------------------------------------------------ fast mode
def _nearest(feats: list[VpdqFeature], t: float) -> VpdqFeature:
    times = [f.timestamp for f in feats]
    i = bisect.bisect_left(times, t)
    options = [feats[j] for j in (i - 1, i) if 0 <= j < len(feats)]
    return min(options, key=lambda f: abs(f.timestamp - t))


def match_share(query: list[VpdqFeature], listed: list[VpdqFeature]) -> float | None:
    """Share of the query's good frames within MATCH_DISTANCE of some good frame of ``listed``."""
    q = [int(f.hash, 16) for f in query if f.quality >= MATCH_QUALITY]
    t = [int(f.hash, 16) for f in listed if f.quality >= MATCH_QUALITY]
    if not q or not t:
        return None
    hits = sum(any((a ^ b).bit_count() <= MATCH_DISTANCE for b in t) for a in q)
    return hits / len(q)


def run_fast(generated: list[str], samples: list[str], sample_exact: dict[str, dict[float, list[VpdqFeature]]],
             repeat: int) -> tuple[dict[str, Any], list[str]]:
    log(f"videos (fast mode): {len(generated)} generated 720p H.264 + {len(samples)} sample videos")
    info = {p: duration(p) for p in generated + samples}
    hash_video(generated[0], mode=Mode.FAST)  # warm-up
    speed: dict[str, dict[str, Any]] = {}
    fast: dict[str, list[VpdqFeature]] = {}
    for p in generated + samples:
        t, runs, fast[p] = timed_median(lambda p=p: hash_video(p, seconds_per_hash=1.0, mode=Mode.FAST), repeat)
        speed[_name(p)] = {"duration_s": info[p][0], "fast_s": t, "runs": runs, "x_realtime": info[p][0] / t,
                           "features": len(fast[p]), "generated": p in generated}
        log(f"  fast {_name(p)}: {t:.3f} s for {info[p][0]:.1f} s of video ({info[p][0] / t:.0f}x real time)")
    groups: dict[str, dict[str, Any]] = {}
    for label, paths in _groups(generated, samples).items():
        dur = sum(info[p][0] for p in paths)
        single = sum(speed[_name(p)]["fast_s"] for p in paths)
        log(f"videos (fast mode): hash_files jobs=2 over the {label} (x{repeat})")
        t2, _, _ = timed_median(lambda paths=paths: _many(paths, Mode.FAST, 1.0), repeat)
        groups[label] = {"videos": len(paths), "duration_s": dur, "fast_single_s": single, "fast_jobs2_s": t2,
                         "x_realtime_single": dur / single, "x_realtime_jobs2": dur / t2}
    # Exact hashes of the generated videos, every frame (S=0), videos in parallel.
    log("videos (fast mode): exact S=0 and S=1 of the generated videos (hash_files jobs=2), for comparison")
    t0, every = timed(lambda: _many(generated, Mode.EXACT, 0.0))
    t1, _ = timed(lambda: _many(generated, Mode.EXACT, 1.0))
    dur = sum(info[p][0] for p in generated)
    g = groups["all generated 720p H.264"] = {"videos": len(generated), "duration_s": dur}
    log("videos (fast mode): hash_files jobs=2 over all the generated videos")
    g["fast_single_s"] = sum(speed[_name(p)]["fast_s"] for p in generated)
    g["fast_jobs2_s"], _, _ = timed_median(lambda: _many(generated, Mode.FAST, 1.0), repeat)
    g["x_realtime_single"], g["x_realtime_jobs2"] = dur / g["fast_single_s"], dur / g["fast_jobs2_s"]
    g.update({"exact_S0_jobs2_s": t0, "exact_S1_jobs2_s": t1, "x_realtime_exact_S1_jobs2": g["duration_s"] / t1,
              "fast_vs_exact_S1_speedup_jobs2": t1 / g["fast_jobs2_s"]})
    exact0 = {p: e for p, e in zip(generated, every, strict=True)}
    exact0.update({p: sample_exact[p][0.0] for p in samples})
    exact1 = {p: [f for f in e if f.frame % (int(info[p][2]) or 1) == 0] for p, e in exact0.items()}
    s1_filter_mismatch = sum(_mismatches([f.to_line() for f in exact1[p]], [f.to_line() for f in sample_exact[p][1.0]])
                             for p in samples)
    dist: dict[str, Any] = {}
    for label, paths in _groups(generated, samples).items():
        same, near1, gap = [], [], []
        for p in paths:
            for f in fast[p]:
                e0 = _nearest(exact0[p], f.timestamp)
                same.append((int(f.hash, 16) ^ int(e0.hash, 16)).bit_count())
                gap.append(abs(e0.timestamp - f.timestamp))
                near1.append((int(f.hash, 16) ^ int(_nearest(exact1[p], f.timestamp).hash, 16)).bit_count())
        dist[label] = {"same_frame_exact": summary(same), "nearest_exact_S1": summary(near1),
                       "max_time_gap_to_same_frame_s": max(gap)}
    everything = generated + samples
    share_fast = {(q, t): match_share(fast[q], exact1[t]) for q in everything for t in everything}
    share_ref = {(q, t): match_share(exact1[q], exact1[t]) for q in everything for t in everything}
    raw = {"speed": speed, "groups": groups, "distance": dist, "s1_filter_vs_vigil_S1_mismatches": s1_filter_mismatch,
           "videos": [_name(p) for p in everything],
           "match_fast": {f"{_name(q)} -> {_name(t)}": s for (q, t), s in share_fast.items()},
           "match_exact_reference": {f"{_name(q)} -> {_name(t)}": s for (q, t), s in share_ref.items()}}
    raw["match_counts"] = _match_counts(everything, share_fast, share_ref)
    return raw, _fast_md(raw, everything, share_fast, share_ref)


def _decide(share: float | None) -> bool:
    return share is not None and share >= MATCH_SHARE


def _match_counts(videos: list[str], fast: dict[Any, Any], ref: dict[Any, Any]) -> dict[str, Any]:
    counts = {k: [0, 0] for k in ("self", "same family", "different family")}
    disagree = []
    for q in videos:
        for t in videos:
            kind = "self" if q == t else "same family" if _family(q) == _family(t) else "different family"
            counts[kind][0] += _decide(fast[q, t])
            counts[kind][1] += 1
            if _decide(fast[q, t]) != _decide(ref[q, t]):
                disagree.append(f"{_name(q)} -> {_name(t)}")
    ref_counts = {k: 0 for k in counts}
    for q in videos:
        for t in videos:
            kind = "self" if q == t else "same family" if _family(q) == _family(t) else "different family"
            ref_counts[kind] += _decide(ref[q, t])
    return {"fast_matched_of_pairs": counts, "exact_reference_matched": ref_counts,
            "fast_disagrees_with_exact": disagree}


def _fast_md(raw: dict[str, Any], videos: list[str], fast: dict[Any, Any], ref: dict[Any, Any]) -> list[str]:
    g = raw["groups"]
    md = ["## Videos, fast mode (key frames at reduced size), seconds_per_hash = 1", ""]
    md += table(["videos", "count", "duration s", "fast s (1 at a time)", "x real time (1 at a time)",
                 "fast s (hash_files jobs=2)", "x real time (jobs=2)"],
                [[k, v["videos"], v["duration_s"], v["fast_single_s"], v["x_realtime_single"], v["fast_jobs2_s"],
                  v["x_realtime_jobs2"]] for k, v in g.items()])
    gen = g["all generated 720p H.264"]
    md += ["For comparison, exact mode on the generated 720p videos (hash_files jobs=2): "
           f"S=1 {gen['exact_S1_jobs2_s']:.1f} s "
           f"({gen['x_realtime_exact_S1_jobs2']:.1f}x real time), S=0 {gen['exact_S0_jobs2_s']:.1f} s; fast mode is "
           f"{gen['fast_vs_exact_S1_speedup_jobs2']:.1f}x faster than exact at S=1.", ""]
    md.append("<details><summary>Per video</summary>")
    md.append("")
    md += table(["video", "duration s", "fast s (median)", "x real time", "fast features"],
                [[k, v["duration_s"], v["fast_s"], v["x_realtime"], v["features"]] for k, v in raw["speed"].items()])
    md += ["</details>", ""]
    md += ["Cost of fast mode in distance (bits, of 256), per fast-mode frame: against the exact hash of the same "
           "frame (nearest in time among all exact frames, S=0), and against the nearest-in-time exact frame "
           "at S=1 (what a list made with the reference settings holds):", ""]
    rows = []
    for label, d in raw["distance"].items():
        for k in ("same_frame_exact", "nearest_exact_S1"):
            s = d[k]
            rows.append([label, k, s["n"], s["mean"], s["median"], s["p95"], s["max"]])
    md += table(["videos", "against", "frames", "mean", "median", "p95", "max"], rows)
    md.append("Largest time gap between a fast frame and its 'same frame' exact match: "
              + ", ".join(f"{k} {fmt(v['max_time_gap_to_same_frame_s'], 3)} s" for k, v in raw["distance"].items())
              + ". Exact S=1 derived from S=0 (frame % fps == 0) vs Vigil's own S=1 run on the samples: "
              f"{raw['s1_filter_vs_vigil_S1_mismatches']} lines differ.")
    md.append("")
    md += _matrix_md(videos, fast, ref)
    c = raw["match_counts"]
    md += table(["pair kind", "fast query matched", "exact query matched (reference decision)"],
                [[k, f"{v[0]} / {v[1]}", f"{c['exact_reference_matched'][k]} / {v[1]}"]
                 for k, v in c["fast_matched_of_pairs"].items()])
    md.append("Pairs where the fast-mode decision differs from the exact-mode (reference) decision: "
              + (", ".join(c["fast_disagrees_with_exact"]) or "none") + ".")
    md.append("")
    lines = []
    for label in ("generated 720p H.264, slow pans", "all generated 720p H.264"):
        x, x2 = g[label]["x_realtime_single"], g[label]["x_realtime_jobs2"]
        lines.append(f"- fast mode >= 50x real time on 720p H.264 ({label}): one video at a time {x:.0f}x "
                     f"({verdict(x >= 50)}), videos in parallel (jobs=2) {x2:.0f}x ({verdict(x2 >= 50)}).")
    md += ["Targets:", "", *lines, ""]
    return md


def _matrix_md(videos: list[str], fast: dict[Any, Any], ref: dict[Any, Any]) -> list[str]:
    md = [f"Video-level match decisions: rows are the query (fast-mode hashes, S=1), columns the listed video "
          f"(exact hashes, S=1). A cell is the share (%) of the query's frames of quality >= {MATCH_QUALITY} within "
          f"{MATCH_DISTANCE} bits of some listed frame of quality >= {MATCH_QUALITY}; **bold** = match "
          f"(>= {MATCH_SHARE:.0%}); a `!` marks a cell whose decision differs from the exact-vs-exact reference "
          "decision. Videos of one family (chair-*, pattern-*) really are edits of one another; the two gen-720p-exif* "
          "videos are made from the same photo (in different views).", ""]
    legend = [f"{i}={_name(v)}" for i, v in enumerate(videos, 1)]
    md += ["Key: " + ", ".join(legend), ""]
    header = ["query \\ listed"] + [str(i) for i in range(1, len(videos) + 1)]
    rows = []
    for i, q in enumerate(videos, 1):
        cells = [f"{i} {_name(q)}"]
        for t in videos:
            s = fast[q, t]
            cell = "–" if s is None else f"{100 * s:.0f}"
            if _decide(s):
                cell = f"**{cell}**"
            if _decide(s) != _decide(ref[q, t]):
                cell += "!"
            cells.append(cell)
        rows.append(cells)
    return md + table(header, rows)
