"""Guided windows: one matched window of a listed photo puts the others in the copy, and a copy has
them there while an unrelated photo does not (``vigil.signals.guided``, and through the matcher)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import benign_corpus
from vigil.lists import Record, Signal
from vigil.lists.importing import import_records
from vigil.matching import Matcher, PdqQuery, Query
from vigil.signals.guided import GUIDED_RADIUS, WindowProbe, confirm, find, look
from vigil.signals.pdq import hash_rgb, photo_luma
from vigil.signals.variants import media_signals
from vigil.signals.views import Box, View, Window
from vigil.store import Store

CROP = (0.12, 0.11, 0.13, 0.12)  # cut from the top, bottom, left and right


def jpeg(rgb: np.ndarray, quality: int = 85) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def smooth(kind: str, seed: int = 0) -> np.ndarray:
    return benign_corpus.smooth_scene(np.random.default_rng([seed, 77]), kind)


def listed_seed(kind: str) -> int:
    """The first scene of the kind with a window that a 12% crop keeps whole (a seed needs one: a
    photo with none is found by no window, guided or not)."""
    for seed in range(10):
        photo = smooth(kind, seed)
        _, kept = crop(photo)
        if any(inside(d.window, kept) for d in media_signals(photo)):
            return seed
    raise AssertionError(f"no {kind} scene keeps a window")


def listed_photo(kind: str) -> np.ndarray:
    return smooth(kind, listed_seed(kind))


def listed_windows(photo: np.ndarray) -> tuple[list[Window], np.ndarray, list[str]]:
    derived = media_signals(photo)
    assert derived, "a listed photo of this corpus has windows"
    bits = np.frombuffer(bytes.fromhex("".join(d.hash for d in derived)), np.uint8).reshape(-1, 32)
    return [d.window for d in derived], bits, [d.hash for d in derived]


def crop(photo: np.ndarray, cut: tuple[float, float, float, float] = CROP) -> tuple[np.ndarray, tuple[float, ...]]:
    """The photo cut by ``cut`` (shares of its height and width), as a JPEG copy; and the kept part
    as (left, top, width, height) shares of the photo."""
    h, w = photo.shape[:2]
    top, bottom, left, right = round(cut[0] * h), h - round(cut[1] * h), round(cut[2] * w), w - round(cut[3] * w)
    kept = (left / w, top / h, (right - left) / w, (bottom - top) / h)
    return jpeg(np.ascontiguousarray(photo[top:bottom, left:right])), kept


def seen_in_copy(window: Window, kept: tuple[float, ...], mirrored: bool = False) -> Window:
    """Where a window of the listed photo lies in a copy that kept ``kept`` of it (mirrored, if so)."""
    left, top, width, height = kept
    x0 = (window.left / 100 - left) / width
    x1 = (1 - window.right / 100 - left) / width
    y0 = (window.top / 100 - top) / height
    y1 = (1 - window.bottom / 100 - top) / height
    if mirrored:
        x0, x1 = 1 - x1, 1 - x0
    return Window.cut(100 * x0, 100 * y0, 100 - 100 * x1, 100 - 100 * y1)


def inside(window: Window, kept: tuple[float, ...]) -> bool:
    w = seen_in_copy(window, kept)
    return min(w.left, w.top, w.right, w.bottom) >= 1


@pytest.mark.parametrize("kind", benign_corpus.SMOOTH_KINDS)
def test_one_window_puts_the_others_where_a_crop_keeps_them(kind: str) -> None:
    photo = listed_photo(kind)
    copy, kept = crop(photo)
    windows, bits, _ = listed_windows(photo)
    seed = next(w for w in windows if inside(w, kept))
    found = look(WindowProbe(photo_luma(copy)), View(window=seen_in_copy(seed, kept)), seed, windows, bits)
    assert len(found) >= 3  # the crop keeps others ...
    close = [f for f in found if f.distance <= GUIDED_RADIUS]
    assert len(close) >= 0.6 * len(found)  # ... and the copy has most of them where the seed says
    assert confirm(WindowProbe(photo_luma(copy)), [(View(window=seen_in_copy(seed, kept)), seed, 12)],
                   windows, bits) is not None


@pytest.mark.parametrize("kind", benign_corpus.SMOOTH_KINDS)
def test_the_same_seed_in_an_unrelated_photo_confirms_nothing(kind: str) -> None:
    listed = listed_seed(kind)
    photo = smooth(kind, listed)
    _, kept = crop(photo)
    windows, bits, _ = listed_windows(photo)
    seeds = [(View(window=seen_in_copy(w, kept)), w, 20) for w in windows if inside(w, kept)][:3]
    for seed in (s for s in range(6) if s != listed):
        # Other scenes of the same kind, and of the same style (palette and size) as the listed one
        others = [smooth(kind, seed), benign_corpus.smooth_scene(np.random.default_rng([listed, 77]), kind,
                                                                  np.random.default_rng([seed, 5]))]
        for other in others:
            copy, _ = crop(other)
            assert confirm(WindowProbe(photo_luma(copy)), seeds, windows, bits) is None


def test_a_mirrored_copy_is_looked_at_mirrored() -> None:
    photo = listed_photo("landscape")
    copy, kept = crop(photo)
    mirrored = np.ascontiguousarray(copy[:, ::-1])
    windows, bits, _ = listed_windows(photo)
    seed = next(w for w in windows if inside(w, kept))
    # The copy's window, mirrored, matched the listed one: the query names it "flipy".
    as_found = View("flipy", window=seen_in_copy(seed, kept, mirrored=True))
    assert confirm(WindowProbe(photo_luma(mirrored)), [(as_found, seed, 10)], windows, bits)
    # Taken the other way round (not mirrored), the same match puts every window in the wrong place.
    wrong = View(window=seen_in_copy(seed, kept, mirrored=True))
    assert confirm(WindowProbe(photo_luma(mirrored)), [(wrong, seed, 10)], windows, bits) is None


def test_a_copy_inside_a_screenshot_is_looked_at_in_its_trimmed_box() -> None:
    photo = listed_photo("abstract")
    copy, kept = crop(photo)
    h, w = copy.shape[:2]
    page = np.full((h + 240, w + 160, 3), 245, np.uint8)
    page[100 : 100 + h, 60 : 60 + w] = copy
    box = Box(100, 100 + h, 60, 60 + w)
    windows, bits, _ = listed_windows(photo)
    seed = next(w for w in windows if inside(w, kept))
    view = View(trimmed=box, window=seen_in_copy(seed, kept))
    assert confirm(WindowProbe(photo_luma(page)), [(view, seed, 10)], windows, bits)
    # A probe of a reduced decode names boxes in the photo's own pixels all the same.
    half = np.asarray(Image.fromarray(page).resize((page.shape[1] // 2, page.shape[0] // 2), Image.Resampling.BOX))
    probe = WindowProbe(photo_luma(half), (page.shape[1], page.shape[0]))
    assert confirm(probe, [(view, seed, 10)], windows, bits)
    # The same window taken as one of the whole page puts the rest outside the photo.
    assert confirm(WindowProbe(photo_luma(page)), [(View(window=view.window), seed, 10)], windows, bits) is None


@pytest.mark.parametrize("kind", ["sky", "abstract"])
def test_a_window_paired_wrongly_again_and_again_does_not_hide_the_right_seeds(kind: str) -> None:
    """A near-flat window of a copy can match several listed windows, and near-twin windows of the copy
    one listed window, closer than the right pairings: each listed window is tried as a seed once."""
    photo = listed_photo(kind)
    copy, kept = crop(photo)
    windows, bits, _ = listed_windows(photo)
    kept_windows = [w for w in windows if inside(w, kept)]
    right, second, other = kept_windows[0], kept_windows[1], kept_windows[-1]
    wrong = [(View(window=seen_in_copy(other, kept)), right, d) for d in (2, 3, 4)]  # right's pairing, misplaced
    probe = WindowProbe(photo_luma(copy))
    assert confirm(probe, wrong, windows, bits) is None  # one listed window: one seed, and a wrong one
    good = (View(window=seen_in_copy(second, kept)), second, 12)
    assert confirm(probe, [*wrong, good], windows, bits) == (good[0], 12)  # the next seed is another pairing


def test_a_seed_no_plausible_crop_explains_is_not_followed() -> None:
    photo = smooth("sky")
    copy, _ = crop(photo)
    windows, bits, _ = listed_windows(photo)
    small = Window.cut(40, 40, 40, 40)  # 20% of the listed photo ...
    assert look(WindowProbe(photo_luma(copy)), View(window=Window.cut(0, 0, 0, 0)), small, windows, bits) == []
    # ... shown as the whole copy (5x), or stretched 3x more along one axis than the other
    assert look(WindowProbe(photo_luma(copy)), View(window=Window.cut(20, 40, 20, 0)), small, windows, bits) == []
    assert look(WindowProbe(photo_luma(copy)), View(), small, windows, bits) == []  # not a window at all


def _list(tmp_path: pytest.TempPathFactory | object, photos: dict[str, np.ndarray]) -> Store:
    store = Store.open(tmp_path / "vigil.db")  # type: ignore[operator]
    records = [Record(name, [Signal.of("pdq", hash_rgb(rgb).hash),
                             *(Signal.of("pdq", d.hash, d.quality, derived=d.derived) for d in media_signals(rgb))])
               for name, rgb in photos.items()]
    import_records(store, "media", records, action="add-media")
    return store


def _three(photo: np.ndarray, kept: tuple[float, ...]) -> list[PdqQuery]:
    """Three different windows of a crop of ``photo`` that matched the listed ones (as their own hashes
    here), at the places the crop puts them: they agree on it."""
    windows, _, hashes = listed_windows(photo)
    three: list[PdqQuery] = []
    for k, w in enumerate(windows):
        where = seen_in_copy(w, kept)
        sides = (where.left, where.top, where.right, where.bottom)
        if inside(w, kept) and all(max(abs(a - b) for a, b in zip(sides, (q.view.window.left, q.view.window.top,
                                                                          q.view.window.right, q.view.window.bottom),
                                                                  strict=True)) > 6
                                   for q in three if q.view.window is not None):
            three.append(PdqQuery(View(window=where), hashes[k], 60))
        if len(three) == 3:
            return three
    raise AssertionError("the crop keeps fewer than three different windows")


def test_the_matcher_confirms_agreeing_windows_in_the_photo_at_hand(tmp_path: object) -> None:
    photos = {kind: listed_photo(kind) for kind in benign_corpus.SMOOTH_KINDS}
    store = _list(tmp_path, photos)
    matcher = Matcher(store, ["media"])
    for kind, photo in photos.items():
        copy, kept = crop(photo)
        three = _three(photo, kept)
        assert [m.entry for m in matcher.match(Query("copy", pdq=three)).matches] == [kind]
        confirmed = matcher.match(Query("copy", pdq=three, probe=WindowProbe(photo_luma(copy)))).matches
        assert [m.entry for m in confirmed] == [kind]
        # One window is no match without the photo; with it at hand, four more found where it puts
        # them make one (guided.find), and not in an unrelated photo.
        one = three[:1]
        assert matcher.match(Query("copy", pdq=one)).matches == []
        assert [m.entry for m in matcher.match(Query("copy", pdq=one, probe=WindowProbe(photo_luma(copy)))).matches] \
            == [kind]
        other, _ = crop(smooth(kind, listed_seed(kind) + 1))
        assert matcher.match(Query("other", pdq=one, probe=WindowProbe(photo_luma(other)))).matches == []
    store.close()


@pytest.mark.parametrize("kind", ["sky", "abstract"])
def test_windows_found_alone_must_have_the_listed_ones_contrast(kind: str) -> None:
    """PDQ does not see contrast, its quality does: a soft shape of another photo in the same place
    hashes alike, and only its contrast tells it apart. Finding without agreeing windows asks for the
    listed windows' quality (as a list keeps it) to 15%; confirming agreeing windows, to 30%."""
    photo = listed_photo(kind)
    windows, bits, _ = listed_windows(photo)
    quality = np.array([d.quality for d in media_signals(photo)], np.int16)
    copy, kept = crop(photo)
    seed = next(w for w in windows if inside(w, kept))
    matched = [(View(window=seen_in_copy(seed, kept)), seed, 10)]
    probe = WindowProbe(photo_luma(copy))
    assert find(probe, matched, windows, bits, quality) is not None
    assert find(probe, matched, windows, bits, quality // 2) is None  # listed windows of half the contrast
    assert find(probe, matched, windows, bits, np.full_like(quality, -1)) is not None  # not known: not asked
    assert confirm(probe, matched, windows, bits) is not None
    assert confirm(probe, matched, windows, bits, listed_quality=quality) is not None
    assert confirm(probe, matched, windows, bits, listed_quality=quality // 2) is None
    three_quarters = (quality * 3) // 4
    assert confirm(probe, matched, windows, bits, listed_quality=three_quarters) is not None
    assert find(probe, matched, windows, bits, three_quarters) is None


def test_windows_that_agree_by_chance_are_no_match_once_the_photo_is_looked_at(tmp_path: object) -> None:
    """Three windows at places one crop explains match by the agreement rule alone (a query without
    its photo, as a library caller may make); with the photo at hand, the listed photo's windows
    are looked for there as well, and an unrelated photo does not have them."""
    photo = listed_photo("sky")
    store = _list(tmp_path, {"sky": photo})
    matcher = Matcher(store, ["media"])
    _, kept = crop(photo)
    three = _three(photo, kept)
    assert [m.entry for m in matcher.match(Query("copy", pdq=three)).matches] == ["sky"]
    other, _ = crop(smooth("sky", listed_seed("sky") + 1))
    assert matcher.match(Query("other", pdq=three, probe=WindowProbe(photo_luma(other)))).matches == []
    store.close()
