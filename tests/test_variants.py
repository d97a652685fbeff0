"""Query variants (orientations, trimmed borders) and media-backed windows find edited copies."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import benign_corpus
from conftest import BUNDLED_REFDATA
from vigil.hashing.photo import VARIANT_MIN_SIDE, hash_photo
from vigil.signals.pdq import DIHEDRAL_NAMES, dihedral_rgb, distance, hash_rgb
from vigil.signals.variants import (
    DESCRIPTIONS,
    FRAME_WINDOWS,
    WINDOW_MIN_QUALITY,
    Box,
    Variant,
    content_boxes,
    media_signals,
    query_variants,
    query_windows,
    windows_agree,
)
from vigil.signals.views import ORIGINAL, View, Window

BRIDGE = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"
THRESHOLD = 31


def scene(seed: int) -> np.ndarray:
    return benign_corpus.synthetic_scene(np.random.default_rng([seed, 99]))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def best(variants: list[Variant], target: str) -> tuple[int, str]:
    return min((distance(v.hash, target), v.name) for v in variants)


def near(box: Box, expected: Box, slack: int) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(box, expected, strict=True))


def text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], words: str, size: int, fill: tuple[int, int, int]) -> None:
    draw.text(xy, words, font=ImageFont.load_default(size=size), fill=fill)


# ---------------------------------------------------------------- orientations


def test_orientations_come_first_under_metas_names() -> None:
    photo = np.asarray(Image.open(BRIDGE).convert("RGB"))
    variants = query_variants(photo)
    hashes, quality = dihedral_rgb(photo)
    assert [v.name for v in variants[:8]] == list(DIHEDRAL_NAMES)
    assert all(v.hash == hashes[v.name] and v.quality == quality for v in variants[:8])


def test_a_mirrored_or_turned_copy_matches_through_its_orientation() -> None:
    photo = scene(1)
    listed = hash_rgb(photo).hash
    for copy in (photo[:, ::-1], np.rot90(photo), np.rot90(photo, 2)[:, ::-1]):
        assert best(query_variants(np.ascontiguousarray(copy)), listed)[0] <= 8


def test_every_variant_name_is_described() -> None:
    assert set(DIHEDRAL_NAMES) | {"trimmed", "window", "enlarged"} <= set(DESCRIPTIONS)


def thumbnail(rgb: np.ndarray, share: float) -> np.ndarray:
    image = Image.fromarray(rgb)
    small = image.resize((round(image.width * share), round(image.height * share)), Image.Resampling.BILINEAR)
    return jpeg(np.asarray(small), 75)


def test_a_thumbnail_is_also_looked_up_enlarged_and_comes_nearer_its_original() -> None:
    plain, enlarged = [], []
    for seed in range(8):
        photo = scene(seed)
        listed = hash_rgb(photo).hash
        variants = query_variants(thumbnail(photo, 0.15))
        names = [v.name for v in variants]
        assert names[:8] == list(DIHEDRAL_NAMES) and "enlarged" in names and "enlarged flipy" in names
        plain.append(distance(variants[0].hash, listed))
        enlarged.append(min(distance(v.hash, listed) for v in variants if v.view.enlarged))
    # PDQ smooths a thumbnail over a pixel or two where it smoothed the photo over eight: enlarged
    # first, it is smoothed alike, and its hash comes nearer the listed one.
    assert max(enlarged) <= THRESHOLD and np.median(enlarged) < np.median(plain)
    assert not any(v.view.enlarged for v in query_variants(scene(1)))  # not a thumbnail: as before


@pytest.mark.parametrize("long_side", [200, 460])  # fast mode decodes the second at half size for PDQ
def test_a_thumbnail_file_gets_its_enlarged_variants_in_fast_mode(long_side: int) -> None:
    photo = scene(3)
    buf = io.BytesIO()
    Image.fromarray(thumbnail(photo, long_side / max(photo.shape[:2]))).save(buf, format="PNG")  # no border
    found = hash_photo(buf.getvalue(), variants=True).variants
    assert found is not None and any(v.view.enlarged for v in found)


# ---------------------------------------------------------------- trimmed borders


def test_letterbox_bars_are_trimmed_to_the_pixel() -> None:
    photo = scene(2)
    h, w = photo.shape[:2]
    framed = np.zeros((h + 130, w, 3), np.uint8)
    framed[70 : 70 + h] = photo
    assert Box(70, 70 + h, 0, w) in content_boxes(framed)
    variants = query_variants(framed)
    assert best(variants, hash_rgb(photo).hash) == (0, f"trimmed {w}x{h}+0+70")


def landscape(width: int, height: int, seed: int) -> np.ndarray:
    """A flat-coloured landscape: a sky fading row by row, a jagged ridge of hills, a calm lake."""
    rng = np.random.default_rng(seed)
    photo = np.zeros((height, width, 3), np.uint8)
    sky_end, lake_start = int(height * 0.4), int(height * 0.8)
    for y in range(sky_end):  # every row of the sky is one flat colour, as a page's rows are
        photo[y] = (40 + 60 * y // sky_end, 90 + 80 * y // sky_end, 200)
    ridge = sky_end + (np.cumsum(rng.normal(0, 3, width)) % (lake_start - sky_end - 10)).astype(int)
    for x in range(width):
        photo[sky_end:ridge[x], x] = photo[sky_end - 1, x]
        photo[ridge[x]:lake_start, x] = (30 + x * 60 // width, 90, 40)
    photo[lake_start:] = (20, 60, 120)
    return photo


def test_a_landscape_in_a_screenshot_keeps_its_flat_sky_and_lake() -> None:
    width = 540
    photo = landscape(width, 400, 3)
    shot = Image.new("RGB", (width, 1100), (250, 250, 250))
    shot.paste(Image.new("RGB", (width, 40), (20, 20, 20)), (0, 0))  # status bar
    shot.paste(Image.new("RGB", (width, 70), (30, 120, 90)), (0, 40))  # app bar
    draw = ImageDraw.Draw(shot)
    text(draw, (16, 60), "holiday album", 26, (255, 255, 255))
    shot.paste(Image.fromarray(photo), (0, 150))
    for k in range(14):  # comments below the photo, on the page's colour
        text(draw, (12, 575 + 34 * k), "view from the ridge over the lake " * (1 + k % 2), 20, (40, 40, 40))
    rgb = np.asarray(shot)
    # The sky's rows and the lake's are flat, so trimming canvas takes them too; the page's colour frames the photo.
    assert any(near(box, Box(150, 550, 0, width), 3) for box in content_boxes(rgb))
    assert best(query_variants(rgb), hash_rgb(photo).hash)[0] <= THRESHOLD


@pytest.mark.parametrize("seed", [5, 13, 23])
def test_a_photo_between_lines_of_the_page_is_found_where_the_peelers_take_it_all_for_canvas(seed: int) -> None:
    # Landscapes of flat bands of hills under a sky fading row by row, in phone screenshots: to the
    # canvas peeler every row is canvas or a line of text, and it peels the whole image; the photo is
    # the longest run of rows with no row of the page's colour.
    photo = benign_corpus.smooth_scene(np.random.default_rng([seed, 98]), "landscape")
    shot = benign_corpus.make_edits(photo, np.random.default_rng([seed, 97]))["screenshot"]
    assert best(query_variants(shot), hash_rgb(photo).hash)[0] <= THRESHOLD


def test_jpeg_noisy_pillarbox_is_trimmed() -> None:
    photo = scene(3)
    h, w = photo.shape[:2]
    framed = np.full((h, w + 200, 3), 255, np.uint8)
    framed[:, 90 : 90 + w] = photo
    noisy = jpeg(framed, 40)
    assert any(near(box, Box(0, h, 90, 90 + w), 4) for box in content_boxes(noisy))
    assert best(query_variants(noisy), hash_rgb(photo).hash)[0] <= THRESHOLD


def test_photo_in_a_screenshot_with_bars_and_text_is_found() -> None:
    photo = scene(4)
    h, w = photo.shape[:2]
    canvas = Image.new("RGB", (w + 80, h + 420), (246, 246, 240))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, 30), fill=(20, 20, 20))  # status bar with the time and icons
    text(draw, (12, 6), "12:41", 16, (255, 255, 255))
    for i in range(3):
        draw.rectangle((canvas.width - 30 - 24 * i, 9, canvas.width - 16 - 24 * i, 21), fill=(255, 255, 255))
    draw.rectangle((0, 30, canvas.width, 90), fill=(60, 90, 200))  # app bar with a title
    text(draw, (16, 46), "holiday album", 24, (255, 255, 255))
    canvas.paste(Image.fromarray(photo), (40, 130))
    for i in range(6):  # caption, likes and comments below
        text(draw, (40, h + 150 + 34 * i), "lovely view from the train station this morning", 18, (30, 30, 30))
    shot = jpeg(np.asarray(canvas), 85)
    assert any(near(box, Box(130, 130 + h, 40, 40 + w), 4) for box in content_boxes(shot))
    assert best(query_variants(shot), hash_rgb(photo).hash)[0] <= THRESHOLD


def test_meme_caption_bar_is_trimmed() -> None:
    photo = scene(5)
    h, w = photo.shape[:2]
    meme = Image.new("RGB", (w, h + h // 5), (255, 255, 255))
    meme.paste(Image.fromarray(photo), (0, h // 5))
    text(ImageDraw.Draw(meme), (w // 10, h // 20), "when you see it", h // 10, (0, 0, 0))
    variants = query_variants(jpeg(np.asarray(meme), 90))
    assert best(variants, hash_rgb(photo).hash)[0] <= THRESHOLD


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_a_photo_without_borders_has_no_trimmed_variant(seed: int) -> None:
    photo = scene(seed)
    assert content_boxes(photo) == []
    assert not any(v.name.startswith("trimmed") for v in query_variants(photo))


@pytest.mark.parametrize("shape", [(300, 200, 3), (1, 1, 3), (3, 40, 3), (16, 16, 3)])
def test_blank_and_tiny_images_give_one_variant_and_no_windows(shape: tuple[int, int, int]) -> None:
    black = np.zeros(shape, np.uint8)
    variants = query_variants(black)
    assert [v.name for v in variants] == ["original"]  # all eight orientations hash alike
    assert variants[0].quality < 50
    assert content_boxes(black) == []
    assert media_signals(black) == []
    assert query_windows(black) == []


@pytest.mark.parametrize("bad", [np.zeros((20, 20), np.uint8), np.zeros((20, 20, 4), np.uint8),
                                 np.zeros((20, 20, 3), np.float32), [[0, 0, 0]]])
def test_anything_but_an_rgb_array_is_refused_with_what_is_expected(bad: object) -> None:
    for function in (query_variants, content_boxes, media_signals, query_windows):
        with pytest.raises(ValueError, match=r"height x width x 3 uint8 array"):
            function(bad)  # type: ignore[operator]


# ---------------------------------------------------------------- views: typed values, labels for people


def test_views_render_the_labels_reports_and_lists_use() -> None:
    box = Box(120, 600, 0, 640)
    window = Window.cut(12.54, 3.1, 40.0, 22.66)
    assert ORIGINAL.label == "original" and ORIGINAL.is_original
    assert View("flipy").label == "flipy" and not View("flipy").is_original
    assert View(trimmed=box).label == "trimmed 640x480+0+120"
    assert View(enlarged=True).label == "enlarged"
    assert View("rotate90", box, enlarged=True).label == "trimmed 640x480+0+120 enlarged rotate90"
    assert View("rotate90", box).label == "trimmed 640x480+0+120 rotate90"
    assert window.label == "window l12.5 t3.1 r40.0 b22.7"
    assert window.mirror().label == "window l12.5 t3.1 r40.0 b22.7 mirrored"
    assert View(trimmed=box, window=window).label == "trimmed 640x480+0+120 window l12.5 t3.1 r40.0 b22.7"
    assert Window.parse(window.mirror().label) == window.mirror()
    assert Window.parse("crop 10%") is None and Window.parse("window l1 t2") is None
    # A box found on a decode at 1/4 size, named in the photo's own pixels (and never past its edge).
    assert View(trimmed=Box(30, 150, 0, 160)).scaled(4, 640, 590).trimmed == Box(120, 590, 0, 640)
    assert View("flipx").scaled(4, 640, 590) == View("flipx")


# ---------------------------------------------------------------- media-backed windows


def test_media_signals_are_deterministic_and_labelled() -> None:
    photo = scene(9)
    signals = media_signals(photo)
    assert signals == media_signals(photo.copy())
    assert 2 <= len(signals) <= 546
    label = re.compile(r"^window l\d+\.\d t\d+\.\d r\d+\.\d b\d+\.\d$")  # mirrors are the query's to make
    assert all(label.match(s.derived) and s.quality >= WINDOW_MIN_QUALITY for s in signals)
    queries = query_windows(photo)
    assert [q.view.window for q in queries if q.view.orientation == "flipy"] == [
        q.view.window for q in queries if q.view.orientation == "original"]  # each window with its mirror image
    assert len({s.hash for s in signals}) == len(signals)
    assert all(Window.parse(s.derived) == s.window for s in signals)  # the stored label reads back as its window


def test_windows_find_an_uneven_crop_and_a_mirrored_one() -> None:
    photo = scene(11)  # windows find about 95% of 12% crops (bench/edit_recall.py); this is one of them
    h, w = photo.shape[:2]
    listed = media_signals(photo)
    cropped = jpeg(np.ascontiguousarray(photo[round(0.1 * h) : h - round(0.02 * h), round(0.09 * w) : w - 3]), 80)
    mirrored = np.ascontiguousarray(cropped[:, ::-1])
    assert best(query_variants(cropped), hash_rgb(photo).hash)[0] > THRESHOLD  # plain PDQ misses it
    for copy in (cropped, mirrored):
        queries = query_windows(copy)
        assert min(distance(q.hash, d.hash) for q in queries for d in listed) <= THRESHOLD


@pytest.mark.parametrize("kind", benign_corpus.SMOOTH_KINDS)
def test_windows_find_a_smooth_photo_cropped_12_percent_a_side(kind: str) -> None:
    """Sky, gradients, soft abstract shapes and hazy hills have few strong corners and low-contrast
    windows; a crop of 12% from every side still leaves two windows that agree."""
    for seed in range(20):  # the first scene of the kind that PDQ can hash at all (quality >= 50)
        photo = benign_corpus.smooth_scene(np.random.default_rng([seed, 77]), kind)
        if hash_rgb(photo).quality >= 50:
            break
    h, w = photo.shape[:2]
    listed = {d.hash: d.window for d in media_signals(photo)}
    top, bottom, left, right = round(0.12 * h), h - round(0.11 * h), round(0.13 * w), w - round(0.12 * w)
    copy = jpeg(np.ascontiguousarray(photo[top:bottom, left:right]), 85)
    matches = [(q.view, window) for q in query_windows(copy) for hexhash, window in listed.items()
               if distance(q.hash, hexhash) <= THRESHOLD]
    assert windows_agree(matches)


def test_a_real_crop_has_windows_that_agree() -> None:
    photo = scene(12)
    h, w = photo.shape[:2]
    listed = {d.hash: d.window for d in media_signals(photo)}
    copy = jpeg(np.ascontiguousarray(photo[round(0.03 * h) : h - round(0.05 * h), round(0.08 * w) :]), 85)
    matches = [(q.view, window) for q in query_windows(copy) for hexhash, window in listed.items()
               if distance(q.hash, hexhash) <= THRESHOLD]
    assert len(matches) >= 2
    assert windows_agree(matches)


def _label(x0: float, y0: float, x1: float, y1: float, mirrored: bool = False) -> Window:
    """The window of the box x0..x1, y0..y1 (fractions)."""
    return Window.cut(100 * x0, 100 * y0, 100 - 100 * x1, 100 - 100 * y1, mirrored)


def _found(x0: float, y0: float, x1: float, y1: float, trimmed: Box | None = None) -> View:
    """A query window at the box x0..x1, y0..y1 (fractions) of the photo or of a trimmed box of it."""
    return View(trimmed=trimmed, window=_label(x0, y0, x1, y1))


def _cropped(box: tuple[float, float, float, float], left: float, top: float, keep_w: float, keep_h: float,
             mirror: bool = False) -> tuple[float, float, float, float]:
    """Where a window of the listed photo lies in a copy keeping keep_w x keep_h from (left, top)."""
    x0, y0, x1, y1 = ((box[0] - left) / keep_w, (box[1] - top) / keep_h,
                      (box[2] - left) / keep_w, (box[3] - top) / keep_h)
    return (1 - x1, y0, 1 - x0, y1) if mirror else (x0, y0, x1, y1)


def test_windows_agree_only_when_one_crop_explains_three_different_ones() -> None:
    a, b, c = (0.10, 0.10, 0.50, 0.50), (0.30, 0.20, 0.90, 0.80), (0.05, 0.40, 0.60, 0.95)
    crop = (0.05, 0.02, 0.88, 0.90)  # cut 5% left, 2% top, keep 88% x 90%
    found_a, found_b, found_c = (_found(*_cropped(w, *crop)) for w in (a, b, c))
    three = [(found_a, _label(*a)), (found_b, _label(*b)), (found_c, _label(*c))]
    assert windows_agree(three)
    assert not windows_agree(three[:2])  # two can line up by chance among thousands of photos ...
    assert windows_agree(three[:2], FRAME_WINDOWS)  # ... but do for a video's frame
    assert not windows_agree([(found_a, _label(*a))], 1 + 1)  # one window can match by chance
    assert not windows_agree([three[0], three[0], three[1]])  # the same window twice is one
    twin = (a[0] + 0.01, a[1], a[2], a[3] + 0.01)  # a window a pixel or two from another is not a second one
    assert not windows_agree([*three[:2], (_found(*_cropped(twin, *crop)), _label(*twin))])
    x0, y0, x1, y1 = (v + 0.05 for v in _cropped(c, *crop))
    assert not windows_agree([*three[:2], (_found(x0, y0, x1, y1), _label(*c))])  # c moved: another crop
    mirrored = [(_found(*_cropped(w, *crop, mirror=True)), _label(*w, mirrored=True)) for w in (a, b, c)]
    assert windows_agree(mirrored)
    assert not windows_agree([(view, _label(*w)) for (view, _), w in zip(mirrored, (a, b, c), strict=True)])
    assert not windows_agree([(View(), _label(*a)), *three[1:]])  # a whole photo is not a window
    # Three that agree are found among chance pairings before and between them.
    stray = (_found(0.6, 0.1, 0.95, 0.4), _label(*b))
    assert windows_agree([stray, three[0], stray, three[1], three[2]])
    assert not windows_agree([stray, *three[:2]])


def test_windows_of_different_photos_do_not_match() -> None:
    queries = query_windows(scene(14))
    assert queries
    for seed in (11, 12, 13):
        listed = media_signals(scene(seed))
        matches = [(q.view, d.window) for q in queries for d in listed if distance(q.hash, d.hash) <= THRESHOLD]
        assert not windows_agree(matches)


def test_query_windows_also_look_inside_trimmed_boxes() -> None:
    photo = scene(15)
    h, w = photo.shape[:2]
    framed = np.zeros((h + 100, w, 3), np.uint8)
    framed[50 : 50 + h] = photo
    boxes = content_boxes(framed)
    windows = query_windows(framed, boxes=boxes)
    assert windows == query_windows(framed)
    assert any(v.name.startswith(f"trimmed {w}x{h}+0+50 window ") for v in windows)


# ---------------------------------------------------------------- the benign corpus itself


def test_benign_corpus_is_deterministic_distinct_and_edited_as_documented() -> None:
    photos = benign_corpus.build_corpus(4, seed=3, workers=1, smooth=2)
    again = benign_corpus.build_corpus(4, seed=3, workers=1, smooth=2)
    assert [p.name for p in photos] == [p.name for p in again]
    assert [p.source for p in photos][-2:] == ["smooth", "smooth"]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(photos, again, strict=True))
    hashes = [hash_rgb(p.rgb) for p in photos]
    assert all(h.quality >= 50 for h in hashes)
    assert min(distance(a.hash, b.hash) for i, a in enumerate(hashes) for b in hashes[i + 1 :]) > 63
    rgb = photos[0].rgb
    h, w = rgb.shape[:2]
    edits = benign_corpus.make_edits(rgb, benign_corpus.edit_rng(3, 0))
    assert tuple(edits) == benign_corpus.EDIT_NAMES
    for edit, share in (("crop5", 0.05), ("crop12", 0.12)):  # about that share cut from every side
        ch, cw = edits[edit].shape[:2]
        assert 2 * 0.75 * share <= 1 - ch / h <= 2 * 1.25 * share + 2 / h
        assert 2 * 0.75 * share <= 1 - cw / w <= 2 * 1.25 * share + 2 / w
    assert edits["rotate90"].shape[:2] == (w, h)
    assert edits["resize15"].shape[:2] == (max(8, round(0.15 * h)), max(8, round(0.15 * w)))
    assert edits["caption_bar"].shape[0] * edits["caption_bar"].shape[1] > 1.1 * h * w
    grey = edits["greyscale"].astype(int)
    assert np.abs(grey[..., 0] - grey[..., 1]).max() <= 8  # equal channels, up to JPEG re-saving


def test_fast_mode_variants_trim_a_bordered_photo_from_any_source(tmp_path: Path) -> None:
    """Fast mode hashes a borderless photo's orientations from one coarse decode and decodes a
    bordered one again, finer, to trim it: from a path, from bytes, from a stream alike."""
    from PIL import ImageOps

    from vigil.signals.mode import Mode

    bridge = Path(__file__).resolve().parents[1] / "src" / "vigil" / "demo" / "media" / "bridge.jpg"
    with Image.open(bridge) as im:
        big = im.convert("RGB").resize((2400, 2400))
    framed = ImageOps.expand(big, border=(300, 200), fill="black")
    for name, image in (("plain.png", big), ("framed.png", framed)):
        image.save(tmp_path / name)
    plain = hash_photo(tmp_path / "plain.png", mode=Mode.FAST, variants=True)
    assert plain.variants is not None and not any(v.view.trimmed for v in plain.variants)
    assert plain.variants[0].name == "original" and len(plain.variants) == 8
    data = (tmp_path / "framed.png").read_bytes()
    got = [hash_photo(src, mode=Mode.FAST, variants=True, keep_pixels=True)
           for src in (tmp_path / "framed.png", data, io.BytesIO(data))]
    assert got[0].variants == got[1].variants == got[2].variants
    trimmed = [(v.name, v.hash) for v in got[0].variants or [] if v.view.trimmed]
    assert trimmed and trimmed[0][0] == "trimmed 2400x2400+300+200"  # named in the photo's own pixels
    exact = hash_photo(tmp_path / "plain.png", mode=Mode.EXACT).pdq.hash
    assert distance(trimmed[0][1], exact) <= 10  # the trimmed copy hashes as the photo itself
    assert got[2].pixels is not None and min(got[2].pixels.shape[:2]) >= VARIANT_MIN_SIDE
