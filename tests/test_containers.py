"""Archives opened in place: what is particular to one format (encryption, links, a compressed file's
name, the registry itself). What every container must do is the container kit's (tests/kits/containers.py)."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kits.containers import make_7z, make_tar, make_zip
from vigil.errors import MemberError, UsageError, VigilError
from vigil.evidence.containers import (
    CONTAINERS,
    ArchiveLimits,
    ContainerRegistry,
    LazyContainer,
    LimitExceeded,
    Member,
    MemberUnreadable,
    archive_format,
    iter_members,
)
from vigil.evidence.containers.tar import TarContainer
from vigil.evidence.containers.zip import ZipContainer


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
    assert archive_format(make_zip({"a": b"x"})) == "zip"
    assert archive_format(_tar({"a": b"x"})) == "tar"
    assert archive_format(_tar({"a": b"x"}, "w:gz")) == "tar.gz"
    assert archive_format(_tar({"a": b"x"}, "w:bz2")) == "tar.bz2"
    assert archive_format(_tar({"a": b"x"}, "w:xz")) == "tar.xz"
    assert archive_format(b"\xff\xd8\xff\xe0 a jpeg") is None
    assert archive_format(b"") is None


def test_zip_members_are_named_with_the_container_and_read_in_place(tmp_path: Path) -> None:
    data = make_zip({"inner/a.jpg": b"AAA", "../../escape.txt": b"BBB", "/etc/abs.txt": b"CCC", "dir/": b""})
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
    got = _walk(_encrypt_first(make_zip({"secret.jpg": b"S", "open.jpg": b"O"})))
    assert "encrypted" in str(got["case/a.zip!/secret.jpg"])
    assert got["case/a.zip!/open.jpg"] == b"O"






@pytest.mark.parametrize("cut", [10, 100])
def test_truncated_and_random_archives_are_one_error_row(cut: int) -> None:
    data = make_zip({"a": b"hello" * 100})[:cut]
    rows = list(iter_members("case/t.zip", io.BytesIO(data), "zip"))
    assert len(rows) == 1 and rows[0].error is not None and "not a readable zip" in rows[0].error
    tar_rows = list(iter_members("case/t.tar", io.BytesIO(os.urandom(2048)), "tar"))
    assert len(tar_rows) == 1 and tar_rows[0].error is not None



def test_damaged_zip_member_data_is_unreadable_not_fatal() -> None:
    data = bytearray(make_zip({"a.txt": b"hello world " * 50, "b.txt": b"fine"}))
    start = data.index(b"PK\x03\x04") + 30 + len("a.txt")
    data[start:start + 20] = os.urandom(20)  # the deflate stream of a.txt
    got = _walk(bytes(data))
    assert str(got["case/a.zip!/a.txt"]).startswith("unreadable:")
    assert got["case/a.zip!/b.txt"] == b"fine"






def test_encrypted_7z_is_rows_not_a_failure() -> None:
    got = _walk(make_7z({"s.txt": b"secret"}, password="pw"), "case/e.7z")
    assert "encrypted" in str(got["case/e.7z!/s.txt"])
    got = _walk(make_7z({"s.txt": b"secret"}, password="pw", header_encryption=True), "case/h.7z")
    assert "encrypted" in str(got["case/h.7z"]) or "password" in str(got["case/h.7z"])


def test_the_registry_refuses_a_second_container_of_a_name_or_format() -> None:
    registry = ContainerRegistry([ZipContainer()])
    with pytest.raises(UsageError, match="two containers are named 'zip'"):
        registry.register(ZipContainer())
    claims_tar = LazyContainer("tar2", ("zip",), needs_seek=False, recognise=lambda head: None, module="x")
    with pytest.raises(UsageError, match="containers 'zip' and 'tar2' both claim the format 'zip'"):
        registry.register(claims_tar)
    registry.register(TarContainer())
    assert registry.names() == ["zip", "tar"]


def test_the_registry_picks_by_content_in_order() -> None:
    assert [c.name for c in CONTAINERS] == ["zip", "7z", "compressed", "tar"]
    # A tar whose first member is named with gzip's magic: the magic at byte 0 decides, as it always has.
    data = make_tar({os.fsdecode(b"\x1f\x8bname"): b"x"})
    assert data[257:262] == b"ustar" and data[:2] == b"\x1f\x8b"
    assert archive_format(data) == "tar.gz"
    with pytest.raises(UsageError, match="unknown container format 'rar'"):
        list(iter_members("case/a.rar", io.BytesIO(b"Rar!"), "rar"))


def test_a_member_that_cannot_be_opened_raises_the_trees_error() -> None:
    member = Member("case/a.zip!/s.jpg", 5, 5, 1, error="encrypted: cannot be read without its password")
    with pytest.raises(MemberUnreadable) as caught:
        member.open()
    assert isinstance(caught.value, MemberError) and isinstance(caught.value, VigilError)
    assert caught.value.path == "case/a.zip!/s.jpg"
    assert caught.value.reason == "cannot be read: encrypted: cannot be read without its password"
    assert str(caught.value) == "case/a.zip!/s.jpg: cannot be read: encrypted: cannot be read without its password"


def test_member_errors_carry_the_path_apart_and_survive_a_pickle() -> None:
    data = make_zip({"bomb.bin": b"\1" * (2 << 20)})
    for member in iter_members("case/a.zip", io.BytesIO(data), "zip", limits=ArchiveLimits(ratio_floor_bytes=1 << 20)):
        with pytest.raises(LimitExceeded) as caught, member.open() as f:
            f.read()
    assert caught.value.path == "case/a.zip!/bomb.bin"
    assert caught.value.reason.startswith("expands past 1,048,576 bytes, over the ratio limit")
    back = pickle.loads(pickle.dumps(caught.value))
    assert type(back) is LimitExceeded and (back.path, back.reason) == (caught.value.path, caught.value.reason)


def test_py7zr_is_imported_only_when_a_7z_turns_up() -> None:
    code = ("import io, sys\n"
            "from vigil.evidence.containers import archive_format, iter_members\n"
            "from vigil.scan import reading\n"
            "def read(data):\n"
            "    return [m.open().read() for m in iter_members('x', io.BytesIO(data), archive_format(data))]\n"
            f"assert read({make_zip({'a': b'A'})!r}) == [b'A']\n"
            "assert 'py7zr' not in sys.modules\n"
            f"assert read({make_7z({'b': b'B'})!r}) == [b'B']\n"
            "assert 'py7zr' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
