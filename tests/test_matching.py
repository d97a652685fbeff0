"""Matching signals against lists in a store: exact, PDQ with variants, vPDQ, revocation, allow-lists."""

from __future__ import annotations

import random

import pytest

from vigil.errors import UsageError
from vigil.lists import ListKind, Record, Signal, import_records, revoke
from vigil.lists.settings import ListSettings
from vigil.matching import Matcher, PdqQuery, Query, parse_hash_line
from vigil.signals.views import ORIGINAL, View
from vigil.signals.vpdq import VpdqFeature
from vigil.store import Store

RNG = random.Random(7)


def random_pdq() -> str:
    return f"{RNG.getrandbits(256):064x}"


def flip(hexhash: str, bits: int) -> str:
    value = int(hexhash, 16)
    for b in RNG.sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


def test_exact_digests_match_with_distance_zero(store: Store) -> None:
    import_records(store, "l", [Record("a", [Signal.of("md5", "AB" * 16), Signal.of("sha1", "cd" * 20)], "1",
                                       "projectvic-us")])
    matcher = Matcher(store)
    [hit] = matcher.match(Query("x", digests={"md5": "ab" * 16})).matches
    assert (hit.list, hit.entry, hit.signal, hit.distance, hit.variant, hit.category) == \
        ("l", "a", "md5", 0, "original", "1")
    assert matcher.match(Query("y", digests={"md5": "00" * 16})).matches == []
    # one entry matched by two signals is reported once
    both = matcher.match(Query("z", digests={"md5": "ab" * 16, "sha1": "cd" * 20}))
    assert [m.entry for m in both.matches] == ["a"]


def test_pdq_matches_at_the_threshold_and_names_the_variant(store: Store) -> None:
    base = random_pdq()
    import_records(store, "l", [Record("e1", [Signal.of("pdq", base)])] +
                   [Record(f"r{i}", [Signal.of("pdq", random_pdq())]) for i in range(2000)])
    matcher = Matcher(store)
    at31 = matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, flip(base, 31), 100)]))
    assert [(m.entry, m.distance) for m in at31.matches] == [("e1", 31)]
    assert matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, flip(base, 32), 100)])).matches == []
    mirrored = matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, random_pdq(), 100),
                                             PdqQuery(View("flipy"), flip(base, 5), 100)]))
    assert [(m.entry, m.variant, m.distance) for m in mirrored.matches] == [("e1", "flipy", 5)]
    # quality gate: a query hash under 50 does not match
    assert matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, base, 49)])).matches == []


def test_per_list_threshold(store: Store) -> None:
    base = random_pdq()
    import_records(store, "strict", [Record("e", [Signal.of("pdq", base)])], settings=ListSettings(pdq_threshold=10))
    matcher = Matcher(store)
    assert matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, flip(base, 10), 100)])).matches
    assert not matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, flip(base, 11), 100)])).matches


def test_revocation_stops_matching_at_once_without_recompiling(store: Store) -> None:
    base = random_pdq()
    import_records(store, "l", [Record("e", [Signal.of("pdq", base), Signal.of("md5", "11" * 16)])])
    matcher = Matcher(store)
    assert matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, base, 100)])).matches
    revoke(store, "l", ["e"])
    assert matcher.match(Query("q", pdq=[PdqQuery(ORIGINAL, base, 100)])).matches == []
    assert Matcher(store).match(Query("q", digests={"md5": "11" * 16})).matches == []


def test_an_allow_list_match_suppresses_block_matches(store: Store) -> None:
    base = random_pdq()
    import_records(store, "bad", [Record("b", [Signal.of("pdq", base)])])
    import_records(store, "benign", [Record("meme-template", [Signal.of("pdq", flip(base, 3))])],
                   kind=ListKind.ALLOW)
    result = Matcher(store).match(Query("q", pdq=[PdqQuery(ORIGINAL, base, 100)]))
    assert result.matches == []
    assert [m.entry for m in result.allowed] == ["meme-template"]
    assert [m.entry for m in result.suppressed] == ["b"]
    only_bad = Matcher(store, ["bad"]).match(Query("q", pdq=[PdqQuery(ORIGINAL, base, 100)]))
    assert [m.entry for m in only_bad.matches] == ["b"]


def test_unknown_list_names_are_a_usage_error(store: Store) -> None:
    with pytest.raises(UsageError, match="no lists yet"):
        Matcher(store)
    import_records(store, "l", [Record("e", [Signal.of("md5", "11" * 16)])])
    with pytest.raises(UsageError, match="no list named 'x'"):
        Matcher(store, ["x"])


def _video(hashes: list[str], quality: int = 100) -> str:
    return "\n".join(VpdqFeature(i, quality, h, float(i)).to_line() for i, h in enumerate(hashes))


def test_video_matching_follows_the_reference_percentages(store: Store) -> None:
    frames = [random_pdq() for _ in range(10)]
    other = [random_pdq() for _ in range(10)]
    import_records(store, "v", [Record("clip", [Signal.of("vpdq", _video(frames))]),
                                Record("other", [Signal.of("vpdq", _video(other))])])
    matcher = Matcher(store)

    def query(hashes: list[str], quality: int = 100) -> Query:
        return Query("q", vpdq=[VpdqFeature(i, quality, h, float(i)) for i, h in enumerate(hashes)])

    # a clip of 8 of the 10 frames, each a few bits off, plus one duplicate frame: 100% of the query
    clip = [flip(h, 4) for h in frames[1:9]]
    [hit] = matcher.match(query(clip + clip[:1])).matches
    assert (hit.entry, hit.signal, hit.query_percent, hit.list_percent) == ("clip", "vpdq", 100.0, 80.0)
    # 4 of 5 query frames match (80%): a match; 3 of 5 (60%) is not
    assert matcher.match(query([*frames[:4], random_pdq()])).matches
    assert not matcher.match(query([*frames[:3], random_pdq(), random_pdq()])).matches
    # frames under the quality gate are left out entirely
    assert not matcher.match(query(frames, quality=40)).matches


def test_hash_lines() -> None:
    assert parse_hash_line("MD5 " + "AB" * 16).digests == {"md5": "ab" * 16}
    q = parse_hash_line("pdq " + "0f" * 32 + " 80")
    assert q.pdq == [PdqQuery(ORIGINAL, "0f" * 32, 80)]
    assert "unknown signal type" in (parse_hash_line("tmk 1234").error or "")
    assert "not a md5 value" in (parse_hash_line("md5 1234").error or "")
