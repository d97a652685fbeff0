"""The hash-list exchange formats: every sample imports as expected, every format round-trips,
and every kind of bad input gives a one-line ListFormatError saying where.

All values are benign and made up (see tests/data/formats/README.md).
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from vigil.errors import ListFormatError, UsageError
from vigil.lists.formats import FORMATS, ListFormat, ReadNotes, ReadOptions, detect_format, get_format
from vigil.lists.formats._jsonstream import JsonReader
from vigil.lists.formats.plain import PlainFormat
from vigil.lists.formats.threatexchange import entry_id
from vigil.lists.model import Record, Signal

DATA = Path(__file__).resolve().parent / "data" / "formats"
MD5 = "de4180e08e3ac406175bd09444183004"
SHA1 = "476bbab3188978fae9f893149ba992678c80406d"
PDQ = "9def0b7dafa86a1c90f2abd78e79ceb25ec3d1a4b3d4bc7a4354baf7717ea038"
SAMPLES = {
    "vics13_media_hashset.json": "vics",
    "vics20_default_media_hashset.json": "vics",
    "vics20_us_case.json": "vics",
    "ncmec_v2_entries_response.xml": "ncmec",
    "stopncii_fetchhashes_response.json": "stopncii",
    "icse_hashset.csv": "icse",
    "threatexchange_signals.txt": "te",
}


def read(fmt: ListFormat | str, data: bytes, *, signal: str | None = None,
         notes: ReadNotes | None = None) -> list[Record]:
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    return list(fmt.read(io.BytesIO(data), source="test", options=ReadOptions(signal=signal),
                         notes=notes if notes is not None else ReadNotes()))


def write(fmt: ListFormat | str, records: Iterable[Record]) -> bytes:
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    out = io.BytesIO()
    fmt.write(records, out, list_name="test")
    return out.getvalue()


def canon(records: Iterable[Record]) -> list[tuple[Any, ...]]:
    """What a round trip must keep, signals in a canonical order (their order carries no meaning)."""
    return [(r.id, sorted((s.type, s.value, s.quality) for s in r.signals), r.category, r.category_scheme,
             json.dumps(r.metadata, sort_keys=True), r.revoked) for r in records]


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def error_of(fn: Callable[[], object]) -> ListFormatError:
    with pytest.raises(ListFormatError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message
    return info.value


# -- the samples ------------------------------------------------------------------


def test_vics13_sample() -> None:
    [r] = read("vics", sample("vics13_media_hashset.json"))
    assert r.id == MD5
    assert [(s.type, s.value) for s in r.signals] == [("md5", MD5), ("sha1", SHA1)]
    assert (r.category, r.category_scheme) == ("0", "projectvic-dhs")
    assert r.metadata == {"MediaID": 1, "MediaSize": 18, "VictimIdentified": False, "OffenderIdentified": False,
                          "IsDistributed": False, "Series": "", "IsPrecategorized": True}
    assert not r.revoked


def test_vics20_sample_keeps_photodna_and_other_fields() -> None:
    [r] = read("vics", sample("vics20_default_media_hashset.json"))
    assert r.id == MD5
    assert [s.type for s in r.signals] == ["md5", "sha1", "photodna"]
    photodna = r.signal("photodna")
    assert photodna is not None and photodna.value.startswith("AAECAwQF")
    assert (r.category, r.category_scheme) == ("0", "projectvic-default")
    assert r.metadata["IsPrecategorized"] is True and r.metadata["VictimIdentified"] is False
    assert r.metadata["Exifs"][0]["PropertyValue"] == "TestCam"
    assert r.metadata["DateUpdated"] == "2024-01-02T03:04:05.0000Z"


def test_vics20_case_file_imports_its_media() -> None:
    [r] = read("vics", sample("vics20_us_case.json"))
    assert r.id == MD5
    assert [s.type for s in r.signals] == ["md5", "sha1"]
    assert (r.category, r.category_scheme) == (None, None)  # "Category": null: uncategorised
    assert r.metadata["MediaFiles"][0]["FileName"] == "benign_sample.txt"
    assert r.metadata["IsSuspected"] is False and r.metadata["VictimIdentified"] is None


def test_ncmec_sample() -> None:
    notes = ReadNotes()
    image, deleted = read("ncmec", sample("ncmec_v2_entries_response.xml"), notes=notes)
    assert image.id == "image1" and not image.revoked
    assert [(s.type, s.value) for s in image.signals] == [
        ("md5", "a1" * 16), ("sha1", "a1" * 20), ("pdq", PDQ)]
    assert (image.category, image.category_scheme) == ("A1", "ncmec")
    assert image.metadata == {"kind": "image", "member_id": "42", "member_name": "Example Member",
                              "timestamp": "2017-10-24T15:00:00Z"}
    assert deleted.id == "image4" and deleted.revoked and deleted.signals == []
    assert deleted.metadata == {"kind": "image", "member_id": "43", "member_name": "Example Member2",
                                "timestamp": "2017-10-24T15:10:00Z"}
    assert not notes.skipped


def test_stopncii_sample() -> None:
    [r] = read("stopncii", sample("stopncii_fetchhashes_response.json"))
    assert r.id == PDQ and r.signals == [Signal("pdq", PDQ)] and not r.revoked
    assert r.metadata["status"] == "Active" and r.metadata["signal_type"] == "ImagePDQ"
    assert r.metadata["last_modified"] == 1625175071
    assert r.metadata["csp_feedbacks"][0]["feedbackValue"] == "Blocked"


def test_icse_sample() -> None:
    [r] = read("icse", sample("icse_hashset.csv"))
    assert r.id == "1"
    assert [(s.type, s.value) for s in r.signals] == [("md5", MD5), ("sha1", SHA1)]
    assert r.category is None
    assert r.metadata == {"IsDistributed": False, "VictimIdentified": False, "OffenderIdentified": False,
                          "icse_submissions": 1, "icse_file_available": False, "icse_media_type": "image",
                          "icse_baseline": False}


def test_threatexchange_sample() -> None:
    md5, pdq = read("te", sample("threatexchange_signals.txt"))
    assert (md5.id, md5.signals, md5.metadata) == (MD5, [Signal("md5", MD5)], {"te_type": "video_md5"})
    assert (pdq.id, pdq.signals, pdq.metadata) == (PDQ, [Signal("pdq", PDQ)], {"te_type": "pdq"})


@pytest.mark.parametrize("name", SAMPLES)
def test_detect_format_on_every_sample(name: str) -> None:
    assert detect_format(sample(name)[:65536]).name == SAMPLES[name]


@pytest.mark.parametrize("data", [b"", b"hello world\n", b"\x00\x01\x02garbage", b"{}", b"<html></html>",
                                  b"[1, 2, 3]", (DATA / "README.md").read_bytes()])
def test_detect_format_refuses_what_it_cannot_tell(data: bytes) -> None:
    assert "pass --format NAME" in str(error_of(lambda: detect_format(data)))


def test_detect_plain_and_generated_files() -> None:
    assert detect_format(f"# md5s\n{MD5}\n{SHA1.upper()}\r\n".encode()).name == "plain"
    for name in ("vics", "vics-1.3", "ncmec", "stopncii", "icse", "te"):
        data = write(name, generated(name))
        assert detect_format(data[:65536]).name == ("vics" if name.startswith("vics") else name)


def test_get_format_names_and_aliases() -> None:
    assert get_format("threatexchange") is FORMATS["te"]
    assert get_format("VICS-2.0").name == "vics-2.0"
    with pytest.raises(UsageError, match=r"vics, vics-1\.2"):
        get_format("csv")


# -- round trips --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fmt"), [*SAMPLES.items(), ("vics13_media_hashset.json", "vics-1.3"),
                                           ("vics13_media_hashset.json", "vics-1.2"),
                                           ("vics20_default_media_hashset.json", "vics-2.0")])
def test_sample_round_trip(name: str, fmt: str) -> None:
    records = read(fmt, sample(name))
    kept = [r for r in records if get_format(fmt).carries_revocations or not r.revoked]
    assert canon(read(fmt, write(fmt, records))) == canon(kept)


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _vpdq(rng: random.Random) -> str:
    lines = [f"{i},{rng.randrange(101)},{_hex(rng, 64)},{i * 1.5:.3f}" for i in range(rng.randrange(1, 5))]
    return Signal.of("vpdq", "\n".join(lines)).value


def generated(name: str, count: int = 200) -> list[Record]:
    """Records of the shape ``name`` carries (random benign values), some revoked."""
    rng = random.Random(f"{name}-{count}")
    out: list[Record] = []
    for n in range(1, count + 1):
        md5, sha1, pdq = _hex(rng, 32), _hex(rng, 40), _hex(rng, 64)
        revoked = n % 17 == 0
        if name.startswith("vics"):
            scheme = "projectvic-dhs" if name in ("vics-1.2", "vics-1.3") else "projectvic-us"
            category = rng.choice([None, "0", "1", "2", "3", "4"])
            signals = [Signal("md5", md5), Signal("sha1", sha1), Signal("pdq", pdq)]
            meta: dict[str, Any] = {"MediaID": n, "MediaSize": rng.randrange(10**6),
                                    "VictimIdentified": rng.choice([True, False, None]),
                                    "IsDistributed": rng.choice([True, False]), "Series": f"series {n % 7}"}
            if n % 5 == 0:
                signals.append(Signal("sha256", _hex(rng, 64)))
            if n % 7 == 0:
                meta["AlternativeHashes"] = [{"HashName": "FutureHash", "HashValue": "opaque=="}]
            out.append(Record(md5, signals, category, scheme if category else None, meta, revoked))
        elif name == "ncmec":
            kind = rng.choice(["image", "video"])
            meta = {"kind": kind, "member_id": str(n % 9), "member_name": f"Member {n % 9} & Co",
                    "timestamp": f"2024-01-{n % 28 + 1:02d}T00:00:00Z"}
            if revoked:
                out.append(Record(f"{kind}{n}", [], metadata=meta, revoked=True))
                continue
            category = rng.choice([None, "A1", "A2", "B1"])
            signals = [Signal("md5", md5), Signal("sha1", sha1)] + ([Signal("pdq", pdq)] if kind == "image" else [])
            out.append(Record(f"{kind}{n}", signals, category, "ncmec" if category else None, meta))
        elif name == "stopncii":
            signal = Signal("pdq", pdq) if n % 2 else Signal("md5", md5)
            status = rng.choice(["Withdrawn", "Deleted"]) if revoked else rng.choice(["Active", "Received"])
            meta = {"signal_type": "ImagePDQ" if signal.type == "pdq" else "VideoMD5", "status": status,
                    "last_modified": 1_700_000_000 + n}
            if n % 3 == 0:
                meta["case_numbers"] = {f"case-{n}": status}
            out.append(Record(signal.value, [signal], metadata=meta, revoked=revoked))
        elif name == "icse":
            signals = [Signal("md5", md5), Signal("sha1", sha1)]
            if n % 4 == 0:
                signals.append(Signal("photodna", "AAEC" + _hex(rng, 20)))
            meta = {"IsDistributed": rng.choice([True, False]), "VictimIdentified": rng.choice([True, False]),
                    "OffenderIdentified": False, "icse_submissions": n % 5, "icse_media_type": "image",
                    "icse_baseline": rng.choice([True, False])}
            out.append(Record(str(n) if n % 3 else md5, signals, metadata=meta, revoked=revoked))
        elif name == "te":
            te_type, signal = rng.choice([
                ("pdq", Signal("pdq", pdq)), ("video_md5", Signal("md5", md5)), ("photo_md5", Signal("md5", md5)),
                ("md5", Signal("md5", md5)), ("video_sha256", Signal("sha256", pdq)),
                ("vpdq", Signal("vpdq", _vpdq(rng)))])
            out.append(Record(entry_id(signal), [signal], metadata={"te_type": te_type}, revoked=revoked))
        elif name == "plain":
            signal = Signal("md5", md5) if n % 2 else Signal("sha1", sha1)
            out.append(Record(signal.value, [signal], revoked=revoked))
        else:
            raise AssertionError(name)
    return out


@pytest.mark.parametrize("name", [n for n in FORMATS])
def test_generated_records_round_trip(name: str) -> None:
    records = generated(name)
    expected = [r for r in records if FORMATS[name].carries_revocations or not r.revoked]
    assert any(r.revoked for r in records)
    back = canon(read(name, write(name, records)))
    if name == "ncmec":  # the XML groups images before videos
        back, expected_canon = sorted(back), sorted(canon(expected))
    else:
        expected_canon = canon(expected)
    assert back == expected_canon


@pytest.mark.parametrize("signal", ["pdq", "sha256"])
def test_plain_64_digit_round_trip_with_signal(signal: str) -> None:
    records = [Record(v, [Signal(signal, v)]) for v in (_hex(random.Random(i), 64) for i in range(50))]
    data = write(PlainFormat(signal=signal), records)
    assert canon(read("plain", data, signal=signal)) == canon(records)


def test_plain_writes_the_preferred_signal() -> None:
    record = Record("x", [Signal("pdq", PDQ), Signal("sha1", SHA1), Signal("md5", MD5)])
    assert write("plain", [record]) == f"{MD5}\n".encode()
    assert write(PlainFormat(signal="pdq"), [record]) == f"{PDQ}\n".encode()


def test_vics_writes_hex_upper_case_flags_as_strings_and_versions() -> None:
    records = generated("vics-1.3", 3)
    text = write("vics-1.3", records).decode()
    assert text.startswith('{"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"')
    media = json.loads(text)["value"][0]
    assert media["MD5"] == records[0].signals[0].value.upper()
    assert media["IsDistributed"] in ("true", "false")
    assert media["AlternativeHashes"][0] == {"HashName": "PDQ", "HashValue": records[0].signals[2].value.upper()}
    assert '"@odata.context"' in write("vics", records).decode()
    assert "2.0.xml/US/$metadata#Media" in write("vics", generated("vics", 3)).decode()


def test_vics_leaves_out_other_schemes_and_other_formats_notes() -> None:
    records = [Record(MD5, [Signal("md5", MD5)], "1", "projectvic-us", {"MediaID": 5}),
               Record(SHA1, [Signal("sha1", SHA1)], "A1", "ncmec", {"kind": "image", "member_id": "4"})]
    media = json.loads(write("vics", records))["value"]
    assert media[0]["Category"] == 1
    assert media[1]["Category"] is None and "kind" not in media[1] and media[1]["MediaID"] == 2


def test_derived_signals_and_revoked_entries_are_not_exported() -> None:
    record = Record(MD5, [Signal("md5", MD5), Signal("pdq", PDQ, derived="crop 10%")], metadata={"MediaID": 1})
    revoked = Record(SHA1, [Signal("sha1", SHA1)], revoked=True)
    for name in ("vics", "icse", "te", "plain"):
        back = read(name, write(name, [record, revoked]))
        assert [r.id for r in back] == [MD5] and all(s.type != "pdq" for s in back[0].signals), name


def test_vics_model_after_value_is_not_misread() -> None:
    doc = json.loads(sample("vics20_us_case.json"))
    doc["value"][0]["Media"][0]["Category"] = 2
    reordered = json.dumps({"value": doc["value"], "@odata.context": doc["@odata.context"]}).encode()
    [r] = read("vics", reordered)
    assert (r.id, r.category, r.category_scheme) == (MD5, "2", "projectvic-us")
    media = json.dumps({"value": [{"MD5": MD5, "Category": 1}],
                        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media"})
    [r] = read("vics", media.encode())
    assert (r.category, r.category_scheme) == ("1", "projectvic-dhs")
    assert "no VICS data model" in str(error_of(lambda: read("vics", b'{"value": [{"MD5": "%s"}]}' % MD5.encode())))


def test_vics_alternative_hashes() -> None:
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media",
           "value": [{"MediaID": 9, "Category": "2", "AlternativeHashes": [
               {"HashName": "pdq", "HashValue": PDQ.upper()}, {"HashName": "Other", "HashValue": "xyz"}]}]}
    [r] = read("vics", json.dumps(doc).encode())
    assert (r.id, r.signals, r.category, r.category_scheme) == ("9", [Signal("pdq", PDQ)], "2", "uk")
    assert r.metadata["AlternativeHashes"] == [{"HashName": "Other", "HashValue": "xyz"}]
    assert canon(read("vics", write("vics", [r]))) == canon([r])


def test_te_vpdq_forms() -> None:
    features = [f"{PDQ},100,0.000", f"{PDQ[::-1]},80,1.000"]
    compact = f"vpdq {json.dumps(features)}\n"
    old = "vpdq " + json.dumps({"0": {"quality": 100, "hash": PDQ, "timestamp": 0.0},
                                "30": {"quality": 80, "hash": PDQ[::-1], "timestamp": 1.0}}) + "\n"
    [a] = read("te", compact.encode())
    [b] = read("te", old.encode())
    assert a.signals[0].value == f"0,100,{PDQ},0.000\n1,80,{PDQ[::-1]},1.000"
    assert b.signals[0].value == f"0,100,{PDQ},0.000\n30,80,{PDQ[::-1]},1.000"
    assert a.id.startswith("vpdq:") and a.metadata == {"te_type": "vpdq"}
    assert write("te", [a]).decode() == compact
    bad = f"vpdq {json.dumps([f'{PDQ},101,0.0'])}\n"
    assert "line 2" in str(error_of(lambda: read("te", b"# c\n" + bad.encode())))


def test_skipped_signal_types_are_noted_not_errors() -> None:
    notes = ReadNotes()
    assert read("te", b"url https://example.invalid/x\nraw_text hello there\n" + f"pdq {PDQ}\n".encode(),
                notes=notes)[0].id == PDQ
    assert notes.skipped == {"signal type 'url' is not matched by Vigil": 1,
                             "signal type 'raw_text' is not matched by Vigil": 1}
    notes = ReadNotes()
    doc = {"hashRecords": [{"signalType": "VideoTMK", "hashValue": "abc", "hashStatus": "Active"},
                           {"signalType": "VideoMD5", "hashValue": MD5.upper(), "hashStatus": "Withdrawn"}]}
    [r] = read("stopncii", json.dumps(doc).encode(), notes=notes)
    assert r.id == MD5 and r.revoked and r.signals == [Signal("md5", MD5)]
    assert notes.skipped == {"StopNCII signal type 'VideoTMK' is not matched by Vigil": 1}
    notes = ReadNotes()
    xml = sample("ncmec_v2_entries_response.xml").replace(
        b"<fingerprints>", b'<fingerprints><tmk-pdqf rel="self" href="/v2/x"/><pdna>AAEC</pdna>')
    [image, _] = read("ncmec", xml, notes=notes)
    assert ("photodna", "AAEC") in [(s.type, s.value) for s in image.signals]
    assert notes.skipped == {"NCMEC tmk-pdqf fingerprint given only as a link": 1}


# -- what files look like in the field ----------------------------------------------


def _field_variant(data: bytes, *, upper: bool) -> bytes:
    """The same file with a BOM, CRLF line ends and (for formats that allow it) upper-case hex."""
    text = data.decode()
    if upper:
        for value in (MD5, SHA1, PDQ, "a1" * 20, "a1" * 16):
            text = text.replace(value, value.upper())
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize("name", SAMPLES)
def test_bom_crlf_and_upper_case_hex(name: str) -> None:
    fmt = SAMPLES[name]
    expected = canon(read(fmt, sample(name)))
    variant = _field_variant(sample(name), upper=True)
    assert detect_format(variant[:65536]).name == fmt
    assert canon(read(fmt, variant)) == expected
    lines = f"# a comment\r\n\r\n{MD5.upper()}\r\n{SHA1}\r\n".encode()
    assert [r.id for r in read("plain", b"\xef\xbb\xbf" + lines)] == [MD5, SHA1]


def test_true_false_strings_and_booleans_read_alike() -> None:
    as_strings = read("vics", sample("vics20_default_media_hashset.json"))
    as_bools = read("vics", sample("vics20_default_media_hashset.json").replace(b'"true"', b"true")
                    .replace(b'"false"', b"false"))
    assert canon(as_strings) == canon(as_bools)
    icse = sample("icse_hashset.csv").replace(b"false;false;false", b"TRUE;0;False")
    [r] = read("icse", icse)
    assert (r.metadata["IsDistributed"], r.metadata["VictimIdentified"], r.metadata["OffenderIdentified"]) == (
        True, False, False)


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in FORMATS if n not in ("vics-1.2", "vics-2.0")])
def test_truncated_file_names_line_or_record(name: str) -> None:
    data = write(name, generated(name, 40))
    middle = data.index(b"\n", len(data) // 2) + 1
    cut = data[: middle + 15]  # 15 bytes into a line in the middle of the file
    message = str(error_of(lambda: read(name, cut)))
    assert "line " in message or "record " in message, message


def test_truncated_json_says_which_record() -> None:
    data = write("vics", generated("vics", 10))
    lines = data.split(b"\n")
    cut = b"\n".join(lines[:5]) + b"\n" + lines[5][:40]
    error = error_of(lambda: read("vics", cut))
    assert error.record == 5 and error.line == 6 and "ends inside record 5" in str(error)


@pytest.mark.parametrize("name", [n for n in FORMATS if n not in ("vics-1.2", "vics-1.3", "vics-2.0")])
@pytest.mark.parametrize("seed", range(3))
def test_random_garbage_is_refused(name: str, seed: int) -> None:
    rng = random.Random(seed)
    garbage = bytes(rng.randrange(256) for _ in range(500))
    printable = "".join(rng.choice("{}[]<>;,:\"' abcxyz019\n") for _ in range(500)).encode()
    for data in (garbage, printable):
        with pytest.raises(ListFormatError):
            read(name, data)


@pytest.mark.parametrize(("name", "data", "where"), [
    ("vics", sample("vics13_media_hashset.json").replace(MD5.upper().encode(), b"XYZ" * 10), "record 1"),
    ("vics", sample("vics13_media_hashset.json").replace(SHA1.upper().encode(), SHA1[:-1].encode()), "record 1"),
    ("ncmec", sample("ncmec_v2_entries_response.xml").replace(PDQ.encode(), PDQ[:-2].encode()), "record 1"),
    ("stopncii", sample("stopncii_fetchhashes_response.json").replace(PDQ.encode(), b"g" * 64), "record 1"),
    ("icse", sample("icse_hashset.csv").replace(MD5.upper().encode(), b"Z" * 32), "line 2"),
    ("te", sample("threatexchange_signals.txt").replace(PDQ.encode(), PDQ[:40].encode()), "line 2"),
    ("plain", f"{MD5}\n{MD5[:31]}q\n".encode(), "line 2"),
])
def test_bad_hex(name: str, data: bytes, where: str) -> None:
    assert where in str(error_of(lambda: read(name, data)))


def test_bad_flag() -> None:
    vics = sample("vics13_media_hashset.json").replace(b'"VictimIdentified": "false"', b'"VictimIdentified": "maybe"')
    error = error_of(lambda: read("vics", vics))
    assert error.record == 1 and "VictimIdentified" in str(error) and "maybe" in str(error)
    icse = sample("icse_hashset.csv").replace(b";false;false;false;", b";false;perhaps;false;")
    error = error_of(lambda: read("icse", icse))
    assert error.line == 2 and "victim identified" in str(error)


def test_plain_64_digits_needs_signal() -> None:
    message = str(error_of(lambda: read("plain", f"{MD5}\n{PDQ}\n".encode())))
    assert "line 2" in message and "--signal sha256" in message and "--signal pdq" in message
    assert [r.signals[0].type for r in read("plain", f"{PDQ}\n".encode(), signal="pdq")] == ["pdq"]
    assert "line 1" in str(error_of(lambda: read("plain", f"{MD5}\n".encode(), signal="pdq")))
    with pytest.raises(UsageError):
        read("plain", b"", signal="vpdq")


def test_malformed_lines_and_xml() -> None:
    assert "line 3" in str(error_of(lambda: read("te", f"# x\npdq {PDQ}\npdq\n".encode())))
    assert "line 1" in str(error_of(lambda: read("icse", b"Name;Value\nx;y\n")))
    assert "line 3" in str(error_of(lambda: read("icse", sample("icse_hashset.csv") + b"a;b\n")))
    xml = sample("ncmec_v2_entries_response.xml").replace(b"</member>", b"</memb>", 1)
    assert "line 5" in str(error_of(lambda: read("ncmec", xml)))
    bomb = b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaa">]><queryResult>&a;</queryResult>'
    assert "refused XML" in str(error_of(lambda: read("ncmec", bomb)))
    assert "queryResult" in str(error_of(lambda: read("ncmec", b"<status/>")))


def test_json_reader_survives_any_chunking() -> None:
    doc = {"a": [1, 2.5, -3e2, "é☃\\\"", None, True], "value": [{"k": "x" * n, "n": 12345678901234567890}
                                                               for n in range(50)], "z": {}}
    data = b"\xef\xbb\xbf" + json.dumps(doc, indent=1, ensure_ascii=False).encode()
    for chunk in (1, 2, 3, 7, 100, 1 << 20):
        reader = JsonReader(io.BytesIO(data), source="t", chunk_size=chunk)
        got = {k: (list(reader.values()) if k == "value" else reader.value()) for k in reader.members()}
        reader.finish()
        assert got == doc


# -- bounded memory ---------------------------------------------------------------

_MEMORY_PROBE = textwrap.dedent("""
    import resource, sys
    from vigil.lists.formats import ReadNotes, ReadOptions, get_format
    fmt = get_format("vics")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(sys.argv[1], "rb") as f:
        n = sum(1 for _ in fmt.read(f, source="big", options=ReadOptions(), notes=ReadNotes()))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(n, after - before)
""")


def test_vics_reader_streams_in_bounded_memory(tmp_path: Path) -> None:
    """200,000 Media read with the peak memory of the reading process growing well under 20 MB.

    Measured as the peak resident size of a fresh process (tracemalloc would slow the read
    tenfold); holding the records, or the document, would take hundreds of MB.
    """
    path = tmp_path / "big.json"
    context = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
    with path.open("w") as f:
        f.write(f'{{"@odata.context":"{context}","value":[\n')
        f.write(",\n".join(f'{{"MediaID":{i},"Category":{i % 5},"MD5":"{i:032X}","IsDistributed":"false"}}'
                           for i in range(1, 200_001)))
        f.write("\n]}\n")
    proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path)], capture_output=True, text=True,
                          timeout=120, check=True)
    count, grown_kib = map(int, proc.stdout.split())
    assert count == 200_000
    assert grown_kib < 20 * 1024, f"peak memory grew by {grown_kib / 1024:.1f} MB"
