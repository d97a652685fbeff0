"""Fast mode's query windows on a smaller copy of the decode (hashing.photo.WINDOW_QUERY_SIDE, off by
default; bench/window_side.py measures it): the same trimmed boxes, named in the photo's pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vigil.hashing import photo as hphoto
from vigil.hashing.photo import hash_photo
from vigil.signals.mode import Mode


def _captioned() -> bytes:
    """A 2 MP photo under a white caption band: its windows, and those of the box without the band."""
    rng = np.random.default_rng(4)
    photo = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((1600, 1200))
    draw = ImageDraw.Draw(photo)
    for _ in range(40):  # shapes with corners, for anchors
        x, y = rng.integers(0, 1500), rng.integers(0, 1100)
        draw.rectangle((x, y, x + rng.integers(40, 300), y + rng.integers(40, 300)),
                       fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    canvas = Image.new("RGB", (1600, 1500), "white")
    canvas.paste(photo, (0, 300))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    return out.getvalue()


def test_windows_on_a_smaller_copy_keep_the_boxes_in_the_photos_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _captioned()
    assert hphoto.WINDOW_QUERY_SIDE == 0  # off unless a study turns it on
    as_decoded = hash_photo(data, mode=Mode.FAST, variants=True, windows=True)
    monkeypatch.setattr(hphoto, "WINDOW_QUERY_SIDE", 400)
    smaller = hash_photo(data, mode=Mode.FAST, variants=True, windows=True)
    assert as_decoded.windows and smaller.windows
    boxes = {v.view.trimmed for v in as_decoded.windows} - {None}
    assert boxes and {v.view.trimmed for v in smaller.windows} - {None} <= boxes
    assert any(v.view.trimmed is not None for v in smaller.windows)
    assert smaller.variants == as_decoded.variants  # only the windows change
    assert np.array_equal(smaller.pdq.hash, as_decoded.pdq.hash)
