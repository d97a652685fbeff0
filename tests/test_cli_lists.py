"""``vigil lists`` and ``vigil match`` as a user runs them (in this process), on the sample formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import invoke, json_lines
from vigil.lists import all_lists, iter_records
from vigil.store import Store

DATA = Path(__file__).resolve().parent / "data" / "formats"
SAMPLES = {
    "vics13_media_hashset.json": ("vics-1.3", "vics"),
    "vics20_default_media_hashset.json": ("vics", "vics"),
    "vics20_us_case.json": ("vics", "vics"),
    "ncmec_v2_entries_response.xml": ("ncmec", "ncmec"),
    "stopncii_fetchhashes_response.json": ("stopncii", "stopncii"),
    "icse_hashset.csv": ("icse", "icse"),
    "threatexchange_signals.txt": ("te", "te"),
}
PDQ = "9def0b7dafa86a1c90f2abd78e79ceb25ec3d1a4b3d4bc7a4354baf7717ea038"


def vigil(db: Path, *args: str | Path) -> tuple[int, str, str]:
    proc = invoke(*args, "--db", db)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_import_export_reimport_keeps_the_same_entries(tmp_path: Path, name: str) -> None:
    db = tmp_path / "v.db"
    export_format, _ = SAMPLES[name]
    code, out, err = vigil(db, "lists", "import", DATA / name, "--list", "a")
    assert code == 0, err
    assert out.startswith("a: ")
    exported = tmp_path / "out"
    code, _, err = vigil(db, "lists", "export", "a", "--format", export_format, "-o", exported)
    assert code == 0, err
    code, _, err = vigil(db, "lists", "import", exported, "--list", "b")
    assert code == 0, err
    store = Store.open(db)
    a = [(r.id, r.signals, r.category, r.category_scheme, r.metadata, r.revoked) for r in iter_records(store, "a")]
    b = [(r.id, r.signals, r.category, r.category_scheme, r.metadata, r.revoked) for r in iter_records(store, "b")]
    assert sorted(a, key=repr) == sorted(b, key=repr) and a
    # and importing the export into the list it came from changes nothing
    code, out, _ = vigil(db, "lists", "import", exported, "--list", "a", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["added"] == summary["updated"] == 0 and summary["unchanged"] == len(a)


def test_a_truncated_file_is_refused_and_nothing_is_imported(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    data = (DATA / "vics20_default_media_hashset.json").read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(data[: len(data) // 2])
    code, out, err = vigil(db, "lists", "import", cut, "--list", "x")
    assert code == 3
    assert err.startswith("vigil: ") and "record 1" in err and err.count("\n") == 1
    code, out, _ = vigil(db, "lists", "ls", "--json")
    assert code == 0 and out == ""


def test_usage_and_input_errors(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    assert vigil(db, "lists", "import", tmp_path / "missing.json", "--list", "x")[0] == 3
    code, _, err = vigil(db, "lists", "import", DATA / "icse_hashset.csv", "--list", "x", "--format", "nope")
    assert code == 2 and "vics" in err
    assert vigil(db, "lists", "show", "nope")[0] == 2
    code, _, err = vigil(db, "lists", "import", DATA / "icse_hashset.csv", "--list", "x", "--setting", "pdq=3")
    assert code == 2 and "pdq_threshold" in err
    folder_db = tmp_path / "folder"
    folder_db.mkdir()
    assert vigil(folder_db, "lists", "ls")[0] == 2


def test_revoke_and_match_hash_lines(tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    vigil(db, "lists", "import", DATA / "ncmec_v2_entries_response.xml", "--list", "ncmec")
    queries = tmp_path / "q.txt"
    queries.write_text(f"# a comment\npdq {PDQ}\nMD5 A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1\nmd5 1234\n\n")
    proc = invoke("match", "--hashes", queries, "--json", "--db", db)
    assert proc.returncode == 0
    rows = json_lines(proc)
    assert [r["query"] for r in rows] == [f"pdq {PDQ}", "MD5 A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1A1", "md5 1234"]
    assert rows[0]["matches"] == [{"list": "ncmec", "entry": "image1", "signal": "pdq", "distance": 0,
                                   "variant": "original", "category": "A1", "category_scheme": "ncmec"}]
    assert [m["signal"] for m in rows[1]["matches"]] == ["md5"]
    assert rows[2]["matches"] == [] and "md5" in rows[2]["error"]
    code, _, err = vigil(db, "lists", "revoke", "ncmec", "image1", "nope")
    assert code == 3 and "nope" in err
    assert vigil(db, "lists", "revoke", "ncmec", "image1")[0] == 0
    rows = json_lines(invoke("match", "--hashes", queries, "--json", "--db", db))
    assert rows[0]["matches"] == []


def test_hash_lines_from_standard_input_against_the_database_named_by_vigil_db(tmp_path: Path) -> None:
    env = {"VIGIL_DB": str(tmp_path / "v.db")}
    assert invoke("lists", "import", DATA / "ncmec_v2_entries_response.xml", "--list", "ncmec", env=env).returncode == 0
    proc = invoke("match", "--hashes", "-", "--json", input=f"pdq {PDQ}\n", env=env)
    assert proc.returncode == 0, proc.stderr
    [row] = json_lines(proc)
    assert row["query"] == f"pdq {PDQ}" and [m["entry"] for m in row["matches"]] == ["image1"]
    assert [i.name for i in all_lists(Store.open(tmp_path / "v.db"))] == ["ncmec"]


def test_match_needs_paths_or_hashes(tmp_path: Path) -> None:
    code, _, err = vigil(tmp_path / "v.db", "match")
    assert code == 2 and "--hashes" in err


def test_import_into_an_existing_list_sets_its_source_kind_and_settings(tmp_path: Path) -> None:
    from vigil.lists import describe_list

    db = tmp_path / "v.db"
    code, _, err = vigil(db, "lists", "import", DATA / "icse_hashset.csv", "--list", "x", "--setting", "pdq_quality=60")
    assert code == 0, err
    code, _, err = vigil(db, "lists", "import", DATA / "icse_hashset.csv", "--list", "x", "--source", "INTERPOL",
                         "--allow", "--setting", "pdq_threshold=20")
    assert code == 0, err
    info = describe_list(Store.open(db), "x")
    assert (info.source, info.kind.value, info.settings.pdq_threshold, info.settings.pdq_quality) == \
        ("INTERPOL", "allow", 20, 60)
