"""Lists in a store: migrations, upserts, revocation, provenance, all-or-nothing imports.

Every test runs on SQLite and, when VIGIL_TEST_POSTGRES_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from vigil.errors import InputUnusable, ListFormatError, StoreUnusable, UsageError
from vigil.lists import ListKind, Record, Signal, catalog, import_records, iter_records, revoke
from vigil.store import Store
from vigil.store.schema import imports, metadata


def md5(n: int) -> str:
    return f"{n:032x}"


def rec(n: int, *, category: str | None = "1", revoked: bool = False, extra: dict[str, object] | None = None,
        pdq: str | None = None) -> Record:
    signals = [Signal.of("md5", md5(n))]
    if pdq:
        signals.append(Signal.of("pdq", pdq))
    return Record(f"id{n}", signals, category, "projectvic-us", dict(extra or {}), revoked)


def test_a_new_store_is_migrated_to_exactly_the_declared_schema(store: Store) -> None:
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    Store.open(store.engine.url.render_as_string(hide_password=False)).close()  # reopening is a no-op


def test_import_adds_then_reimport_of_the_same_records_changes_nothing(store: Store) -> None:
    first = import_records(store, "vics", [rec(i) for i in range(12_000)], format="vics")
    assert (first.added, first.updated, first.unchanged, first.revoked) == (12_000, 0, 0, 0)
    again = import_records(store, "vics", [rec(i) for i in range(12_000)], format="vics")
    assert (again.added, again.updated, again.unchanged, again.revoked) == (0, 0, 12_000, 0)
    info = catalog.describe_list(store, "vics")
    assert (info.active, info.revoked) == (12_000, 0)
    assert info.content_version == 1  # the unchanged re-import did not invalidate match indexes


def test_updates_revocations_and_tombstones(store: Store) -> None:
    import_records(store, "l", [rec(1), rec(2), rec(3)])
    result = import_records(store, "l", [
        rec(1, category="2"),  # changed category
        rec(2, revoked=True),  # StopNCII-style: full record, Withdrawn
        Record("id3", revoked=True),  # NCMEC-style deletion: id only
        Record("id9", revoked=True),  # deletion of an entry never seen: kept as a revoked tombstone
    ])
    assert (result.added, result.updated, result.unchanged, result.revoked) == (0, 1, 0, 3)
    got = {r.id: r for r in iter_records(store, "l")}
    assert got["id1"].category == "2" and not got["id1"].revoked
    assert got["id2"].revoked and got["id2"].signals == [Signal.of("md5", md5(2))]
    assert got["id3"].revoked and got["id3"].signals == [Signal.of("md5", md5(3))]  # signals kept
    assert got["id9"].revoked and got["id9"].signals == []
    # A later file lists id3 again: it comes back.
    back = import_records(store, "l", [rec(3)])
    assert back.updated == 1 and not {r.id: r for r in iter_records(store, "l")}["id3"].revoked


def test_the_same_id_twice_in_one_file_is_one_entry_the_later_wins(store: Store) -> None:
    result = import_records(store, "l", [rec(1, category="1"), rec(1, category="4")])
    assert result.added == 1
    [entry] = list(iter_records(store, "l"))
    assert entry.category == "4"


def test_replace_revokes_what_the_new_file_no_longer_lists(store: Store) -> None:
    import_records(store, "l", [rec(i) for i in range(10)])
    result = import_records(store, "l", [rec(i) for i in range(5, 12)], replace=True)
    assert (result.added, result.unchanged, result.revoked) == (2, 5, 5)
    revoked = sorted(r.id for r in iter_records(store, "l") if r.revoked)
    assert revoked == [f"id{i}" for i in range(5)]


def test_a_failing_import_keeps_nothing_not_even_the_new_list(store: Store) -> None:
    def broken() -> Iterator[Record]:
        for i in range(7000):  # more than one batch is written before the error
            yield rec(i)
        raise ListFormatError("bad hex", source="x.json", record=7001)

    with pytest.raises(ListFormatError, match="record 7001"):
        import_records(store, "new", broken())
    assert catalog.all_lists(store) == []
    import_records(store, "old", [rec(1)])
    with pytest.raises(ListFormatError):
        import_records(store, "old", broken())
    assert [r.id for r in iter_records(store, "old")] == ["id1"]
    with store.connect() as conn:
        assert len(conn.execute(select(imports)).all()) == 1


def test_provenance_names_each_import(store: Store) -> None:
    import_records(store, "l", [rec(1)], format="vics", file_name="a.json")
    import_records(store, "l", [rec(1, category="3")], format="vics", file_name="b.json")
    history = catalog.list_imports(store, "l")
    assert [(h.file_name, h.added, h.updated) for h in history] == [("b.json", 0, 1), ("a.json", 1, 0)]
    assert all(h.finished_at is not None and h.finished_at >= h.started_at for h in history)


def test_revoke_is_all_or_nothing(store: Store) -> None:
    import_records(store, "l", [rec(1), rec(2)])
    with pytest.raises(InputUnusable, match="id7"):
        revoke(store, "l", ["id1", "id7"])
    assert not any(r.revoked for r in iter_records(store, "l"))
    assert revoke(store, "l", ["id1", "id1"]) == 1
    assert revoke(store, "l", ["id1"]) == 0
    assert [r.id for r in iter_records(store, "l") if r.revoked] == ["id1"]
    assert catalog.list_imports(store, "l")[0].action == "revoke"


def test_lists_and_settings(store: Store) -> None:
    with store.begin() as conn:
        catalog.create_list(conn, "benign", kind=ListKind.ALLOW, source="our own")
    with pytest.raises(UsageError, match="exists already"), store.begin() as conn:
        catalog.create_list(conn, "benign")
    info = catalog.update_settings(store, "benign", settings={"pdq_threshold": "20"})
    assert info.settings.pdq_threshold == 20 and info.kind is ListKind.ALLOW
    with pytest.raises(UsageError, match="between 0 and 96"):
        catalog.update_settings(store, "benign", settings={"pdq_threshold": "200"})
    with pytest.raises(UsageError, match="no list named 'nope'; lists here: benign"), store.connect() as conn:
        catalog.get_list(conn, "nope")
    assert [i.name for i in catalog.all_lists(store)] == ["benign"]


@pytest.mark.parametrize("pipeline", [False, True])
def test_import_file_in_this_or_a_reader_process(store: Store, tmp_path: Path, pipeline: bool) -> None:
    """The reader process gives the same entries and provenance; its errors roll the import back."""
    from vigil.lists import import_file
    from vigil.lists.formats import get_format

    records = [rec(i, pdq=f"{i:064x}") for i in range(12_000)]
    good = tmp_path / "list.json"
    with open(good, "wb") as out:
        get_format("vics").write(records, out, list_name="t")
    result = import_file(store, good, "l", pipeline=pipeline)
    assert (result.records, result.added) == (12_000, 12_000)
    assert result.file_sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
    assert catalog.list_imports(store, "l")[0].file_sha256 == result.file_sha256
    assert [r.id for r in iter_records(store, "l")] == [md5(i) for i in range(12_000)]  # VICS: the MD5 is the id
    bad = tmp_path / "bad.json"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) * 3 // 4])  # truncated inside a record after several batches
    with pytest.raises(ListFormatError, match=r"record 9\d\d\d"):
        import_file(store, bad, "other", pipeline=pipeline)
    assert [i.name for i in catalog.all_lists(store)] == ["l"]


@pytest.mark.parametrize("head", [b"", b"SQLite format 3\x00"])
def test_a_file_that_is_not_a_database_is_refused_with_one_line(tmp_path: Path, head: bytes,
                                                                 capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "notes.db"
    bad.write_bytes(head + bytes(range(256)) * 16)
    with pytest.raises(StoreUnusable, match=r"cannot open the database .*notes\.db: file is not a database") as caught:
        Store.open(bad)
    assert (caught.value.exit_code, caught.value.http_status) == (3, 503)
    # The command says it in one line and exits 3, without SQLAlchemy's stack trace.
    from vigil.cli.main import main

    monkeypatch.setattr("sys.argv", ["vigil", "lists", "ls", "--db", str(bad)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert err.startswith("vigil: cannot open the database") and err.count("\n") == 1 and "Traceback" not in err


def test_an_import_into_an_existing_list_sets_its_source_kind_and_settings_with_the_import(
        store: Store, tmp_path: Path) -> None:
    from vigil.lists import ListSettings, import_file

    import_records(store, "l", [rec(1)], settings=ListSettings(pdq_quality=60))
    import_records(store, "l", [rec(2)], source="NCMEC", kind=ListKind.ALLOW)
    info = catalog.describe_list(store, "l")
    assert (info.source, info.kind, info.settings.pdq_quality) == ("NCMEC", ListKind.ALLOW, 60)
    import_records(store, "l", [rec(2)], settings={"pdq_threshold": 20})
    info = catalog.describe_list(store, "l")
    assert (info.source, info.kind, info.settings.pdq_threshold, info.settings.pdq_quality) == \
        ("NCMEC", ListKind.ALLOW, 20, 60)  # changes by name keep the list's other settings

    def broken() -> Iterator[Record]:
        yield rec(3)
        raise ListFormatError("damaged", record=2)

    with pytest.raises(ListFormatError):  # one transaction: a failed import changes neither entries nor the list
        import_records(store, "l", broken(), source="other", kind=ListKind.BLOCK, settings={"pdq_threshold": 5})
    info = catalog.describe_list(store, "l")
    assert (info.source, info.kind, info.settings.pdq_threshold, info.active) == ("NCMEC", ListKind.ALLOW, 20, 2)
    with pytest.raises(UsageError, match="between 0 and 96"):
        import_records(store, "l", [rec(4)], settings={"pdq_threshold": 200})
    assert catalog.describe_list(store, "l").active == 2
    listed = tmp_path / "list.txt"
    listed.write_text(f"{md5(5)}\n")
    import_file(store, listed, "l", source="Project VIC", settings=ListSettings(pdq_threshold=25))
    info = catalog.describe_list(store, "l")  # whole settings replace the list's
    assert (info.source, info.kind, info.settings, info.active) == \
        ("Project VIC", ListKind.ALLOW, ListSettings(pdq_threshold=25), 3)
