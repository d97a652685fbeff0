"""The container test kit: the checks every registered container must pass, run over each format's
hostile samples (tests/test_container_kit.py runs them).

How a container joins (a future E01, raw or file-system container included):

1. Register it in ``vigil.evidence.containers.registry.CONTAINERS`` (a ``LazyContainer`` if its
   reader needs a heavy or optional library).
2. Add a :class:`Sample` for each format it reads to ``SAMPLES`` below: its ``make`` builds, from
   ``{member name: bytes}`` in order, a file of that format holding exactly those members (names
   byte for byte: a name with surrogate escapes stands for bytes that are not UTF-8). A disk image's
   ``make`` writes a small image with a file system holding them.
3. Declare in ``cannot`` each :class:`Case` the format cannot express, with the reason: its checks
   then show as skipped with that reason, never silently. Nothing else in the kit changes.

``test_every_container_has_a_sample`` fails until step 2 is done. The checks read containers as the
scan does (each member before the next, archives inside members opened one level deeper) through
the public ``archive_format`` and ``iter_members``, so they test the registry's choice as well.
"""

from __future__ import annotations

import bz2
import enum
import gzip
import io
import lzma
import os
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vigil.evidence.containers import (
    CONTAINERS,
    ArchiveLimits,
    LimitExceeded,
    MemberUnreadable,
    archive_format,
    iter_members,
)

__all__ = [
    "SAMPLES", "Case", "Sample", "make_7z", "make_tar", "make_zip",
    "test_every_container_has_a_sample", "test_recognised_by_content", "test_members_in_order_named_with_sep",
    "test_member_over_the_size_limit", "test_ratio_bomb", "test_archive_budget", "test_too_many_members",
    "test_depth_limits", "test_hostile_names_are_only_names", "test_names_that_are_not_utf8",
    "test_truncated", "test_damaged_data", "test_nested_both_ways", "test_member_left_unread",
    "test_stream_that_cannot_seek", "test_a_single_stream_is_named_after_its_file",
]


class Case(enum.Enum):
    """What a check needs the format to express."""

    MANY_MEMBERS = "more than one member"
    HOSTILE_NAMES = "member names of its own (../../x, /etc/passwd)"
    NON_UTF8_NAMES = "member names as bytes that are not UTF-8"
    RATIO = "a member's compressed size (the ratio limit)"
    DATA_CHECKSUM = "a checksum over a member's data (damage inside it is noticed)"
    ONE_WAY = "reading from a stream that cannot seek"


@dataclass(frozen=True)
class Sample:
    """A way to make files of one format, read by the container named ``container``."""

    name: str  # the test id
    container: str  # the registered container that must read it
    fmt: str  # what archive_format says of it
    suffix: str  # its files are named <stem><suffix> ("x.txt.gz" holds x.txt)
    make: Callable[[dict[str, bytes]], bytes]
    cannot: dict[Case, str] = field(default_factory=dict)
    # Its member list is read from an index at the end (zip, 7z): a truncated file lists nothing.
    index_at_end: bool = False


# -- factories ------------------------------------------------------------------------------------------

def _placeholder(name: str) -> str:
    """``name`` with each surrogate escape (a byte that is not UTF-8) as one ASCII byte, for patching."""
    return "".join("_" if "\udc80" <= c <= "\udcff" else c for c in name)


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(_placeholder(name), data)
    out = buf.getvalue()
    for name in members:  # names zipfile cannot encode: their bytes patched in (no UTF-8 flag set)
        raw = os.fsencode(name)
        if raw != _placeholder(name).encode():
            out = out.replace(_placeholder(name).encode(), raw)
    return out


def make_tar(members: dict[str, bytes], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as t:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)  # surrogate escapes are written as their bytes
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_7z(members: dict[str, bytes], **kwargs: Any) -> bytes:
    """A 7z archive; names that climb out (../) or are absolute are written as a hostile tool would
    (py7zr refuses to write them: they are patched into an uncompressed header, its CRC recomputed)."""
    import py7zr

    safe = {name.replace("../", "___").replace("/", "_", 1) if name.startswith("/") else
            name.replace("../", "___"): data for name, data in members.items()}
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", **kwargs) as z:
        z.encoded_header_mode = False  # a plain header, so the names can be patched
        for name, data in safe.items():
            z.writestr(data, name)
    out = buf.getvalue()
    for (name, _), safe_name in zip(members.items(), safe, strict=True):
        if name != safe_name:
            old, new = safe_name.encode("utf-16-le"), name.encode("utf-16-le")
            assert len(old) == len(new) and old in out
            out = out.replace(old, new)
    if out != buf.getvalue():  # the start header's CRC covers the header: recompute it
        offset, size = struct.unpack("<QQ", out[12:28])
        header = out[32 + offset: 32 + offset + size]
        out = out[:28] + struct.pack("<I", zlib.crc32(header)) + out[32:]
        out = out[:8] + struct.pack("<I", zlib.crc32(out[12:32])) + out[12:]
    return out


def _single(compress: Callable[[bytes], bytes]) -> Callable[[dict[str, bytes]], bytes]:
    def make(members: dict[str, bytes]) -> bytes:
        (data,) = members.values()  # its one member is named after the file (<name><suffix>)
        return compress(data)

    return make


def _tar_in(mode: str) -> Callable[[dict[str, bytes]], bytes]:
    return lambda members: make_tar(members, mode)


_SINGLE = {
    Case.MANY_MEMBERS: "a compressed stream that holds no tar is one member",
    Case.HOSTILE_NAMES: "its one member is named after the file itself",
    Case.NON_UTF8_NAMES: "its one member is named after the file itself",
    Case.ONE_WAY: "a stream that holds no tar is told apart from one by rewinding it",
}
_TAR_INSIDE = {
    Case.RATIO: "a tar inside a compressed stream: its members' compressed sizes are unknown "
                "(the archive budget bounds them)",
}

SAMPLES: list[Sample] = [
    Sample("zip", "zip", "zip", ".zip", make_zip, {Case.ONE_WAY: "its member list is at its end"},
           index_at_end=True),
    Sample("tar", "tar", "tar", ".tar", make_tar, {
        Case.RATIO: "members are stored: each is its own size in the archive",
        Case.DATA_CHECKSUM: "tar checks its headers only: changed bytes inside a member go unnoticed",
    }),
    Sample("tar.gz", "compressed", "tar.gz", ".tgz", _tar_in("w:gz"), _TAR_INSIDE | {
        Case.DATA_CHECKSUM: "gzip's checksum is in its trailer, and a tar is read only to its end-of-archive "
                            "blocks",
    }),
    Sample("tar.bz2", "compressed", "tar.bz2", ".tar.bz2", _tar_in("w:bz2"), dict(_TAR_INSIDE)),
    Sample("tar.xz", "compressed", "tar.xz", ".txz", _tar_in("w:xz"), dict(_TAR_INSIDE)),
    Sample("gz", "compressed", "tar.gz", ".gz", _single(gzip.compress), dict(_SINGLE)),
    Sample("bz2", "compressed", "tar.bz2", ".bz2", _single(bz2.compress), dict(_SINGLE)),
    Sample("xz", "compressed", "tar.xz", ".xz", _single(lzma.compress), dict(_SINGLE)),
    Sample("7z", "7z", "7z", ".7z", make_7z, {
        Case.NON_UTF8_NAMES: "names are stored as UTF-16 text",
        Case.ONE_WAY: "its member list is at its end",
    }, index_at_end=True),
]


# -- reading as the scan does ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Failed:
    """A row that is not a member's bytes: ``how`` is "row" (yielded with an error), "limit" or
    "unreadable" (raised while reading it)."""

    how: str
    text: str


Row = tuple[str, "bytes | Failed"]


def read(data: bytes, path: str, limits: ArchiveLimits | None = None, *, depth: int = 1,
         stream: io.RawIOBase | io.BytesIO | None = None,
         skip: Callable[[str], int | None] | None = None) -> list[Row]:
    """Every row of ``data`` in order, archives inside members read one level deeper (as the scan
    reads them). ``skip(path)`` says how many bytes of a member to read (None: all of it)."""
    fmt = archive_format(data[:512])
    assert fmt is not None, f"{path}: no container recognises it"
    limits = limits or ArchiveLimits()
    rows: list[Row] = []
    for member in iter_members(path, stream if stream is not None else io.BytesIO(data), fmt, limits=limits,
                               depth=depth):
        if member.error is not None:
            rows.append((member.path, Failed("row", member.error)))
            continue
        wanted = skip(member.path) if skip is not None else None
        if wanted == 0:
            continue  # left unopened
        try:
            with member.open() as f:
                content = f.read() if wanted is None else f.read(wanted)
        except LimitExceeded as exc:
            assert exc.path == member.path
            rows.append((member.path, Failed("limit", exc.reason)))
            continue
        except MemberUnreadable as exc:
            assert exc.path == member.path
            rows.append((member.path, Failed("unreadable", exc.reason)))
            continue
        rows.append((member.path, content))
        if wanted is None and archive_format(content[:512]) is not None:
            rows.extend(read(content, member.path, limits, depth=depth + 1))
    return rows


def _failures(rows: list[Row]) -> list[tuple[str, Failed]]:
    return [(p, v) for p, v in rows if isinstance(v, Failed)]


def _file(sample: Sample, stem: str) -> str:
    return f"case/{stem}{sample.suffix}"


def _many(sample: Sample) -> bool:
    return Case.MANY_MEMBERS not in sample.cannot


def _params(*needs: Case) -> Iterator[Any]:
    for sample in SAMPLES:
        missing = [f"{sample.name} cannot express {case.value}: {sample.cannot[case]}"
                   for case in needs if case in sample.cannot]
        marks = [pytest.mark.skip(reason="; ".join(missing))] if missing else []
        yield pytest.param(sample, id=sample.name, marks=marks)


def over(*needs: Case) -> pytest.MarkDecorator:
    """Run a check over every sample; a sample that declares it cannot express one of ``needs`` is
    shown skipped, with its reason."""
    return pytest.mark.parametrize("sample", list(_params(*needs)))


# -- the checks -----------------------------------------------------------------------------------------

def test_every_container_has_a_sample() -> None:
    covered = {s.container for s in SAMPLES}
    missing = [name for name in CONTAINERS.names() if name not in covered]
    assert not missing, f"containers without a sample in the container kit: {missing}"
    for sample in SAMPLES:
        assert sample.fmt in CONTAINERS[sample.container].formats, sample.name


@over()
def test_recognised_by_content(sample: Sample) -> None:
    data = sample.make({"a.txt": b"A"}) if not _many(sample) else sample.make({"a.txt": b"A", "b.txt": b"B"})
    found = CONTAINERS.recognise(data[:512])
    assert found is not None and found[0].name == sample.container and found[1] == sample.fmt
    # The name plays no part: the same bytes under another name are read the same way.
    stem = "a.txt" if not _many(sample) else "x"
    assert read(data, f"case/misnamed.jpg{sample.suffix}")[0][1] == b"A"
    assert read(data, _file(sample, stem))[0][1] == b"A"


@over(Case.MANY_MEMBERS)
def test_members_in_order_named_with_sep(sample: Sample) -> None:
    members = {"photos/a.jpg": b"A" * 3000, "empty.bin": b"", "notes/b.txt": b"B" * 10, "c": os.urandom(5000)}
    path = _file(sample, "s")
    assert read(sample.make(members), path) == [(f"{path}!/{name}", data) for name, data in members.items()]


def test_a_single_stream_is_named_after_its_file() -> None:
    for sample in SAMPLES:
        if _many(sample):
            continue
        path = _file(sample, "notes.txt")
        assert read(sample.make({"notes.txt": b"n" * 100}), path) == [(f"{path}!/notes.txt", b"n" * 100)]


@over()
def test_member_over_the_size_limit(sample: Sample) -> None:
    members = {"big.bin": b"z" * 5000, "small": b"s"} if _many(sample) else {"big.bin": b"z" * 5000}
    path = _file(sample, "big.bin")
    rows = dict(read(sample.make(members), path, ArchiveLimits(max_member_bytes=1000)))
    big = rows[f"{path}!/big.bin"]
    assert isinstance(big, Failed) and big.how in ("row", "limit") and "1,000" in big.text
    if _many(sample):
        assert rows[f"{path}!/small"] == b"s"


@over(Case.RATIO)
def test_ratio_bomb(sample: Sample) -> None:
    bomb = b"\1" * (8 << 20)  # not zeros: a compressed stream that starts with a zero block reads as an empty tar
    members = {"bomb.bin": bomb, "ok.txt": b"fine"} if _many(sample) else {"bomb.bin": bomb}
    data = sample.make(members)
    assert len(data) < 64 << 10
    path = _file(sample, "bomb.bin")
    rows = dict(read(data, path, ArchiveLimits(ratio_floor_bytes=1 << 20, max_ratio=100)))
    assert rows[f"{path}!/bomb.bin"] == Failed("limit", "expands past 1,048,576 bytes, over the ratio limit to its "
                                                       "compressed size (a zip bomb?)")
    if _many(sample):
        assert rows[f"{path}!/ok.txt"] == b"fine"


@over()
def test_archive_budget(sample: Sample) -> None:
    third = b"\1" * (3 << 20)
    members = {"a.bin": third, "b.bin": third} if _many(sample) else {"a.bin": third * 2}
    path = _file(sample, "a.bin")
    rows = read(sample.make(members), path, ArchiveLimits(max_archive_bytes=4 << 20))
    if _many(sample):
        assert rows[0] == (f"{path}!/a.bin", third)
    failures = _failures(rows)
    assert failures and all("size limit" in f.text for _, f in failures)
    assert sum(len(v) for _, v in rows if isinstance(v, bytes)) <= 4 << 20


@over(Case.MANY_MEMBERS)
def test_too_many_members(sample: Sample) -> None:
    path = _file(sample, "m")
    rows = read(sample.make({f"m{i}": b"x" for i in range(5)}), path, ArchiveLimits(max_members=3))
    assert rows[-1] == (path, Failed("row", "more than 3 members: the rest were not read"))
    assert all(v == b"x" for _, v in rows[:-1]) and len(rows) <= 4


@over()
def test_depth_limits(sample: Sample) -> None:
    inner = sample.make({"x.txt": b"X"})
    path = _file(sample, "x.txt")
    assert read(inner, path, ArchiveLimits(max_depth=0)) == [
        (path, Failed("row", "archives are not opened (archive depth 0)"))]
    outer = make_zip({f"x.txt{sample.suffix}": inner})
    assert read(outer, "case/o.zip", ArchiveLimits(max_depth=1)) == [
        (f"case/o.zip!/{path[5:]}", inner),
        (f"case/o.zip!/{path[5:]}", Failed("row", "archives nested deeper than 1: not opened"))]


@over(Case.HOSTILE_NAMES)
def test_hostile_names_are_only_names(sample: Sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = {"../../escape.txt": b"B", "/etc/passwd": b"C", "inner/../../../up.txt": b"D"}
    data = sample.make(members)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    path = _file(sample, "h")
    assert read(data, path) == [(f"{path}!/{name}", value) for name, value in members.items()]
    assert [p.name for p in tmp_path.rglob("*")] == ["a", "b"]  # nothing written anywhere


@over(Case.NON_UTF8_NAMES)
def test_names_that_are_not_utf8(sample: Sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = os.fsdecode(b"bad\xff\xfe.jpg")
    monkeypatch.chdir(tmp_path)
    path = _file(sample, "u")
    rows = read(sample.make({name: b"U", "ok.txt": b"O"}), path)
    # How a container decodes bytes that are not UTF-8 is its own (zip: code page 437; tar: surrogate
    # escapes); it is a name all the same, and the member is read.
    assert [v for _, v in rows] == [b"U", b"O"]
    assert rows[0][0].startswith(f"{path}!/bad") and rows[0][0].endswith(".jpg")
    assert list(tmp_path.iterdir()) == []


def _damage_sample(sample: Sample) -> dict[str, bytes]:
    # A first member small and compressible, the second big and random, so a cut or a change at 80%
    # of the file falls inside the second (bzip2 checks blocks of 900 kB: the second spans several).
    members = {"a.bin": b"a" * 1000, "b.bin": os.urandom(1_300_000)}
    return members if _many(sample) else {"b.bin": members["b.bin"]}


@over()
def test_truncated(sample: Sample) -> None:
    members = _damage_sample(sample)
    data = sample.make(members)
    path = _file(sample, "b.bin")
    rows = read(data[: len(data) * 8 // 10], path)
    failures = _failures(rows)
    if sample.index_at_end:  # the member list went with the end: one row about the file
        assert len(rows) == 1 and rows[0][0] == path and isinstance(rows[0][1], Failed)
        return
    # What precedes the damage is read whole; the cut member is an error row, not short bytes, and
    # at most one more row says the file ends early.
    if _many(sample):
        assert rows[0] == (f"{path}!/a.bin", members["a.bin"])
    assert failures and failures[0][0] == f"{path}!/b.bin" and failures[0][1].how == "unreadable"
    assert all(p == path for p, _ in failures[1:]) and len(failures) <= 2
    assert not any(v for p, v in rows if p == f"{path}!/b.bin" and isinstance(v, bytes))


@over(Case.DATA_CHECKSUM)
def test_damaged_data(sample: Sample) -> None:
    members = _damage_sample(sample)
    data = bytearray(sample.make(members))
    at = len(data) * 8 // 10
    data[at: at + 16] = bytes(b ^ 0x5A for b in data[at: at + 16])
    path = _file(sample, "b.bin")
    rows = read(bytes(data), path)
    if _many(sample):
        assert rows[0] == (f"{path}!/a.bin", members["a.bin"])
    # The damage is noticed: an error row on the damaged member or on the file (where the check
    # comes at the end of the stream, the damaged member's bytes may have been read first).
    failures = _failures(rows)
    assert failures and all(p in (path, f"{path}!/b.bin") for p, _ in failures)
    assert all(v == members[p.rsplit("!/", 1)[1]] for p, v in rows if isinstance(v, bytes) and p != f"{path}!/b.bin")


@over()
def test_nested_both_ways(sample: Sample) -> None:
    inner = sample.make({"x.txt": b"X"})
    path = _file(sample, "x.txt")
    outer = make_zip({path[5:]: inner})
    inside = f"case/o.zip!/{path[5:]}"
    assert read(outer, "case/o.zip") == [(inside, inner), (f"{inside}!/x.txt", b"X")]
    zipped = make_zip({"y.txt": b"Y"})
    holder = _file(sample, "z.zip")
    assert read(sample.make({"z.zip": zipped}), holder) == [(f"{holder}!/z.zip", zipped),
                                                            (f"{holder}!/z.zip!/y.txt", b"Y")]


@over(Case.MANY_MEMBERS)
def test_member_left_unread(sample: Sample) -> None:
    members = {"a": b"a" * 5000, "b": b"b" * 5000, "c": os.urandom(70_000), "d": b"d" * 3000}
    path = _file(sample, "u")
    wants = {f"{path}!/a": 0, f"{path}!/c": 10}  # a never opened, c opened and left after 10 bytes
    rows = read(sample.make(members), path, skip=wants.get)
    assert rows == [(f"{path}!/b", members["b"]), (f"{path}!/c", members["c"][:10]), (f"{path}!/d", members["d"])]


class _OneWay(io.RawIOBase):
    """A stream that cannot seek (a pipe, a network read)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


@over()
def test_stream_that_cannot_seek(sample: Sample) -> None:
    members = {"a.txt": b"A" * 100, "b.txt": b"B"} if _many(sample) else {"a.txt": b"A" * 100}
    data = sample.make(members)
    path = _file(sample, "a.txt")
    rows = read(data, path, stream=_OneWay(data))
    if CONTAINERS[sample.container].needs_seek:  # as declared: one row, nothing read
        assert rows == [(path, Failed("row", f"a {sample.fmt} archive is read by seeking: this stream cannot seek"))]
    elif Case.ONE_WAY in sample.cannot:
        assert len(rows) == 1 and rows[0][0] == path and isinstance(rows[0][1], Failed)
    else:
        assert rows == read(data, path)
