"""A deterministic corpus of distinct benign photos, and edited copies made the way real copies look.

Vigil must find edited copies of listed photos without ever touching abusive media, so its
edit-recall measurements (``bench/edit_recall.py``) and tests run on this corpus instead.

Public API
----------
``build_corpus(n=1000, seed=0, refdata=None, workers=None) -> list[Photo]``
    ``n`` distinct photos (``Photo(name, source, rgb)``, ``rgb`` an H x W x 3 uint8 array), from
    two kinds of source:

    * ``tile``: non-overlapping tiles of real photos - Meta's ThreatExchange test photos (``refdata``,
      default ``../shared/refdata/threatexchange`` or ``$VIGIL_REFDATA``; skipped when absent) and
      scikit-image's bundled offline samples (skipped when scikit-image is not installed). Each
      source is cut into a grid of tiles that share no pixels; a tile whose long side is under
      480 px is enlarged (bicubic) to 480-768 px, as web copies of small photos are.
    * ``synthetic``: scenes with natural-image statistics (a "dead leaves" layer of occluding
      shapes, 1/f-noise textures and landscapes, gradients, lines, text, mild blur and grain),
      480-1024 px a side at common aspect ratios.

    Every accepted photo has PDQ quality >= 50 and is more than ``MIN_DISTANCE`` (63) bits from
    every other accepted photo in all eight dihedral orientations (twice PDQ's match threshold),
    so a match between two of them is a true false positive, not a near-duplicate in the corpus.
    Candidates failing either test are dropped and the next one is drawn. ``workers`` processes
    draw scenes (default one per CPU; the result does not depend on it): 1,000 photos take about
    40 s on 2 cores, and their ten edits about 50 ms a photo.

``make_edits(rgb, rng) -> dict[str, np.ndarray]``
    The ten edits in ``EDIT_NAMES``, each an RGB uint8 array (see its docstring for exactly what
    each one does). Everything random comes from ``rng``.

``edited_corpus(photos, seed=0) -> list[dict[str, np.ndarray]]``
    ``make_edits`` for every photo, each with its own generator ``edit_rng(seed, index)``.

``synthetic_scene(rng) -> np.ndarray``
    One synthetic scene, for tests that need a photo without building a corpus.

``same_style(photo, seed, draw) -> np.ndarray | None``
    A scene of a synthetic or smooth photo's style (same generator, size, kind and palette; its own
    layout): decoys that look like the listed photos.

``make_combined_edits(rgb, rng) -> dict[str, np.ndarray]``
    Copies edited twice (``COMBINED_EDIT_NAMES``: a mirrored meme, a turned and bordered copy, ...).

Everything is seeded: the same arguments give the same pixels on every machine with the same
Pillow and numpy (JPEG coding goes through Pillow's libjpeg).
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import multiprocessing.pool
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from vigil.signals.pdq import dihedral_rgb

__all__ = [
    "COMBINED_EDIT_NAMES",
    "EDIT_NAMES",
    "MIN_DISTANCE",
    "Photo",
    "SMOOTH_KINDS",
    "build_corpus",
    "edit_rng",
    "edited_corpus",
    "make_combined_edits",
    "make_edits",
    "same_style",
    "synthetic_scene",
]

EDIT_NAMES = (
    "mirror",
    "rotate90",
    "crop5",
    "crop12",
    "black_border",
    "caption_bar",
    "screenshot",
    "jpeg40",
    "resize15",
    "greyscale",
)
SMOOTH_KINDS = ("gradient", "sky", "abstract", "landscape")
MIN_DISTANCE = 63  # corpus photos are further apart than this, in every orientation
MIN_QUALITY = 50

_WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "when", "you", "see", "it", "morning", "coffee",
    "weekend", "vibes", "best", "day", "ever", "look", "at", "this", "view", "nobody", "expected", "that", "summer",
    "holiday", "city", "lights", "friends", "forever", "new", "post", "share", "like", "follow", "comment", "reply",
    "photo", "album", "mountain", "river", "garden", "sunset", "beach", "train", "station", "market", "street",
)

# ---------------------------------------------------------------- sources


@dataclass(frozen=True)
class Photo:
    name: str  # unique within a corpus, e.g. "tile/bridge/r0c1" or "synthetic/00042"
    source: str  # "tile" or "synthetic"
    rgb: np.ndarray


def _default_refdata() -> Path:
    env = os.environ.get("VIGIL_REFDATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "refdata" / "threatexchange"


# Real photos, one file per scene (the refdata repeats scenes: rotations, mirrors, edits of the bridge).
_REF_PHOTOS = (
    "bridge-mods/aaa-orig.jpg",
    "reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "reg-test-input/pen-and-coaster.png",
    "misc-images/small.jpg",
    *(f"reg-test-input/labelme-subset/q{n:04d}.jpg" for n in (3, 4, 122, 291, 746, 1050, 2821)),
)
# scikit-image samples shipped inside the package (no download); ``cat`` repeats ``chelsea``.
_SKIMAGE_SAMPLES = (
    "astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "camera", "moon", "coins", "grass", "gravel", "brick", "clock", "cell", "horse", "page", "text",
)


def _real_photos(refdata: Path | None, samples: bool) -> Iterator[tuple[str, np.ndarray]]:
    root = (refdata or _default_refdata()) / "pdq-images"
    for rel in _REF_PHOTOS:
        path = root / rel
        if path.is_file():
            with Image.open(path) as im:
                yield "ref-" + path.stem, np.asarray(im.convert("RGB"))
    if not samples:
        return
    try:
        from skimage import data as skdata
    except ImportError:  # the synthetic scenes still make a full corpus
        return
    for sample in _SKIMAGE_SAMPLES:
        image = np.asarray(getattr(skdata, sample)())
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        yield "sk-" + sample, np.ascontiguousarray(image[..., :3].astype(np.uint8))
    left, _right = skdata.stereo_motorcycle()[:2]  # the right view is a near-duplicate of the left
    yield "sk-motorcycle", np.ascontiguousarray(left)


def _tiles(name: str, rgb: np.ndarray, rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray]]:
    """Non-overlapping tiles about 256-640 px a side (fewer, larger tiles from small photos)."""
    h, w = rgb.shape[:2]
    target = 256 if max(h, w) < 1400 else 560
    rows, cols = max(1, round(h / target)), max(1, round(w / target))
    th, tw = h // rows, w // cols
    for r in range(rows):
        for c in range(cols):
            tile = rgb[r * th:(r + 1) * th, c * tw:(c + 1) * tw]
            if min(tile.shape[:2]) < 160:
                continue
            long_side = max(tile.shape[:2])
            if long_side < 480:
                scale = rng.uniform(480, 768) / long_side
                size = (round(tile.shape[1] * scale), round(tile.shape[0] * scale))
                tile = np.asarray(Image.fromarray(tile).resize(size, Image.Resampling.BICUBIC))
            yield f"tile/{name}/r{r}c{c}", np.ascontiguousarray(tile)


def _size(rng: np.random.Generator) -> tuple[int, int]:
    """(height, width): 480-1024 px long side at a common aspect ratio, landscape or portrait."""
    long_side = int(rng.integers(480, 1025))
    aspect = float(rng.choice([1.0, 4 / 3, 3 / 2, 16 / 9, 5 / 4]))
    short = round(long_side / aspect)
    return (short, long_side) if rng.random() < 0.65 else (long_side, short)


def _pink_noise(rng: np.random.Generator, h: int, w: int, beta: float) -> np.ndarray:
    """A field with a 1/f^beta power spectrum (natural images have beta ~ 2), scaled to 0..1."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = (rng.standard_normal((h, w // 2 + 1)) + 1j * rng.standard_normal((h, w // 2 + 1))) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w))
    lo, hi = np.percentile(field[::4, ::4], (1, 99))
    return np.clip((field - lo) / max(hi - lo, 1e-9), 0.0, 1.0)


def _palette(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` colours around one or two random hues, as photos of a scene tend to have."""
    hues = rng.uniform(0, 1, 2)
    hsv = np.empty((k, 3))
    hsv[:, 0] = (hues[rng.integers(0, 2, k)] + rng.normal(0, 0.06, k)) % 1.0
    hsv[:, 1] = rng.uniform(0.15, 0.9, k)
    hsv[:, 2] = np.sort(rng.uniform(0.1, 1.0, k))
    image = Image.fromarray((hsv[None] * 255).astype(np.uint8), "HSV").convert("RGB")
    return np.asarray(image)[0].astype(np.float64)


def _ramp(field: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Colour a 0..1 field through a ramp of colours."""
    stops = np.linspace(0, 1, len(colours))
    return np.stack([np.interp(field, stops, colours[:, ch]) for ch in range(3)], axis=-1)


@functools.lru_cache(maxsize=256)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, size))


def _words(rng: np.random.Generator, lo: int, hi: int) -> str:
    return " ".join(str(w) for w in rng.choice(_WORDS, int(rng.integers(lo, hi + 1))))


def synthetic_scene(rng: np.random.Generator, layout: np.random.Generator | None = None) -> np.ndarray:
    """One synthetic scene (see ``build_corpus``), drawn from ``rng``; with ``layout``, its size,
    palette and kind come from ``rng`` and everything after them from ``layout`` (see ``same_style``)."""
    h, w = _size(rng)
    # Structure is drawn at half size and enlarged, as camera optics soften it; grain is added at full size.
    sh, sw = h // 2, w // 2
    colours = _palette(rng, int(rng.integers(3, 7)))
    kind = rng.choice(["leaves", "landscape", "texture", "poster"], p=[0.4, 0.25, 0.15, 0.2])
    rng = rng if layout is None else layout
    # Smooth structure needs no fine resolution: drawn at a quarter size, enlarged.
    coarse = _pink_noise(rng, max(8, sh // 2), max(8, sw // 2), rng.uniform(2.0, 3.6))
    field = np.asarray(Image.fromarray(coarse.astype(np.float32), "F").resize((sw, sh), Image.Resampling.BILINEAR))
    base = _ramp(field, colours)
    if kind == "landscape":
        horizon = (0.3 + 0.4 * _pink_noise(rng, 1, sw, 2.2)[0]) * sh
        rows = np.arange(sh)[:, None]
        sky = _ramp(np.broadcast_to(rows / sh, (sh, sw)), _palette(rng, 2))
        base = np.where((rows < horizon[None, :])[..., None], sky, base)
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    n_shapes = {"leaves": 60, "landscape": 12, "texture": 4, "poster": 14}[str(kind)]
    for _ in range(int(rng.integers(n_shapes // 2, n_shapes + 1))):
        # Power-law sizes: a few large occluders, many small ones (the "dead leaves" model).
        r = min(sh, sw) * 0.5 * rng.uniform(0.02, 1.0) ** 2.2 + 3
        cx, cy = rng.uniform(-0.1, 1.1) * sw, rng.uniform(-0.1, 1.1) * sh
        fill = tuple(int(v) for v in np.clip(colours[rng.integers(len(colours))] + rng.normal(0, 25, 3), 0, 255))
        shape = rng.integers(0, 4)
        if shape == 0:
            draw.ellipse((cx - r, cy - r * rng.uniform(0.4, 1.6), cx + r, cy + r), fill=fill)
        elif shape == 1:
            draw.rectangle((cx - r, cy - r * rng.uniform(0.3, 1.5), cx + r, cy + r), fill=fill)
        elif shape == 2:
            pts = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.sort(rng.uniform(0, 2 * np.pi, 5))]
            draw.polygon(pts, fill=fill)
        else:
            x2, y2 = cx + rng.normal(0, r * 3), cy + rng.normal(0, r * 3)
            draw.line((cx, cy, x2, y2), fill=fill, width=max(1, int(r / 6)))
    if kind == "poster" or rng.random() < 0.3:
        for _ in range(int(rng.integers(1, 6))):
            size = int(rng.integers(10, max(11, sh // 8)))
            ink = tuple(int(v) for v in colours[rng.integers(len(colours))][::-1])
            draw.text((rng.uniform(0, 0.8) * sw, rng.uniform(0, 0.9) * sh), _words(rng, 1, 4), fill=ink,
                      font=_font(size))
    # Texture inside the shapes (a fine 1/f field), optics blur, then camera grain at full size.
    detail = 0.8 + 0.4 * _pink_noise(rng, sh, sw, 1.4).astype(np.float32)
    textured = np.asarray(image, dtype=np.float32) * detail[..., None]
    image = Image.fromarray(np.clip(textured, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    big = np.asarray(image.resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(rng.uniform(1, 5))
    return np.clip(big + grain.astype(np.int16), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- low-texture scenes
def _smooth_size(rng: np.random.Generator) -> tuple[int, int]:
    """(height, width) of a wallpaper-like photo: 640-1280 px long side, mostly landscape."""
    long_side = int(rng.integers(640, 1281))
    aspect = float(rng.choice([16 / 9, 16 / 10, 4 / 3, 3 / 2, 21 / 9]))
    short = round(long_side / aspect)
    return (short, long_side) if rng.random() < 0.8 else (long_side, short)


def _soft_field(rng: np.random.Generator, h: int, w: int, beta: float, cells: int) -> np.ndarray:
    """A smooth 0..1 field: 1/f noise drawn on a grid of about ``cells`` on the long side, enlarged."""
    scale = cells / max(h, w)
    gh, gw = max(4, round(h * scale)), max(4, round(w * scale))
    coarse = _pink_noise(rng, gh, gw, beta).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((w, h), Image.Resampling.BICUBIC), np.float32).clip(0, 1)


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A linear or radial 0..1 gradient at a random angle or centre."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ys /= max(h, w)
    xs /= max(h, w)
    if rng.random() < 0.6:
        angle = rng.uniform(0, 2 * np.pi)
        t = xs * np.cos(angle) + ys * np.sin(angle)
    else:
        cx, cy = rng.uniform(-0.2, 1.2) * w / max(h, w), rng.uniform(-0.2, 1.2) * h / max(h, w)
        t = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
    t -= t.min()
    return t / max(float(t.max()), 1e-6)


def smooth_scene(rng: np.random.Generator, kind: str | None = None,
                 layout: np.random.Generator | None = None) -> np.ndarray:
    """One low-texture scene, as wallpapers, sky and landscape photos and abstract art are: smooth
    gradients and soft shapes, few strong corners. ``kind`` is one of ``SMOOTH_KINDS`` (default: drawn).

    * ``gradient``: two to four colours blended along a line or around a point, with a faint 1/f
      wash and a soft vignette.
    * ``sky``: a sky gradient with soft clouds (a thresholded, blurred 1/f field) and sometimes a sun glow.
    * ``abstract``: a gradient ground under a few large, blurred, translucent blobs, waves and bands.
    * ``landscape``: a sky over layered hill silhouettes fading into haze, sometimes above water.

    Drawn at 640-1280 px, lightly blurred, with faint sensor grain (as a camera or a render saved
    as JPEG gives); everything random comes from ``rng``. With ``layout``, the size, kind and
    palettes come from ``rng`` and everything after them (shapes, clouds, hills, grain) from
    ``layout``: a scene of the same style (see ``same_style``).
    """
    h, w = _smooth_size(rng)
    kind = kind or str(rng.choice(SMOOTH_KINDS, p=[0.25, 0.25, 0.25, 0.25]))
    if kind not in SMOOTH_KINDS:
        raise ValueError(f"unknown smooth scene kind {kind!r}")
    colours = _palette(rng, int(rng.integers(2, 5)))
    if kind in ("gradient", "abstract"):  # sky and landscape draw their own palettes first
        rng = rng if layout is None else layout
    if kind == "gradient":
        t = _gradient(rng, h, w)
        t = np.clip(t + 0.15 * (_soft_field(rng, h, w, 2.5, 12) - 0.5), 0, 1)
        base = _ramp(t, colours)
        # Gradient wallpapers carry a few soft-edged light waves or folds across the blend.
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        for _ in range(int(rng.integers(1, 4))):
            angle, freq = rng.uniform(0, np.pi), rng.uniform(1.0, 3.0) * 2 * np.pi / max(h, w)
            along = xs * np.cos(angle) + ys * np.sin(angle)
            across = -xs * np.sin(angle) + ys * np.cos(angle)
            lo, hi = float(across.min()), float(across.max())
            centre = lo + rng.uniform(0.2, 0.8) * (hi - lo) + rng.uniform(0.03, 0.12) * max(h, w) * np.sin(freq * along)
            softness = rng.uniform(0.001, 0.01) * max(h, w)
            edge = 1 / (1 + np.exp(np.clip(-(across - centre) / softness, -50, 50)))
            light = rng.uniform(0.3, 0.6) * (1 if rng.random() < 0.6 else -1)  # a lighter or darker fold
            base = np.clip(base * (1 + light * edge[..., None]), 0, 255)
    elif kind == "sky":
        rows = (np.arange(h, dtype=np.float32) / h)[:, None]
        sky = _palette(rng, 2)
        sky = sky[np.argsort(sky.sum(axis=1))]  # darker at the top, as the zenith is
        rng = rng if layout is None else layout
        base = _ramp(np.broadcast_to(rows ** rng.uniform(0.6, 1.6), (h, w)), sky)
        cover = _soft_field(rng, h, w, rng.uniform(2.2, 3.2), int(rng.integers(10, 40)))
        level = rng.uniform(0.45, 0.75)
        clouds = np.clip((cover - level) / rng.uniform(0.08, 0.3), 0, 1)[..., None]
        white = np.array([rng.uniform(215, 255)] * 3) * np.array([1.0, 1.0, rng.uniform(0.95, 1.05)])
        base = base * (1 - clouds) + np.clip(white, 0, 255) * clouds
        if rng.random() < 0.4:
            cx, cy, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.05, 0.5) * h, rng.uniform(0.05, 0.2) * max(h, w)
            ys, xs = np.mgrid[0:h, 0:w]
            glow = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * r * r))[..., None]
            base = base * (1 - glow) + np.array([255.0, 245.0, 215.0]) * glow
    elif kind == "abstract":
        base = _ramp(_gradient(rng, h, w), colours)
        image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        for _ in range(int(rng.integers(3, 9))):
            layer = Image.new("L", (w, h), 0)
            draw = ImageDraw.Draw(layer)
            r = rng.uniform(0.1, 0.5) * max(h, w)
            cx, cy = rng.uniform(0, 1) * w, rng.uniform(0, 1) * h
            shape = int(rng.integers(0, 3))
            if shape == 0:
                draw.ellipse((cx - r, cy - r * rng.uniform(0.5, 1.5), cx + r, cy + r), fill=255)
            elif shape == 1:  # a wave band across the picture
                xs = np.linspace(-0.1 * w, 1.1 * w, 40)
                phase, amp, thick = rng.uniform(0, 6.3), rng.uniform(0.05, 0.2) * h, rng.uniform(0.05, 0.25) * h
                top = cy + amp * np.sin(xs / w * rng.uniform(2, 7) + phase)
                pts = list(zip(xs, top, strict=True)) + list(zip(xs[::-1], top[::-1] + thick, strict=True))
                draw.polygon(pts, fill=255)
            else:
                pts = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.sort(rng.uniform(0, 2 * np.pi, 6))]
                draw.polygon(pts, fill=255)
            layer = layer.filter(ImageFilter.GaussianBlur(rng.uniform(0.002, 0.04) * max(h, w)))
            tint = tuple(int(v) for v in _palette(rng, 1)[0])
            alpha = np.asarray(layer, np.float32)[..., None] / 255 * rng.uniform(0.4, 0.9)
            mixed = np.asarray(image, np.float32) * (1 - alpha) + np.array(tint, np.float32) * alpha
            image = Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))
        base = np.asarray(image, np.float64)
    else:  # landscape
        rows = np.arange(h, dtype=np.float32)[:, None]
        sky = _palette(rng, 2)
        base = _ramp(np.broadcast_to(rows / h, (h, w)), sky[np.argsort(sky.sum(axis=1))])
        haze = _palette(rng, 1)[0]
        rng = rng if layout is None else layout
        layers = int(rng.integers(2, 5))
        horizon = rng.uniform(0.35, 0.6)
        for k in range(layers):
            profile = _pink_noise(rng, 1, w, rng.uniform(2.2, 3.0))[0]
            crest = (horizon + (k / layers) * (1 - horizon) * 0.6 - rng.uniform(0.05, 0.25) * (1 - k / layers)) * h
            crest = crest + (profile - 0.5) * rng.uniform(0.05, 0.3) * h
            ground = colours[k % len(colours)] * (0.4 + 0.6 * (k + 1) / layers) + haze * 0.3 * (1 - k / layers)
            shade = 1 - 0.25 * np.clip((rows - crest[None, :]) / h, 0, 1)
            base = np.where((rows >= crest[None, :])[..., None], np.clip(ground, 0, 255) * shade[..., None], base)
        if rng.random() < 0.35:  # still water mirrors the sky below a shore line
            shore = int(rng.uniform(0.7, 0.85) * h)
            water = base[shore - (h - shore):shore][::-1] * 0.8 + np.array([10.0, 20.0, 40.0])
            base[shore:] = water[: h - shore]
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    out = np.asarray(image, np.float32)
    if kind == "gradient" or rng.random() < 0.5:  # vignette
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((xs / w - 0.5) ** 2 + (ys / h - 0.5) ** 2) * rng.uniform(0.2, 0.8)
        out = out * (1 - d)[..., None]
    grain = rng.standard_normal((h, w, 1), dtype=np.float32) * np.float32(rng.uniform(0.5, 2.5))
    return np.clip(out + grain, 0, 255).astype(np.uint8)


def _hash_bytes(hexes: dict[str, str]) -> np.ndarray:
    """Hashes as rows of 32 bytes."""
    return np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hexes.values()])


def _candidate(job: tuple[int, int, bool]) -> tuple[np.ndarray, dict[str, str], int]:
    """Synthetic (or smooth) scene number ``index`` and its dihedral hashes (a worker's job: hashing is
    half the cost)."""
    seed, index, smooth = job
    if smooth:  # the four kinds in turn
        rgb = smooth_scene(np.random.default_rng([seed, 5, index]), SMOOTH_KINDS[index % len(SMOOTH_KINDS)])
    else:
        rgb = synthetic_scene(np.random.default_rng([seed, 2, index]))
    hexes, quality = dihedral_rgb(rgb)
    return rgb, hexes, quality


def same_style(photo: Photo, seed: int, draw: int) -> np.ndarray | None:
    """Another scene of ``photo``'s style, for decoys that look like listed photos: drawn by the same
    generator with the same size, kind and palette (the generator's first draws, from the same seed)
    and a layout of its own (``draw`` numbers them). ``photo`` is a synthetic or smooth scene of a
    corpus built with ``seed``; None for a real-photo tile (other tiles of its photo are its kin)."""
    source, *rest = photo.name.split("/")
    index = int(rest[-1]) if source in ("synthetic", "smooth") else -1
    if source == "smooth":
        return smooth_scene(np.random.default_rng([seed, 5, index]), rest[0],
                            layout=np.random.default_rng([seed, 9, index, draw]))
    if source == "synthetic":
        return synthetic_scene(np.random.default_rng([seed, 2, index]),
                               layout=np.random.default_rng([seed, 8, index, draw]))
    return None


def _pool(workers: int | None) -> multiprocessing.pool.Pool | None:
    if workers is None:
        workers = os.cpu_count() or 1
    if workers <= 1:
        return None
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(workers)


def build_corpus(n: int = 1000, seed: int = 0, refdata: Path | None = None, workers: int | None = None,
                 samples: bool = True, smooth: int = 0) -> list[Photo]:
    """``n`` distinct benign photos: real-photo tiles first (as many as pass), then synthetic scenes;
    then ``smooth`` more, low-texture scenes (:func:`smooth_scene`, source ``"smooth"``), distinct
    from all the others too. The first ``n`` are the textured half of a corpus, the rest the smooth half.

    ``samples``: also tile scikit-image's sample photos when it is installed (the benchmarks do;
    the tests do not, so that their corpus is the same on every machine).

    ``workers`` processes draw the synthetic scenes (default: one per CPU); the result does not
    depend on it, because candidates are offered in index order.
    """
    rng = np.random.default_rng([seed, 1])
    accepted: list[Photo] = []
    kept = np.zeros((0, 32), dtype=np.uint8)  # the original-orientation hash of every accepted photo

    limit = n  # offer() accepts photos up to this many in all

    def offer(photo: Photo, hexes: dict[str, str], quality: int) -> None:
        nonlocal kept
        if quality < MIN_QUALITY or len(accepted) >= limit:
            return
        if len(kept):
            # Comparing all 8 orientations of the candidate with the accepted originals covers every
            # orientation pair, because d(T a, T b) = d(a, b) for a dihedral transform T.
            rows = _hash_bytes(hexes)
            dist = np.unpackbits(rows[:, None, :] ^ kept[None, :, :], axis=2).sum(axis=2)
            if dist.min() <= MIN_DISTANCE:
                return
        kept = np.vstack([kept, _hash_bytes({"original": hexes["original"]})])
        accepted.append(photo)

    for name, rgb in _real_photos(refdata, samples):
        if len(accepted) >= n:
            break
        for tile_name, tile in _tiles(name, rgb, rng):
            offer(Photo(tile_name, "tile", tile), *dihedral_rgb(tile))
    pool = _pool(workers) if n + smooth - len(accepted) > 32 else None
    try:
        for is_smooth, goal in ((False, n), (True, n + smooth)):
            limit = goal
            index = 0
            while len(accepted) < goal:
                # Smooth scenes often fall under PDQ's quality floor: draw more of them a round.
                want = round((2.5 if is_smooth else 1.2) * (goal - len(accepted)))
                batch = [(seed, i, is_smooth) for i in range(index, index + max(8, want))]
                results = pool.imap(_candidate, batch, chunksize=4) if pool else map(_candidate, batch)
                for (_, i, _), (rgb, hexes, quality) in zip(batch, results, strict=True):
                    kind = SMOOTH_KINDS[i % len(SMOOTH_KINDS)]
                    name = f"smooth/{kind}/{i:05d}" if is_smooth else f"synthetic/{i:05d}"
                    offer(Photo(name, "smooth" if is_smooth else "synthetic", rgb), hexes, quality)
                index += len(batch)
    finally:
        if pool:
            pool.terminate()
    return accepted


# ---------------------------------------------------------------- edits


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def _reshare(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Most copies are re-saved as JPEG on the way (quality 70-95); some stay lossless (PNG)."""
    if rng.random() < 0.7:
        return _jpeg(rgb, int(rng.integers(70, 96)))
    return rgb


def _crop(rgb: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Each side cut by about ``share`` of the photo's width or height (0.75-1.25 times it, drawn per side)."""
    h, w = rgb.shape[:2]
    left, right = (round(share * w * rng.uniform(0.75, 1.25)) for _ in range(2))
    top, bottom = (round(share * h * rng.uniform(0.75, 1.25)) for _ in range(2))
    return rgb[top:h - bottom, left:w - right]


def _centered_text(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], text: str,
                   font: ImageFont.FreeTypeFont | ImageFont.ImageFont, fill: tuple[int, int, int]) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (box[0] + box[2] - (right - left)) / 2 - left
    y = (box[1] + box[3] - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=fill)


def _black_border(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    style = rng.choice(["letterbox", "pillarbox", "all"])
    if style == "all":
        pad = round(min(h, w) * rng.uniform(0.03, 0.12))
        top = bottom = left = right = pad
    else:
        # Pad to a wider (letterbox: 16:9 or 2:1) or narrower (pillarbox: 1:1 or 9:16) frame,
        # or by 8-25% when the photo already has that shape.
        if style == "letterbox":
            target_w = w
            target_h = max(round(w / float(rng.choice([16 / 9, 2.0, 1.0]))), round(h * rng.uniform(1.08, 1.25)))
        else:
            target_h = h
            target_w = max(round(h * float(rng.choice([1.0, 9 / 16, 4 / 3]))), round(w * rng.uniform(1.08, 1.25)))
        top = (target_h - h) // 2
        bottom = target_h - h - top
        left = (target_w - w) // 2
        right = target_w - w - left
    out = np.zeros((h + top + bottom, w + left + right, 3), np.uint8)
    out[top:top + h, left:left + w] = rgb
    return out


def _text_band(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], ink: tuple[int, int, int],
               rng: np.random.Generator) -> None:
    """One or two lines of words centred in ``box`` (left, top, right, bottom), as large as fit."""
    left, top, right, bottom = box
    height, width = bottom - top, right - left
    lines = 1 if height < 0.15 * width or rng.random() < 0.5 else 2
    line_h = height * 0.8 / lines
    for i in range(lines):
        text = _words(rng, 1 if width < height else 2, 6)
        font = _font(int(line_h * 0.75))
        while draw.textlength(text, font=font) > 0.92 * width and font.size > 8:  # type: ignore[union-attr]
            font = _font(int(font.size * 0.85))  # type: ignore[union-attr]
        y0 = top + height * 0.1 + i * line_h
        _centered_text(draw, (left, y0, right, y0 + line_h), text, font, ink)


def _caption_bar(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    white = rng.random() < 0.7
    paper, ink = ((255, 255, 255), (0, 0, 0)) if white else ((0, 0, 0), (255, 255, 255))
    style = str(rng.choice(["top", "bottom", "both", "side"], p=[0.35, 0.25, 0.25, 0.15]))
    if rng.random() < 0.3:  # the photo framed in its own thin border before the caption is added
        pad = max(2, round(min(h, w) * rng.uniform(0.01, 0.03)))
        frame = tuple(int(v) for v in (rng.integers(0, 256, 3) if rng.random() < 0.5 else ink))
        framed = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
        framed[:] = frame
        framed[pad:pad + h, pad:pad + w] = rgb
        rgb, (h, w) = framed, framed.shape[:2]
    if style == "side":
        bar = round(w * rng.uniform(0.20, 0.40))
        canvas = Image.new("RGB", (w + bar, h), paper)
        on_left = rng.random() < 0.5
        canvas.paste(Image.fromarray(rgb), (bar if on_left else 0, 0))
        x0 = 0 if on_left else w
        _text_band(ImageDraw.Draw(canvas), (x0, round(h * 0.3), x0 + bar, round(h * 0.7)), ink, rng)
        return np.asarray(canvas)
    top_bar = round(h * rng.uniform(0.10, 0.25)) if style in ("top", "both") else 0
    bottom_bar = round(h * rng.uniform(0.10, 0.25)) if style in ("bottom", "both") else 0
    canvas = Image.new("RGB", (w, h + top_bar + bottom_bar), paper)
    canvas.paste(Image.fromarray(rgb), (0, top_bar))
    draw = ImageDraw.Draw(canvas)
    if top_bar:
        _text_band(draw, (0, 0, w, top_bar), ink, rng)
    if bottom_bar:
        _text_band(draw, (0, top_bar + h, w, top_bar + h + bottom_bar), ink, rng)
    return np.asarray(canvas)


def _screenshot(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone app or desktop browser/viewer showing the photo, with bars, text and icons."""
    h, w = rgb.shape[:2]
    phone = rng.random() < 0.55
    dark = rng.random() < 0.4
    bg = tuple(int(v) for v in (rng.integers(0, 40, 3) if dark else rng.integers(225, 256, 3)))
    fg = (230, 230, 230) if dark else (30, 30, 30)
    accent = tuple(int(v) for v in rng.integers(0, 256, 3))
    if phone:
        cw = int(rng.choice([540, 585, 620]))
        ch = round(cw * float(rng.choice([19.5 / 9, 20 / 9, 16 / 9])))
        margin = int(rng.choice([0, 0, round(cw * 0.04)]))
        pw = cw - 2 * margin
        ph = round(h * pw / w)
        if ph > ch * 0.7:  # a tall photo is shown smaller, centred
            ph = round(ch * 0.7)
            pw = round(w * ph / h)
        px = (cw - pw) // 2
        status_h, bar_h = round(ch * 0.035), round(ch * 0.06)
        py = status_h + bar_h + int(rng.integers(round(ch * 0.02), round(ch * 0.1)))
    else:
        cw, ch = (int(v) for v in [(1280, 800), (1440, 900), (1366, 768), (1280, 720)][rng.integers(4)])
        status_h, bar_h = round(ch * 0.04), round(ch * 0.05)
        avail_w, avail_h = cw * rng.uniform(0.45, 0.8), (ch - status_h - bar_h) * rng.uniform(0.6, 0.9)
        scale = min(avail_w / w, avail_h / h)
        pw, ph = round(w * scale), round(h * scale)
        px = int(rng.integers(round(cw * 0.03), max(round(cw * 0.03) + 1, cw - pw - round(cw * 0.03))))
        py = status_h + bar_h + int(rng.integers(4, max(5, ch - status_h - bar_h - ph - 4)))
    canvas = Image.new("RGB", (cw, ch), bg)
    draw = ImageDraw.Draw(canvas)
    # Status/tab bar with the time and icons; an app/address bar with a title.
    bar_colour = accent if rng.random() < 0.4 else tuple(max(0, min(255, c + (12 if dark else -12))) for c in bg)
    draw.rectangle((0, 0, cw, status_h), fill=(0, 0, 0) if phone and rng.random() < 0.5 else bar_colour)
    small = _font(max(8, round(status_h * 0.6)))
    draw.text((round(cw * 0.04), round(status_h * 0.15)), f"{rng.integers(0, 24)}:{rng.integers(0, 60):02d}",
              font=small, fill=(255, 255, 255) if phone else fg)
    for i in range(3):
        x = cw - round(cw * 0.05) - i * round(status_h * 1.2)
        draw.rectangle((x, round(status_h * 0.25), x + round(status_h * 0.7), round(status_h * 0.75)), fill=fg)
    draw.rectangle((0, status_h, cw, status_h + bar_h), fill=bar_colour)
    title = _font(max(8, round(bar_h * 0.45)))
    draw.text((round(cw * 0.05), status_h + round(bar_h * 0.25)), _words(rng, 1, 3), font=title, fill=fg)
    canvas.paste(Image.fromarray(rgb).resize((pw, ph), Image.Resampling.BILINEAR), (px, py))
    # Caption, like counts, comments below; on a desktop page, perhaps a sidebar of text.
    text_font = _font(max(8, round(ch * 0.022)))
    y = py + ph + round(ch * 0.015)
    while y < ch - round(ch * 0.06):
        draw.text((round(cw * 0.04) if phone else px, y), _words(rng, 2, 8), font=text_font, fill=fg)
        y += round(ch * 0.04)
    if not phone and cw - (px + pw) > cw * 0.2:
        for i in range(int(rng.integers(3, 12))):
            draw.text((px + pw + round(cw * 0.03), py + i * round(ch * 0.04)), _words(rng, 1, 4), font=text_font,
                      fill=fg)
    if phone:  # bottom navigation bar with icons
        nav_top = ch - round(ch * 0.055)
        draw.rectangle((0, nav_top, cw, ch), fill=bar_colour)
        for i in range(5):
            cx = round(cw * (0.1 + 0.2 * i))
            draw.ellipse((cx - 8, nav_top + 8, cx + 8, nav_top + 24), outline=fg, width=2)
    out = np.asarray(canvas)
    return _jpeg(out, int(rng.integers(80, 96))) if rng.random() < 0.3 else out  # shared screenshots get re-saved


def make_edits(rgb: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The ten edited copies of one photo, keyed by ``EDIT_NAMES``.

    * ``mirror``: left-right flip.
    * ``rotate90``: a quarter turn, clockwise or anticlockwise (chosen at random).
    * ``crop5`` / ``crop12``: about 5% / 12% of the width or height cut from every side (each side
      0.75-1.25 times that, drawn per side; so about 10% / 24% of each dimension in all). No resize
      afterwards.
    * ``black_border``: pure black padding - a letterbox (bars above and below, to a 16:9, 2:1 or
      1:1 frame, at least 8-25% taller), a pillarbox (bars left and right, to 1:1, 9:16 or 4:3, at
      least 8-25% wider), or 3-12% of the short side all round.
    * ``caption_bar``: meme-style caption bars, white with black text (70%) or black with white
      text: one 10-25% of the photo's height above it (35%) or below it (25%), one above and one
      below (25%), or one 20-40% of its width beside it (15%); one or two lines of words each. In
      30% of copies the photo first gets its own thin frame (1-3% of its short side, the ink's
      colour or a random one). The photo keeps its size, so the copy is larger.
    * ``screenshot``: a phone app (540-620 px wide, 16:9 to 20:9 tall, photo at full width or with
      small margins) or desktop window (1280x720 to 1440x900, photo at 45-80% of the width) with
      light or dark background, status/tab bar with the time and icons, app/address bar with a
      title, text lines below (and a text sidebar on wide desktops), a phone navigation bar. The
      photo is scaled (bilinear) into it. 30% are then re-saved as JPEG quality 80-95.
    * ``jpeg40``: one JPEG encode/decode at quality 40 (Pillow, 4:2:0 chroma subsampling).
    * ``resize15``: 15% of each dimension (at least 8 px), Lanczos, bilinear or box filter.
    * ``greyscale``: ITU-R 601 luma (Pillow's ``convert("L")``) in all three channels.

    Every edit but ``jpeg40`` and ``screenshot`` is then re-saved as JPEG at quality 70-95 with
    probability 0.7 (else kept lossless), as copies passed between people mostly are.
    """
    h, w = rgb.shape[:2]
    edits: dict[str, np.ndarray] = {}
    edits["mirror"] = _reshare(np.ascontiguousarray(rgb[:, ::-1]), rng)
    edits["rotate90"] = _reshare(np.ascontiguousarray(np.rot90(rgb, 1 if rng.random() < 0.5 else -1)), rng)
    edits["crop5"] = _reshare(np.ascontiguousarray(_crop(rgb, 0.05, rng)), rng)
    edits["crop12"] = _reshare(np.ascontiguousarray(_crop(rgb, 0.12, rng)), rng)
    edits["black_border"] = _reshare(_black_border(rgb, rng), rng)
    edits["caption_bar"] = _reshare(_caption_bar(rgb, rng), rng)
    edits["screenshot"] = _screenshot(rgb, rng)
    edits["jpeg40"] = _jpeg(rgb, 40)
    filters = [Image.Resampling.LANCZOS, Image.Resampling.BILINEAR, Image.Resampling.BOX]
    small = Image.fromarray(rgb).resize((max(8, round(w * 0.15)), max(8, round(h * 0.15))),
                                        filters[int(rng.integers(len(filters)))])
    edits["resize15"] = _reshare(np.asarray(small), rng)
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    edits["greyscale"] = _reshare(np.ascontiguousarray(np.stack([grey] * 3, axis=-1)), rng)
    return edits


COMBINED_EDIT_NAMES = ("mirror+caption_bar", "rotate90+black_border", "crop5+jpeg40", "crop12+resize50",
                       "mirror+crop5", "crop5+screenshot", "crop5+caption_bar")


def make_combined_edits(rgb: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Copies edited twice, keyed by ``COMBINED_EDIT_NAMES`` (each step as in :func:`make_edits`;
    ``resize50`` halves each dimension, Lanczos). Real copies are often edited more than once."""
    out: dict[str, np.ndarray] = {}
    out["mirror+caption_bar"] = _reshare(_caption_bar(np.ascontiguousarray(rgb[:, ::-1]), rng), rng)
    turned = np.ascontiguousarray(np.rot90(rgb, 1 if rng.random() < 0.5 else -1))
    out["rotate90+black_border"] = _reshare(_black_border(turned, rng), rng)
    out["crop5+jpeg40"] = _jpeg(np.ascontiguousarray(_crop(rgb, 0.05, rng)), 40)
    cropped = Image.fromarray(np.ascontiguousarray(_crop(rgb, 0.12, rng)))
    half = cropped.resize((max(8, cropped.width // 2), max(8, cropped.height // 2)), Image.Resampling.LANCZOS)
    out["crop12+resize50"] = _reshare(np.asarray(half), rng)
    out["mirror+crop5"] = _reshare(np.ascontiguousarray(_crop(rgb[:, ::-1], 0.05, rng)), rng)
    out["crop5+screenshot"] = _screenshot(np.ascontiguousarray(_crop(rgb, 0.05, rng)), rng)
    out["crop5+caption_bar"] = _reshare(_caption_bar(np.ascontiguousarray(_crop(rgb, 0.05, rng)), rng), rng)
    return out


def edited_corpus(photos: list[Photo], seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``make_edits`` of each photo, each with a generator seeded by (seed, 3, position).

    Holds every copy in memory (about 7 MB a photo): for many photos, call ``make_edits`` one
    photo at a time with the same seeding, as ``bench/edit_recall.py`` does.
    """
    return [make_edits(p.rgb, edit_rng(seed, i)) for i, p in enumerate(photos)]


def edit_rng(seed: int, index: int) -> np.random.Generator:
    """The generator ``edited_corpus`` uses for the photo at ``index``."""
    return np.random.default_rng([seed, 3, index])
