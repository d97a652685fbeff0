"""The signal test kit: every registered signal type passes the same checks (in the spirit of
python-threatexchange's ``SignalTypeAutoTest`` and perception's integrity checks).

The checks are plain functions over a ``SignalType``; the tests run them over every type in
``vigil.signals.SIGNALS``. A plug-in (a licensed PhotoDNA, say) joins by registering: it then
runs here too, with its malformed values added to ``BAD_VALUES`` and its reference vectors,
where it has any, to ``REFERENCE``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from conftest import BUNDLED_REFDATA, read_csv
from vigil.errors import MalformedSignal, UsageError
from vigil.hashing import FileResult, HashOptions, hash_file, hash_files
from vigil.lists.media import record_for
from vigil.lists.model import Signal
from vigil.lists.settings import ListSettings
from vigil.matching import parse_hash_line
from vigil.signals import MD5, PDQ, SIGNALS, VPDQ, HexSignalType, IndexKind, SignalRegistry, SignalType, get_signal
from vigil.signals import pdq as pdq_hashing
from vigil.signals.mode import Mode

TYPES = list(SIGNALS)
_ids = [s.name for s in TYPES]

PHOTO = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-256x256.jpg"
VIDEO = BUNDLED_REFDATA / "videos/test-padded-dimensions.mp4"
_PDQ_ROWS = {r["path"]: r for r in read_csv(BUNDLED_REFDATA / "pdq-reference-hashes.csv")}
_HEX64 = "dadb999c25266273529cadac8dcb52c22324ad3bce99726c38668d93c799f06c"

# Values each type must refuse beyond the ones every type refuses (see ``bad_values``).
BAD_VALUES: dict[str, tuple[str, ...]] = {
    VPDQ.name: (
        "1,2,3",  # three fields
        f"0,100,{_HEX64},0.000,extra",  # five
        f"0,100,{_HEX64[:-1]},0.000",  # a hash one digit short
        f"0,100,{'g' * 64},0.000",  # not hex
        f"x,100,{_HEX64},0.000",  # a frame number that is not one
        f"0,high,{_HEX64},0.000",
        f"0,100,{_HEX64},soon",
        " ; ;",  # no line at all
        f"0,100,{_HEX64},0.000;1,2,3",  # one good line, one bad
    ),
}

# Reference vectors: (which test file, the value the field's reference implementation gives).
# md5/sha1/sha256: the known digests of b"" and b"abc"; PDQ and vPDQ: Meta's reference hashes.
REFERENCE: dict[str, list[tuple[str, str]]] = {
    "md5": [("empty", "d41d8cd98f00b204e9800998ecf8427e"), ("abc", "900150983cd24fb0d6963f7d28e17f72")],
    "sha1": [("empty", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
             ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")],
    "sha256": [("empty", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
               ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")],
    "pdq": [("photo", _PDQ_ROWS["pdq-images/bridge-mods/square-256x256.jpg"]["pdq_hex"])],
    "vpdq": [("video", (BUNDLED_REFDATA / "vpdq-reference-hashes/test-padded-dimensions.1s.txt").read_text())],
}


# --- the checks ---------------------------------------------------------------------------------


def bad_values(signal: SignalType) -> Iterator[str]:
    """Text no signal type may take for a value, then the type's own (fixed-length hex: wrong
    lengths and a non-hex digit; others: ``BAD_VALUES``)."""
    yield from ("", "   ", "\n", "\t \r\n")
    if signal.hex_digits is not None:
        example, middle = signal.examples[0], signal.hex_digits // 2
        yield from (example[:-1], example + "0", example[:-1] + "g", "z" * signal.hex_digits,
                    example[:middle] + " " + example[middle + 1:], "0x" + example[2:])
    yield from BAD_VALUES.get(signal.name, ())


def check_examples(signal: SignalType) -> None:
    """At least two examples, each valid and already in normal form, no two alike."""
    assert len(signal.examples) >= 2, f"{signal.name}: give at least two examples"
    assert len(set(signal.examples)) == len(signal.examples)
    for example in signal.examples:
        signal.validate(example)
        assert signal.normalise(example) == example


def check_text_round_trip(signal: SignalType) -> None:
    """normalise gives the normal form from what the field sends (surrounding white space; upper
    case where the type ignores case), and is idempotent."""
    for example in signal.examples:
        sent = [f"  {example}\n", f"\t{example} \r\n"]
        if signal.ignores_case:
            sent += [example.upper(), f" {example.upper()}\n"]
        for text in sent:
            once = signal.normalise(text)
            assert once == example, (signal.name, text)
            assert signal.normalise(once) == once
            if text != example:
                with pytest.raises(MalformedSignal):
                    signal.validate(text)  # validate wants the normal form itself


def check_bad_values(signal: SignalType) -> None:
    """Malformed values are refused with the project's error: one line, a usage error (exit 2, HTTP 422),
    a ValueError."""
    for bad in bad_values(signal):
        with pytest.raises(MalformedSignal) as caught:
            signal.normalise(bad)
        message = str(caught.value)
        assert message and "\n" not in message, (signal.name, bad)
        assert caught.value.exit_code == 2 and caught.value.http_status == 422 and isinstance(caught.value, ValueError)
        with pytest.raises(MalformedSignal):
            signal.distance(signal.examples[0], bad)


def check_distance(signal: SignalType) -> None:
    """Distance to itself 0 (in any form the type accepts), symmetric, never negative."""
    for a in signal.examples:
        assert signal.distance(a, a) == 0
        assert signal.distance(f" {a.upper() if signal.ignores_case else a} ", a) == 0
        assert signal.matches(a, a, threshold=0)
    for a, b in itertools.product(signal.examples, repeat=2):
        assert signal.distance(a, b) == signal.distance(b, a) >= 0


KIT = (check_examples, check_text_round_trip, check_bad_values, check_distance)


@pytest.mark.parametrize("check", KIT, ids=[c.__name__ for c in KIT])
@pytest.mark.parametrize("signal", TYPES, ids=_ids)
def test_signal_type_passes_the_kit(signal: SignalType, check: object) -> None:
    check(signal)  # type: ignore[operator]


# --- content: serial = parallel, reference vectors ----------------------------------------------


def _values(result: FileResult) -> dict[str, str]:
    """Each signal of a hashed file as a list entry keeps it: the type's normal text form."""
    return {s.type: s.value for s in record_for(result).signals if s.derived is None}


@pytest.fixture(scope="module")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> dict[Mode, dict[str, tuple[FileResult, FileResult]]]:
    """(one at a time, through the worker pool) results of each test file, in each mode."""
    folder = tmp_path_factory.mktemp("signal-kit")
    (folder / "empty").write_bytes(b"")
    (folder / "abc").write_bytes(b"abc")
    files = {"empty": str(folder / "empty"), "abc": str(folder / "abc"), "photo": str(PHOTO), "video": str(VIDEO)}
    out: dict[Mode, dict[str, tuple[FileResult, FileResult]]] = {}
    for mode in Mode:
        options = HashOptions(mode=mode, seconds_per_hash=1.0)
        serial = [hash_file(path, options) for path in files.values()]
        parallel = list(hash_files(files.values(), options, jobs=2))
        out[mode] = dict(zip(files, zip(serial, parallel, strict=True), strict=True))
    return out


def test_every_built_in_type_is_computed_from_the_test_media(
        hashed: dict[Mode, dict[str, tuple[FileResult, FileResult]]]) -> None:
    for results in hashed.values():
        names = {name for serial, _ in results.values() for name in _values(serial)}
        assert names >= {"md5", "sha1", "sha256", "pdq", "vpdq"}


@pytest.mark.parametrize("mode", list(Mode), ids=str)
@pytest.mark.parametrize("signal", TYPES, ids=_ids)
def test_serial_equals_parallel(signal: SignalType, mode: Mode,
                                hashed: dict[Mode, dict[str, tuple[FileResult, FileResult]]]) -> None:
    pairs = hashed[mode]
    serial = {key: _values(one).get(signal.name) for key, (one, _) in pairs.items()}
    parallel = {key: _values(pooled).get(signal.name) for key, (_, pooled) in pairs.items()}
    if not any(serial.values()):
        pytest.skip(f"Vigil computes no {signal.name} from content")
    assert serial == parallel
    for value in serial.values():
        if value is not None:
            signal.validate(value)  # what the hashing gives is already in normal form


@pytest.mark.parametrize("mode", list(Mode), ids=str)
def test_whole_results_serial_equal_parallel(mode: Mode,
                                             hashed: dict[Mode, dict[str, tuple[FileResult, FileResult]]]) -> None:
    for one, pooled in hashed[mode].values():
        assert one.to_json() == pooled.to_json()


@pytest.mark.parametrize("signal", TYPES, ids=_ids)
def test_reference_vectors(signal: SignalType, hashed: dict[Mode, dict[str, tuple[FileResult, FileResult]]]) -> None:
    vectors = REFERENCE.get(signal.name)
    if not vectors:
        pytest.skip(f"no reference vectors for {signal.name}")
    for key, expected in vectors:
        got = _values(hashed[Mode.EXACT][key][0])[signal.name]
        assert got == signal.normalise(expected)
        assert signal.distance(got, expected) == 0


# --- what the types say, beyond the kit ---------------------------------------------------------


def test_names_in_their_stable_order_are_the_ones_reports_and_stores_use() -> None:
    assert SIGNALS.names() == ("md5", "sha1", "sha256", "pdq", "vpdq")
    assert all(get_signal(s.name) is s for s in SIGNALS)
    assert [s.name for s in SIGNALS if s.file_digest] == ["md5", "sha1", "sha256"]
    assert [s.name for s in SIGNALS.indexed_by(IndexKind.EXACT)] == ["md5", "sha1", "sha256"]
    assert [(s.name, s.hex_digits) for s in SIGNALS.hex_types()] == [("md5", 32), ("sha1", 40), ("sha256", 64),
                                                                      ("pdq", 64)]


def test_default_thresholds_are_the_list_settings_defaults() -> None:
    """DESIGN.md's match rules, said once by the types and once by the list settings: they agree."""
    defaults = ListSettings()
    assert (PDQ.threshold, PDQ.quality) == (defaults.pdq_threshold, defaults.pdq_quality) == (31, 50)
    assert (VPDQ.threshold, VPDQ.quality, VPDQ.query_percent, VPDQ.list_percent) == (
        defaults.vpdq_threshold, defaults.vpdq_quality, defaults.vpdq_query_percent, defaults.vpdq_list_percent)
    assert all(s.threshold == 0 and s.quality is None for s in SIGNALS if s.file_digest)


def test_pdq_distance_is_the_hamming_distance_of_the_reference_hashes() -> None:
    rows = list(_PDQ_ROWS.values())[:12]
    for a, b in itertools.combinations(rows, 2):
        assert PDQ.distance(a["pdq_hex"], b["pdq_hex"]) == pdq_hashing.distance(a["pdq_hex"], b["pdq_hex"])
    assert PDQ.distance("0" * 64, "F" * 64) == 256
    assert PDQ.matches("0" * 64, "0" * 63 + "f") and not PDQ.matches("0" * 64, "0" * 56 + "f" * 8)


def test_vpdq_distance_is_the_closest_pair_of_frames() -> None:
    near, far = "0" * 64, "0" * 60 + "ffff"  # 16 bits apart
    assert VPDQ.distance(f"0,100,{near},0.000", f"0,100,{far},0.000") == 16
    assert VPDQ.distance(f"0,100,{near},0.000\n1,100,{'f' * 64},1.000", f"7,90,{far},0.250") == 16
    assert VPDQ.distance(f"0,100,{near},0.000;1,100,{far},1.000", f"3,100,{far},9.000") == 0


def test_the_messages_users_see_for_bad_values() -> None:
    cases = [
        (MD5, "xyz", "not a md5 value (32 hex digits): 'xyz'"),
        (PDQ, " " + "0" * 63 + " ", f"not a pdq value (64 hex digits): '{'0' * 63}'"),
        (VPDQ, " ; ", "empty vpdq value"),
        (VPDQ, "1,2,3", "not a vPDQ line (want frame,quality,hex,timestamp): '1,2,3'"),
        (VPDQ, f"0,100,{'g' * 64},0.000", f"not a 64-digit PDQ hex hash: '{'g' * 64}'"),
        (VPDQ, f"x,100,{_HEX64},0.000",
         f"not a vPDQ line (frame and quality are integers, timestamp a number): 'x,100,{_HEX64},0.000'"),
    ]
    for signal, text, message in cases:
        with pytest.raises(MalformedSignal) as caught:
            signal.normalise(text)
        assert str(caught.value) == message
    with pytest.raises(MalformedSignal, match=r"^not a pdq value in normal form: 'F"):
        PDQ.validate("F" * 64)


# --- the registry -------------------------------------------------------------------------------


def test_an_unknown_name_is_a_usage_error_naming_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"^unknown signal type 'tlsh' \(want md5, sha1, sha256, pdq or vpdq\)$"):
        get_signal("tlsh")
    assert SIGNALS.get("tlsh") is None and "tlsh" not in SIGNALS and "pdq" in SIGNALS


def test_a_second_type_of_a_taken_name_is_refused() -> None:
    registry = SignalRegistry([MD5])
    with pytest.raises(UsageError, match=r"^two signal types are named 'md5'$"):
        registry.register(HexSignalType("md5", 32, MD5.examples))
    assert registry.get("md5") is MD5 and len(registry) == 1
    with pytest.raises(UsageError, match="two signal types are named 'md5'"):
        SignalRegistry([*SIGNALS, *SIGNALS])


def test_names_and_index_kinds_a_registry_cannot_hold_are_refused() -> None:
    registry = SignalRegistry()
    with pytest.raises(UsageError, match=r"^a signal type's name must be lower-case letters, digits and _: 'SHA-1'$"):
        registry.register(HexSignalType("SHA-1", 40, ()))
    with pytest.raises(UsageError, match=r"^signal type 'pdq32' is indexed as PDQ, so its values must be 64 hex"):
        registry.register(HexSignalType("pdq32", 32, (), index=IndexKind.PDQ, file_digest=False))
    assert len(registry) == 0


class _Crc32(HexSignalType):
    """A plug-in as a test would write one: CRC-32 as 8 hex digits, matched by equality."""

    def __init__(self) -> None:
        super().__init__("crc32", 8, ("00000000", "352441c2"))  # CRC-32 of b"" and b"abc"


def test_a_plug_in_passes_the_kit_and_lists_then_normalise_its_values(monkeypatch: pytest.MonkeyPatch) -> None:
    plug_in = _Crc32()
    for check in KIT:
        check(plug_in)
    import vigil.lists.model as model

    assert Signal.of("crc32", " 352441C2 ").value == "352441C2"  # unknown: kept as the list gave it
    monkeypatch.setattr(model, "SIGNALS", SignalRegistry([*SIGNALS, plug_in]))
    assert Signal.of("crc32", " 352441C2 ").value == "352441c2"
    with pytest.raises(MalformedSignal, match="not a crc32 value"):
        Signal.of("crc32", "35244")


def test_a_hash_line_of_a_type_the_matcher_cannot_route_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import vigil.matching.matcher as matcher

    other = HexSignalType("pdq_ocr", 64, PDQ.examples, index=IndexKind.PDQ, file_digest=False)
    monkeypatch.setattr(matcher, "SIGNALS", SignalRegistry([*SIGNALS, other]))
    got = parse_hash_line(f"pdq_ocr {PDQ.examples[0]}")
    assert got.error == "signal type 'pdq_ocr' cannot be matched from a hash line"
    assert parse_hash_line(f"PDQ {PDQ.examples[0].upper()} 80").pdq[0].hash == PDQ.examples[0]
    got = parse_hash_line("tlsh T1AB")
    assert got.error == "unknown signal type 'tlsh' (want md5, sha1, sha256, pdq, vpdq or pdq_ocr)"
