"""``vigil scan``: evidence in, every known copy found, every bad input a row, reports that verify."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import signal
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from helpers import invoke, write_huge_png
from vigil import HashOptions, Limits, Mode
from vigil.errors import InputUnusable, UsageError
from vigil.evidence.containers import ArchiveLimits
from vigil.lists.formats import ReadNotes, ReadOptions
from vigil.lists.formats.vics import VicsFormat
from vigil.lists.media import add_media
from vigil.scan.scanner import ScanOptions, run_scan
from vigil.store import Store

MEDIA = Path(__file__).resolve().parents[1] / "src" / "vigil" / "demo" / "media"
BRIDGE = MEDIA / "bridge.jpg"
CLIP = MEDIA / "clip.mp4"
STREET = MEDIA / "street.jpg"


@pytest.fixture
def listed(tmp_path: Path) -> Iterator[Store]:
    """A store whose list "known" holds the bridge photo and the clip (media-backed)."""
    store = Store.open(tmp_path / "vigil.db")
    store.cache_dir = tmp_path / "cache"
    add_media(store, "known", [str(BRIDGE), str(CLIP)], category="1", category_scheme="projectvic-us")
    yield store
    store.close()


def _zip(members: dict[str, bytes], encrypt_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    data = bytearray(buf.getvalue())
    if encrypt_first:  # as an encrypting tool marks it (zipfile cannot write encrypted zips)
        data[6] |= 0x1
        data[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _7z(members: dict[str, bytes]) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(data, name)
    return buf.getvalue()


def _mirrored(path: Path) -> bytes:
    out = io.BytesIO()
    with Image.open(path) as im:
        ImageOps.mirror(im).save(out, "PNG")
    return out.getvalue()


def build_evidence(root: Path) -> Path:
    ev = root / "evidence"
    (ev / "photos" / "deep").mkdir(parents=True)
    bridge = BRIDGE.read_bytes()
    shutil.copy(BRIDGE, ev / "photos" / "IMG_0001.jpg")
    shutil.copy(BRIDGE, ev / "photos" / "deep" / "renamed.dat")  # a copy under another name and suffix
    (ev / "photos" / "mirrored.png").write_bytes(_mirrored(BRIDGE))  # an edited copy
    shutil.copy(STREET, ev / "photos" / "street.jpg")  # not listed
    shutil.copy(CLIP, ev / "clip.mp4")
    inner = _tgz({"videos/clip.mp4": CLIP.read_bytes(), "notes.txt": b"benign notes\n"})
    (ev / "backup.zip").write_bytes(_zip({"a/bridge.jpg": bridge, "inner.tar.gz": inner,
                                          "../../escaped.jpg": bridge, "/abs/rooted.jpg": bridge}))
    (ev / "photos.7z").write_bytes(_7z({"x/bridge.jpg": bridge, "x/street.jpg": STREET.read_bytes()}))
    return ev


def _scan(store: Store, evidence: list[Path], out: Path, **kw: Any) -> dict[str, Any]:
    run_scan(ScanOptions([str(p) for p in evidence], out, kw.pop("case", "case-1"), **kw), store)
    return json.loads((out / "report.json").read_text())


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["path"].rsplit("/", 1)[-1]: item for item in report["items"]}


def test_scan_finds_every_copy_and_writes_the_reports(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    out = tmp_path / "out"
    report = _scan(listed, [ev], out)

    assert set(report) == {"case", "evidence", "summary", "items"}
    assert report["case"]["name"] == "case-1"
    evidence = report["evidence"]
    assert evidence["tool"].startswith("vigil ") and evidence["started"] and evidence["finished"]
    assert evidence["paths"] == [{"path": str(ev), "type": "folder"}]
    assert [(x["name"], x["entries"]) for x in evidence["lists"]] == [("known", 2)]
    assert len(evidence["lists"][0]["content_sha256"]) == 64
    for item in report["items"]:
        assert set(item) >= {"path", "kind", "size", "md5", "sha1", "sha256", "signals", "matches", "error"}
        assert item["kind"] in ("image", "video", "archive", "other", "error")

    paths = {item["path"]: item for item in report["items"]}
    zip_path = f"{ev}/backup.zip"
    assert paths[zip_path]["kind"] == "archive" and len(paths[zip_path]["sha256"]) == 64
    hits = {p for p, item in paths.items() if item["matches"]}
    assert hits == {
        f"{ev}/photos/IMG_0001.jpg", f"{ev}/photos/deep/renamed.dat", f"{ev}/photos/mirrored.png",
        f"{ev}/clip.mp4", f"{zip_path}!/a/bridge.jpg", f"{zip_path}!/../../escaped.jpg",
        f"{zip_path}!//abs/rooted.jpg", f"{zip_path}!/inner.tar.gz!/videos/clip.mp4", f"{ev}/photos.7z!/x/bridge.jpg",
    }
    mirrored = paths[f"{ev}/photos/mirrored.png"]["matches"][0]
    assert (mirrored["list"], mirrored["entry"], mirrored["signal"], mirrored["category"]) == ("known", "bridge",
                                                                                                "pdq", "1")
    assert mirrored["variant"] != "original"  # found through a variant of the query (mirror or window)
    assert paths[f"{ev}/clip.mp4"]["signals"]["vpdq"]
    assert paths[f"{ev}/photos/street.jpg"]["matches"] == []
    assert paths[f"{zip_path}!/inner.tar.gz!/notes.txt"]["kind"] == "other"
    # Member names that climb out or are absolute are names only: nothing was written anywhere.
    assert not (tmp_path / "escaped.jpg").exists() and not Path("/abs/rooted.jpg").exists()
    assert sorted(os.listdir(out)) == ["case.db", "hits.csv", "report.html", "report.json", "vics-case.json"]

    summary = report["summary"]
    assert summary["hits"] == {"items": 9, "contents": 3, "by_list": {"known": 9}}
    assert summary["items"] == len(report["items"]) and summary["errors"] == 0
    assert summary["by_kind"]["archive"] == 3 and summary["evidence_files"] == 7
    assert summary["bytes"] == sum(p.stat().st_size for p in ev.rglob("*") if p.is_file())
    # Each distinct content is decoded once: six copies of the bridge share one content row.
    with contextlib.closing(sqlite3.connect(out / "case.db")) as db:
        assert db.execute("SELECT count(*) FROM contents").fetchone()[0] == summary["distinct_contents"]

    with (out / "hits.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["path"] for r in rows} == hits and {r["category"] for r in rows} == {"1"}

    with (out / "vics-case.json").open("rb") as f:
        records = list(VicsFormat().read(f, source="vics-case.json", options=ReadOptions(), notes=ReadNotes()))
    assert len(records) == 3 and {r.category for r in records} == {"1"}
    bridge = next(r for r in records if r.id == paths[zip_path + "!/a/bridge.jpg"]["md5"])
    assert len(bridge.metadata["MediaFiles"]) == 6  # every copy, stacked

    verify = invoke("case", "verify", out)
    assert verify.returncode == 0, verify.stderr
    assert b"hash chain intact" in verify.stdout


def test_bad_input_never_stops_a_scan_and_each_is_a_row(listed: Store, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ev = tmp_path / "evidence"
    ev.mkdir()
    bridge = BRIDGE.read_bytes()
    (ev / "truncated.jpg").write_bytes(bridge[: len(bridge) // 2])
    (ev / "random.jpg").write_bytes(os.urandom(5000))
    (ev / "empty.mp4").write_bytes(b"")
    (ev / "truncated.mp4").write_bytes(CLIP.read_bytes()[:5000])
    write_huge_png(ev / "bomb.png", 60_000, 60_000)
    (ev / "zipbomb.zip").write_bytes(_zip({"zeros.bin": b"\0" * (3 << 20), "after.jpg": bridge}))
    (ev / "big.zip").write_bytes(_zip({"big.bin": os.urandom(5 << 20)}))
    (ev / "locked.zip").write_bytes(_zip({"secret.jpg": bridge, "open.jpg": bridge}, encrypt_first=True))
    (ev / "climb.zip").write_bytes(_zip({"../../x": bridge, "/etc/x": bridge}))
    (ev / "cut.zip").write_bytes(_zip({"a.jpg": bridge})[:-30])
    (ev / "loop-a").symlink_to("loop-b")
    (ev / "loop-b").symlink_to("loop-a")
    (ev / "points-out").symlink_to(BRIDGE)
    (ev / "locked.jpg").write_bytes(bridge)
    name = os.fsencode(ev) + b"/caf\xe9-\xff.jpg"  # not UTF-8
    with open(name, "wb") as f:
        f.write(bridge)

    import vigil.evidence.blobs as blobs
    real_open = blobs.open_readonly

    def refuse(path: str | os.PathLike[str]) -> Any:  # root reads anything: refuse as the OS would
        if os.fspath(path).endswith("locked.jpg"):
            raise PermissionError(13, "Permission denied")
        return real_open(path)

    monkeypatch.setattr(blobs, "open_readonly", refuse)
    out = tmp_path / "out"
    limits = ArchiveLimits(max_member_bytes=4 << 20, ratio_floor_bytes=1 << 20)
    report = _scan(listed, [ev], out, archives=limits)
    items = {item["path"][len(str(ev)) + 1:]: item for item in report["items"]}

    def reason(path: str) -> str:
        error = items[path]["error"]
        assert error, f"{path} has no reason"
        return str(error)

    assert "decoded" in reason("truncated.jpg") or "truncated" in reason("truncated.jpg")
    assert "not one" in reason("random.jpg") and items["random.jpg"]["kind"] == "other"
    assert "empty" in reason("empty.mp4")
    assert items["truncated.mp4"]["kind"] == "video" and reason("truncated.mp4")
    assert "over the limit" in reason("bomb.png")
    assert "zip bomb" in reason("zipbomb.zip!/zeros.bin")
    assert items["zipbomb.zip!/after.jpg"]["matches"]  # the rest of the archive is read
    assert "limit" in reason("big.zip!/big.bin")
    assert "encrypted" in reason("locked.zip!/secret.jpg") and items["locked.zip!/open.jpg"]["matches"]
    assert items["climb.zip!/../../x"]["matches"] and items["climb.zip!//etc/x"]["matches"]
    assert not (tmp_path / "x").exists()
    assert "zip" in reason("cut.zip")
    assert "loop" in reason("loop-a") and "loop" in reason("loop-b")
    assert "not followed" in reason("points-out") and items["points-out"]["kind"] == "other"
    assert "Permission denied" in reason("locked.jpg") and items["locked.jpg"]["kind"] == "error"
    odd = items["caf\\xe9-\\xff.jpg"]
    assert odd["matches"] and odd["error"] is None
    assert report["summary"]["errors"] == sum(1 for i in report["items"] if i["error"])
    # The odd name's hit got its thumbnail (read again by its bytes name)
    with contextlib.closing(sqlite3.connect(out / "case.db")) as db:
        assert db.execute("SELECT count(*) FROM thumbs WHERE data IS NOT NULL").fetchone()[0] >= 1
    html = (out / "report.html").read_text()
    assert "caf\\xe9-\\xff.jpg" in html and "Permission denied" in html


def test_refuses_output_inside_evidence_and_missing_evidence(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    with pytest.raises(UsageError, match="inside the evidence"):
        run_scan(ScanOptions([str(ev)], ev / "photos" / "out", "c"), listed)
    assert not (ev / "photos" / "out").exists()
    with pytest.raises(UsageError, match="inside the output folder"):
        run_scan(ScanOptions([str(ev)], tmp_path, "c"), listed)
    with pytest.raises(InputUnusable, match="does not exist"):
        run_scan(ScanOptions([str(tmp_path / "nope")], tmp_path / "out", "c"), listed)


def test_a_finished_or_foreign_case_folder_is_not_overwritten(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    out = tmp_path / "out"
    first = _scan(listed, [ev], out)
    with pytest.raises(UsageError, match="--resume"):
        run_scan(ScanOptions([str(ev)], out, "case-1"), listed)
    with pytest.raises(UsageError, match="same evidence"):
        run_scan(ScanOptions([str(ev / "photos")], out, "case-1", resume=True), listed)
    with pytest.raises(UsageError, match="no scan to resume"):
        run_scan(ScanOptions([str(ev)], tmp_path / "fresh", "case-1", resume=True), listed)
    # Resuming a finished scan changes nothing: not its report, not its log.
    again = _scan(listed, [ev], out, resume=True)
    assert again == first
    assert invoke("case", "verify", out).returncode == 0


def test_resume_with_an_option_that_changes_results_is_refused(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    out = tmp_path / "out"
    first = _scan(listed, [ev], out)
    changed = [
        {"archives": ArchiveLimits(max_members=3)},
        {"archives": ArchiveLimits(max_archive_bytes=1 << 20)},
        {"archives": ArchiveLimits(ratio_floor_bytes=1 << 10)},
        {"hashing": HashOptions(variants=True, dihedral=True)},
        {"hashing": HashOptions(variants=True, windows=True)},
        {"hashing": HashOptions(variants=True, limits=Limits(max_frame_pixels=1000))},
    ]
    for kw in changed:
        with pytest.raises(UsageError, match="--resume must use the options of the scan it finishes"):
            run_scan(ScanOptions([str(ev)], out, "case-1", resume=True, **kw), listed)  # type: ignore[arg-type]
    # Options that change only speed or scratch space do not stop a resume.
    again = _scan(listed, [ev], out, resume=True, jobs=1, temp_dir=str(tmp_path),
                  hashing=HashOptions(variants=True, video_threads=1))
    assert again == first
    assert first["evidence"]["options"]["max_members"] == ArchiveLimits().max_members  # in report.json too


def _other_value(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    return Mode.EXACT if value is not Mode.EXACT else Mode.FAST


def test_every_option_that_can_change_a_report_is_recorded_for_resume() -> None:
    from vigil.scan.scanner import _options_record

    # Threads per video, pixels kept for pictures: the same hashes. Windows in steps: the scan sets it
    # itself whenever a list holds windows (and without such a list, no window is matched).
    speed_only = {"video_threads", "keep_pixels", "windows_in_steps"}
    base = ScanOptions(["ev"], Path("out"), "c")
    record = _options_record(base)
    groups: list[tuple[str, Any]] = [("hashing", base.hashing), ("archives", base.archives)]
    for group, value in groups:
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if dataclasses.is_dataclass(current):
                groups.append((f"{group}.{f.name}", current))
                continue
            if f.name in speed_only:
                continue
            changed = dataclasses.replace(value, **{f.name: _other_value(current)})
            options = base
            if group == "archives":
                options = dataclasses.replace(base, archives=changed)
            elif group == "hashing":
                options = dataclasses.replace(base, hashing=changed)
            else:  # hashing.limits
                options = dataclasses.replace(base, hashing=dataclasses.replace(base.hashing, limits=changed))
            assert _options_record(options) != record, f"{group}.{f.name} is not recorded"


def test_case_verify_detects_changed_reports_and_log(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    out = tmp_path / "out"
    _scan(listed, [ev], out)
    report = out / "report.json"
    report.write_text(report.read_text().replace('"known"', '"other"', 1))
    verify = invoke("case", "verify", out)
    assert verify.returncode == 1
    assert b"report.json differs" in verify.stdout
    with contextlib.closing(sqlite3.connect(out / "case.db")) as db:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE log SET data = '{}' WHERE seq = 1")
        # Someone who drops the triggers to edit the log is still caught by the chain.
        db.execute("DROP TRIGGER log_no_update")
        db.execute("UPDATE log SET event = 'scan begun' WHERE seq = 1")
        db.commit()
    verify = invoke("case", "verify", out)
    assert verify.returncode == 1 and b"log entry 1" in verify.stdout
    assert invoke("case", "verify", tmp_path / "nothing-here").returncode == 3


def test_the_command_prints_where_the_reports_are_and_exits_by_the_contract(listed: Store, tmp_path: Path) -> None:
    ev = build_evidence(tmp_path)
    db = str(tmp_path / "vigil.db")
    out = tmp_path / "case out"
    proc = invoke("scan", ev, "--case", "c-1", "--out", out, "--db", db, "--list", "known")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "9 hits" in text and str(out / "report.html") in text
    head = text.split("case log head ", 1)[1].split()[0]
    assert len(head) == 64 and head in invoke("case", "verify", out).stdout.decode()
    assert b"writing the reports" in proc.stderr  # not a terminal: plain progress lines
    assert invoke("scan", ev, "--case", "c-1", "--out", ev / "out", "--db", db).returncode == 2
    assert invoke("scan", tmp_path / "missing", "--case", "c", "--out", tmp_path / "o2", "--db", db).returncode == 3
    unknown = invoke("scan", ev, "--case", "c", "--out", tmp_path / "o3", "--db", db, "--list", "nope")
    assert unknown.returncode == 2 and b"no list named 'nope'" in unknown.stderr
    assert not (tmp_path / "o3").exists()


def test_an_archive_of_many_members_streams_in_parts_with_the_same_report(
        listed: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past EntryRows.PART rows, an entry's items stream to the main process in parts (memory stays
    flat, no private file), and an error learnt about the archive after its members (a truncated
    tar.gz) still reaches its row, which an earlier part carried."""
    from vigil.scan.reading import EntryRows

    ev = tmp_path / "evidence"
    ev.mkdir()
    members = {"m/bridge.jpg": BRIDGE.read_bytes()}
    members.update({f"m/{i:05d}.txt": f"member {i}\n".encode() for i in range(1200)})
    data = _tgz(members)
    (ev / "many.tgz").write_bytes(data[: len(data) - 200])  # cut short: the last members are lost
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(EntryRows, "PART", 500)
    in_parts = _scan(listed, [ev], tmp_path / "in-parts", temp_dir=str(temp))
    monkeypatch.setattr(EntryRows, "PART", 10**9)
    whole = _scan(listed, [ev], tmp_path / "whole", temp_dir=str(temp))
    for report in (in_parts, whole):
        for key in ("started", "finished"):
            report["evidence"].pop(key)
        report["summary"].pop("seconds")
    assert in_parts == whole
    items = in_parts["items"]
    assert len(items) > 1000 and items[0]["path"] == f"{ev}/many.tgz"
    assert "damaged" in (items[0]["error"] or "")
    assert any(i["path"].endswith("!/m/bridge.jpg") and i["matches"] for i in items)
    assert in_parts["summary"]["errors"] == whole["summary"]["errors"] >= 1
    assert not list(temp.iterdir())  # nothing private left behind


@pytest.mark.parametrize("local", [True, False], ids=["sees-the-case-db", "on-another-machine"])
def test_a_scan_through_a_pickle_round_trip_executor_gives_the_same_reports(
        listed: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool) -> None:
    """Every task and part of a scan survives a pickle round trip and holds no path to the case folder
    or the private temp folder; the reports are those of the local pool. Parts of three rows, so
    that every archive streams in parts. Workers that cannot see the case database hash every
    copy again: the scan keeps the first."""
    from executors import PickleRoundTripExecutor
    from vigil.scan.reading import EntryRows

    monkeypatch.setattr(EntryRows, "PART", 3)
    ev = build_evidence(tmp_path)
    temp = tmp_path / "temp"
    temp.mkdir()
    outs = {"local": tmp_path / "local", "round-trip": tmp_path / "round-trip"}
    run_scan(ScanOptions([str(ev)], outs["local"], "case-1", temp_dir=str(temp), jobs=2), listed)
    executor = PickleRoundTripExecutor(local=local)
    run_scan(ScanOptions([str(ev)], outs["round-trip"], "case-1", temp_dir=str(temp)), listed, executor=executor)

    reports = {}
    for name, out in outs.items():
        report = json.loads((out / "report.json").read_text())
        for key in ("started", "finished"):
            report["evidence"].pop(key)
        report["summary"].pop("seconds")
        reports[name] = report
    assert reports["local"] == reports["round-trip"]
    assert reports["local"]["summary"]["hits"]["items"] == 9
    for name in ("hits.csv", "vics-case.json"):
        assert (outs["local"] / name).read_bytes() == (outs["round-trip"] / name).read_bytes()
    assert len(executor.pickled) > len(reports["local"]["items"]) / 3
    for data in executor.pickled:
        assert str(outs["round-trip"]).encode() not in data and str(temp).encode() not in data
    assert not list(temp.iterdir())


def _crash_after(calls: int) -> Any:
    from vigil.scan import reading

    spooled = reading.spooled
    made = 0

    def crashing(stream: Any, temp_dir: str | None = None) -> Any:
        nonlocal made
        made += 1
        if made > calls:
            os.kill(os.getpid(), signal.SIGSEGV)  # a decoder crash, well into the archive
        return spooled(stream, temp_dir)

    return crashing


def test_an_entry_whose_reader_crashes_after_some_parts_is_one_error_row(
        listed: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parts an archive delivered before its reader crashed are dropped: the entry is one error row,
    as when its rows come in one part, and the scan goes on."""
    from vigil.scan import reading

    ev = tmp_path / "evidence"
    ev.mkdir()
    members = {f"m/{i:05d}.txt": f"member {i}\n".encode() for i in range(1200)}
    (ev / "many.tgz").write_bytes(_tgz(members))
    shutil.copy(BRIDGE, ev / "z-bridge.jpg")
    monkeypatch.setattr(reading, "spooled", _crash_after(1100))  # the workers fork with it
    reports = []
    for part in (500, 10**9):
        monkeypatch.setattr(reading.EntryRows, "PART", part)
        report = _scan(listed, [ev], tmp_path / f"parts-of-{part}")
        for key in ("started", "finished"):
            report["evidence"].pop(key)
        report["summary"].pop("seconds")
        reports.append(report)
    assert reports[0] == reports[1]
    items = reports[0]["items"]
    assert [(i["path"], i["kind"], i["error"]) for i in items] == [
        (f"{ev}/many.tgz", "error", "the reader crashed (signal 11)"), (f"{ev}/z-bridge.jpg", "image", None)]
    assert items[1]["matches"] and reports[0]["summary"]["errors"] == 1


def test_workers_match_against_either_store(store: Store, tmp_path: Path) -> None:
    """Each worker resolves matches through its own connection: SQLite file or PostgreSQL."""
    add_media(store, "known", [str(BRIDGE), str(CLIP)])
    ev = tmp_path / "ev"
    ev.mkdir()
    for i in range(5):
        shutil.copy(BRIDGE, ev / f"copy-{i}.jpg")
    shutil.copy(CLIP, ev / "clip.mp4")
    shutil.copy(STREET, ev / "street.jpg")
    report = _scan(store, [ev], tmp_path / "out", jobs=2)
    assert report["summary"]["hits"] == {"items": 6, "contents": 2, "by_list": {"known": 6}}
