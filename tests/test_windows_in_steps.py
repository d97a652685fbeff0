"""A photo's query windows in two steps (``variants.QueryWindows``): the first step's windows alone,
the rest made only when one of them comes near a listed window (``Matcher`` asks the photo's probe),
and then exactly the windows made at once."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import benign_corpus
from vigil.errors import UsageError
from vigil.hashing.photo import hash_photo
from vigil.lists import Record, Signal
from vigil.lists.importing import import_records
from vigil.matching import Matcher, PdqQuery, Query
from vigil.signals.guided import WindowProbe
from vigil.signals.pdq import hash_rgb, photo_luma
from vigil.signals.variants import QueryWindows, Variant, media_signals, query_variants, query_windows
from vigil.store import Store


def _scene(seed: int) -> np.ndarray:
    return benign_corpus.synthetic_scene(np.random.default_rng([seed, 5]))


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def _crop(rgb: np.ndarray, share: float = 0.12) -> np.ndarray:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[round(share * h) : h - round(share * h), round(share * w) : w - round(share * w)])


def _captioned(rgb: np.ndarray) -> np.ndarray:
    """The photo under a white caption band (a trimmed box for the query's windows)."""
    h, w = rgb.shape[:2]
    out = np.full((h + h // 5, w, 3), 255, np.uint8)
    out[h // 5 :] = rgb
    out[h // 20 : h // 10, w // 4 : 3 * w // 4] = 0
    return out


PHOTOS = {"textured": lambda: _scene(1), "captioned": lambda: _captioned(_scene(2)),
          "low-texture": lambda: benign_corpus.smooth_scene(np.random.default_rng([3, 5]), "landscape")}


@pytest.mark.parametrize("kind", PHOTOS)
def test_the_complete_set_is_what_query_windows_makes_and_the_first_step_a_part_of_it(kind: str) -> None:
    rgb = PHOTOS[kind]()
    steps = QueryWindows(rgb)
    first = steps.first()
    complete = steps.complete()
    assert complete == query_windows(rgb)
    # Each window of the first step is among all of them (a mirrored one's hash may come from a twin
    # window of another scale: it is kept once).
    assert {v.hash for v in first if v.view.orientation == "original"} <= {
        v.hash for v in complete}
    assert 0 < len(first) < len(complete)
    trimmed = [v for v in complete if v.view.trimmed is not None]
    assert [v for v in first if v.view.trimmed is not None] == trimmed  # the trimmed boxes' come first
    assert steps.complete() == complete  # asked again: the same (nothing hashed twice differs)


def _list(tmp_path: Path, photos: dict[str, np.ndarray]) -> Store:
    store = Store.open(tmp_path / "vigil.db")
    records = [Record(name, [Signal.of("pdq", hash_rgb(rgb).hash),
                             *(Signal.of("pdq", d.hash, d.quality, derived=d.derived) for d in media_signals(rgb))])
               for name, rgb in photos.items()]
    import_records(store, "media", records, action="add-media")
    return store


class _Counted:
    """The rest of a photo's windows, counting how often they are made."""

    def __init__(self, steps: QueryWindows) -> None:
        self.steps, self.calls = steps, 0

    def __call__(self) -> list[Variant]:
        self.calls += 1
        return self.steps.complete()


def _query(label: str, rgb: np.ndarray) -> tuple[Query, _Counted]:
    steps = QueryWindows(rgb)
    rest = _Counted(steps)
    views = query_variants(rgb) + steps.first()
    return Query(label, pdq=[PdqQuery(*v) for v in views], probe=WindowProbe(photo_luma(rgb), rest=rest)), rest


def test_a_crop_gets_its_other_windows_and_an_unrelated_photo_never_makes_them(tmp_path: Path) -> None:
    listed = {f"scene{k}": _scene(10 + k) for k in range(3)}
    store = _list(tmp_path, listed)
    matcher = Matcher(store, ["media"])
    for name, rgb in listed.items():
        copy = np.asarray(Image.open(io.BytesIO(_jpeg(_crop(rgb)))).convert("RGB"))
        query, rest = _query(name, copy)
        assert [m.entry for m in matcher.match(query).matches] == [name]
        assert rest.calls == 1
        # The same match as with every window made at once.
        at_once = Query(name, pdq=[PdqQuery(*v) for v in query_variants(copy) + query_windows(copy)],
                        probe=WindowProbe(photo_luma(copy)))
        assert matcher.match(at_once).matches == matcher.match(query).matches
        assert rest.calls == 1  # made once, kept by the probe
    for seed in (40, 41, 42):
        query, rest = _query(f"other{seed}", _scene(seed))
        assert matcher.match(query).matches == []
        assert rest.calls == 0
    store.close()


def test_a_probe_without_steps_has_no_rest_to_make() -> None:
    probe = WindowProbe(photo_luma(_scene(1)))
    assert not probe.in_steps
    with pytest.raises(UsageError, match="all its windows"):
        probe.complete_windows()


def test_hash_photo_in_steps_names_the_rest_in_the_photo_s_pixels() -> None:
    """A large photo is decoded reduced in fast mode; its windows' trimmed boxes are named in its own
    pixels, in both steps alike."""
    big = np.asarray(Image.fromarray(_captioned(_scene(7))).resize((2400, 2160), Image.Resampling.BICUBIC))
    data = _jpeg(big)
    at_once = hash_photo(data, variants=True, windows=True)
    steps = hash_photo(data, variants=True, windows=True, windows_in_steps=True)
    assert steps.probe is not None and steps.probe.in_steps
    assert at_once.probe is not None and not at_once.probe.in_steps
    assert steps.windows is not None and at_once.windows is not None
    assert len(steps.windows) < len(at_once.windows)
    assert steps.probe.complete_windows() == at_once.windows
    assert any(v.view.trimmed is not None and v.view.trimmed.bottom > 1500 for v in at_once.windows)
    assert steps.pdq == at_once.pdq and steps.variants == at_once.variants
