"""Archives opened in place: members named with !/, hostile archives become rows, nothing written."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from vigil.evidence.containers import (
    ArchiveLimits,
    LimitExceeded,
    Member,
    MemberUnreadable,
    archive_format,
    iter_members,
)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _encrypt_first(data: bytes) -> bytes:
    """Mark the first member encrypted, as an encrypting tool does (bit 0 of the general-purpose flags,
    in its local header and its central-directory entry); zipfile itself cannot write encrypted zips."""
    out = bytearray(data)
    out[6] |= 0x1
    out[data.index(b"PK\x01\x02") + 8] |= 0x1
    return bytes(out)


def _tar(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            t.addfile(info)
    return buf.getvalue()


def _read_all(members: list[Member]) -> dict[str, bytes | str]:
    """path -> bytes, or the error text; read as a scanner does (each member before the next)."""
    out: dict[str, bytes | str] = {}
    for m in members:
        if m.error is not None:
            out[m.path] = "error: " + m.error
            continue
        try:
            with m.open() as f:
                out[m.path] = f.read()
        except LimitExceeded as exc:
            out[m.path] = "limit: " + str(exc)
        except MemberUnreadable as exc:
            out[m.path] = "unreadable: " + str(exc)
    return out


def _walk(data: bytes, container: str = "case/a.zip", **limits: int | float) -> dict[str, bytes | str]:
    fmt = archive_format(data[:512])
    assert fmt is not None
    stream = io.BytesIO(data)
    members: list[Member] = []
    out: dict[str, bytes | str] = {}
    for m in iter_members(container, stream, fmt, limits=ArchiveLimits(**limits)):  # type: ignore[arg-type]
        members.append(m)
        out.update(_read_all([m]))  # tar streams: read each member before asking for the next
    return out


def test_formats_are_known_by_content_not_name() -> None:
    assert archive_format(_zip({"a": b"x"})) == "zip"
    assert archive_format(_tar({"a": b"x"})) == "tar"
    assert archive_format(_tar({"a": b"x"}, "w:gz")) == "tar.gz"
    assert archive_format(_tar({"a": b"x"}, "w:bz2")) == "tar.bz2"
    assert archive_format(_tar({"a": b"x"}, "w:xz")) == "tar.xz"
    assert archive_format(b"\xff\xd8\xff\xe0 a jpeg") is None
    assert archive_format(b"") is None


def test_zip_members_are_named_with_the_container_and_read_in_place(tmp_path: Path) -> None:
    data = _zip({"inner/a.jpg": b"AAA", "../../escape.txt": b"BBB", "/etc/abs.txt": b"CCC", "dir/": b""})
    before = set(os.listdir(tmp_path))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        got = _walk(data)
    finally:
        os.chdir(cwd)
    assert got == {"case/a.zip!/inner/a.jpg": b"AAA", "case/a.zip!/../../escape.txt": b"BBB",
                   "case/a.zip!//etc/abs.txt": b"CCC"}
    assert set(os.listdir(tmp_path)) == before  # nothing extracted anywhere
    assert not (tmp_path.parent / "escape.txt").exists()


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_members_every_compression(mode: str) -> None:
    data = _tar({"x/one.bin": b"1" * 5000, "../up.bin": b"2"}, mode, links={"x/link": "../../etc/passwd"})
    got = _walk(data, "case/b.tar")
    assert got["case/b.tar!/x/one.bin"] == b"1" * 5000
    assert got["case/b.tar!/../up.bin"] == b"2"
    assert "not followed" in str(got["case/b.tar!/x/link"])


def test_a_compressed_file_that_holds_no_tar_is_one_member() -> None:
    payload = b"just some notes\n" * 100
    assert _walk(gzip.compress(payload), "case/notes.txt.gz") == {"case/notes.txt.gz!/notes.txt": payload}
    assert _walk(bz2.compress(payload), "case/n.bz2") == {"case/n.bz2!/n": payload}
    assert _walk(lzma.compress(payload), "case/n.tar.xz")["case/n.tar.xz!/n.tar"] == payload  # names it by suffix


def test_encrypted_zip_member_is_a_row_and_the_rest_is_read() -> None:
    got = _walk(_encrypt_first(_zip({"secret.jpg": b"S", "open.jpg": b"O"})))
    assert "encrypted" in str(got["case/a.zip!/secret.jpg"])
    assert got["case/a.zip!/open.jpg"] == b"O"


def test_zip_bomb_is_stopped_by_the_ratio_limit() -> None:
    data = _zip({"bomb.bin": bytes(8 << 20), "ok.txt": b"fine"})
    assert len(data) < 64 << 10
    got = _walk(data, ratio_floor_bytes=1 << 20, max_ratio=100)
    assert str(got["case/a.zip!/bomb.bin"]).startswith("limit:")
    assert "ratio" in str(got["case/a.zip!/bomb.bin"])
    assert got["case/a.zip!/ok.txt"] == b"fine"


def test_member_over_the_size_limit_is_not_read() -> None:
    got = _walk(_zip({"big.bin": b"z" * 5000, "small": b"s"}), max_member_bytes=1000)
    assert "over the limit" in str(got["case/a.zip!/big.bin"])
    assert got["case/a.zip!/small"] == b"s"


def test_gzip_bomb_is_stopped_by_the_archive_budget() -> None:
    data = _tar({"a.bin": bytes(3 << 20), "b.bin": bytes(3 << 20)}, "w:gz")
    got = _walk(data, "case/c.tgz", max_archive_bytes=4 << 20)
    assert got["case/c.tgz!/a.bin"] == bytes(3 << 20)
    assert "size limit" in str(got["case/c.tgz!/b.bin"])


def test_too_many_members_and_too_deep() -> None:
    got = _walk(_zip({f"m{i}": b"x" for i in range(5)}), max_members=3)
    assert sum(1 for v in got.values() if v == b"x") == 3
    assert "more than 3" in str(got["case/a.zip"])
    deep = list(iter_members("a.zip!/b.zip", io.BytesIO(_zip({"x": b"x"})), "zip", limits=ArchiveLimits(max_depth=1),
                             depth=2))
    assert len(deep) == 1 and deep[0].error is not None and "nested deeper" in deep[0].error


@pytest.mark.parametrize("cut", [10, 100])
def test_truncated_and_random_archives_are_one_error_row(cut: int) -> None:
    data = _zip({"a": b"hello" * 100})[:cut]
    rows = list(iter_members("case/t.zip", io.BytesIO(data), "zip"))
    assert len(rows) == 1 and rows[0].error is not None and "not a readable zip" in rows[0].error
    tar_rows = list(iter_members("case/t.tar", io.BytesIO(os.urandom(2048)), "tar"))
    assert len(tar_rows) == 1 and tar_rows[0].error is not None


def test_truncated_tar_gz_reads_what_is_there_then_says_it_is_damaged() -> None:
    data = _tar({"a.bin": b"a" * 1000, "b.bin": os.urandom(200_000)}, "w:gz")
    got = _walk(data[: len(data) - 50_000], "case/t.tgz")
    assert got["case/t.tgz!/a.bin"] == b"a" * 1000
    assert str(got["case/t.tgz!/b.bin"]).startswith("unreadable:")


def test_damaged_zip_member_data_is_unreadable_not_fatal() -> None:
    data = bytearray(_zip({"a.txt": b"hello world " * 50, "b.txt": b"fine"}))
    start = data.index(b"PK\x03\x04") + 30 + len("a.txt")
    data[start:start + 20] = os.urandom(20)  # the deflate stream of a.txt
    got = _walk(bytes(data))
    assert str(got["case/a.zip!/a.txt"]).startswith("unreadable:")
    assert got["case/a.zip!/b.txt"] == b"fine"


def _7z(members: dict[str, bytes], **kwargs: object) -> bytes:
    """A 7z archive; names that climb out (../) or are absolute are written as they would be
    by a hostile tool (py7zr refuses to write them: they are patched into an uncompressed header)."""
    import py7zr

    safe = {name.replace("../", "___").replace("/", "_", 1) if name.startswith("/") else
            name.replace("../", "___"): data for name, data in members.items()}
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", **kwargs) as z:  # type: ignore[arg-type]
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
        import struct
        import zlib
        offset, size = struct.unpack("<QQ", out[12:28])
        header = out[32 + offset: 32 + offset + size]
        out = out[:28] + struct.pack("<I", zlib.crc32(header)) + out[32:]
        out = out[:8] + struct.pack("<I", zlib.crc32(out[12:32])) + out[12:]
    return out


def test_7z_members_are_read_in_place_in_order() -> None:
    data = _7z({"photos/a.jpg": b"A" * 3000, "empty.bin": b"", "../../up.txt": b"up", "b.txt": b"B"})
    assert archive_format(data) == "7z"
    got = _walk(data, "case/s.7z")
    assert got == {"case/s.7z!/photos/a.jpg": b"A" * 3000, "case/s.7z!/empty.bin": b"",
                   "case/s.7z!/../../up.txt": b"up", "case/s.7z!/b.txt": b"B"}


def test_7z_members_left_unread_are_skipped() -> None:
    data = _7z({"a": b"a" * 5000, "b": b"b" * 5000, "c": b"c"})
    members = iter_members("case/s.7z", io.BytesIO(data), "7z")
    names = [m.path for m in members]  # none opened: each is drained in turn
    assert names == ["case/s.7z!/a", "case/s.7z!/b", "case/s.7z!/c"]


def test_7z_bombs_and_limits() -> None:
    data = _7z({"bomb.bin": bytes(8 << 20), "ok.txt": b"fine"})
    assert len(data) < 64 << 10
    got = _walk(data, "case/b.7z", ratio_floor_bytes=1 << 20, max_ratio=100)
    assert str(got["case/b.7z!/bomb.bin"]).startswith("limit:") and "ratio" in str(got["case/b.7z!/bomb.bin"])
    assert got["case/b.7z!/ok.txt"] == b"fine"
    got = _walk(data, "case/b.7z", max_member_bytes=1 << 20)
    assert "over the limit" in str(got["case/b.7z!/bomb.bin"]) and got["case/b.7z!/ok.txt"] == b"fine"
    got = _walk(data, "case/b.7z", max_archive_bytes=4 << 20)
    assert "size limit" in str(got["case/b.7z"])


def test_encrypted_7z_is_rows_not_a_failure() -> None:
    got = _walk(_7z({"s.txt": b"secret"}, password="pw"), "case/e.7z")
    assert "encrypted" in str(got["case/e.7z!/s.txt"])
    got = _walk(_7z({"s.txt": b"secret"}, password="pw", header_encryption=True), "case/h.7z")
    assert "encrypted" in str(got["case/h.7z"]) or "password" in str(got["case/h.7z"])


@pytest.mark.parametrize("keep", [0.3, 0.7])
def test_damaged_and_truncated_7z_is_a_row(keep: float) -> None:
    data = _7z({"a.bin": os.urandom(100_000), "b.bin": os.urandom(100_000)})
    got = _walk(data[: int(len(data) * keep)], "case/t.7z")
    assert any(isinstance(v, str) for v in got.values())
    damaged = bytearray(data)
    damaged[40:60] = os.urandom(20)
    got = _walk(bytes(damaged), "case/d.7z")
    assert any(isinstance(v, str) for v in got.values())
