"""Benign, seeded photos for bench/scan_png.py: 4K PNG wallpapers, PNG screenshots, camera JPEGs.

What a seized drive full of large PNGs holds, made from nothing but numbers:

* Wallpapers, 3840x2160 (a few 5120x2880): smooth multi-stop gradients, abstract art (soft colour
  blobs, waves, a few soft-edged shapes) and skies (a blue gradient, fractal clouds, sometimes a
  line of hills). Low texture, as the issue's corpus. Some carry a fine grain (dithering, sensor-like
  noise), as many wallpapers do, which makes their PNGs 8-14 MB; smooth ones are a few hundred KB.
* Screenshots, 1080x2400 (a phone) and 2560x1440 (a desktop): bars, text in several sizes, buttons,
  avatars, and often a photo inside (one of scikit-image's sample photos: nothing any list holds).

* Camera photos: bench/gen_inputs.py's photos with sensor-like grain, as JPEG (2-5 MB each, as a
  phone's; the generated photos alone are smooth upscales of small reference photos, under 1 MB).

Everything is seeded by its index; files already under bench/work/png/ are reused.
"""

from __future__ import annotations

import os
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from common import WORK, log

SEED = 20261130
FOLDER = WORK / "png"
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "wizards",
         "quietly", "judge", "boxing", "matches", "settings", "photos", "messages", "gallery", "shared",
         "album", "download", "folder", "recent", "today", "yesterday"]


def _upscale(field: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A small float field (h x w) to ``size`` (w, h), bicubic: smooth content costs no full-size math."""
    return np.asarray(Image.fromarray(field.astype(np.float32), "F").resize(size, Image.Resampling.BICUBIC))


def _palette(rng: np.random.Generator, n: int) -> np.ndarray:
    base = rng.uniform(0, 1)
    hues = (base + np.sort(rng.uniform(0, 0.5, n))) % 1.0
    sat, val = rng.uniform(0.35, 0.9, n), rng.uniform(0.35, 1.0, n)
    hsv = np.stack([hues * 255, sat * 255, val * 255], axis=1).astype(np.uint8)[None]
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"), np.float32)[0]


def _gradient(rng: np.random.Generator, sw: int, sh: int) -> np.ndarray:
    """Multi-stop linear or radial gradient on a small grid (sh x sw x 3)."""
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    x, y = x / sw, y / sh
    if rng.random() < 0.6:
        angle = rng.uniform(0, np.pi)
        t = x * np.cos(angle) + y * np.sin(angle)
    else:
        cx, cy = rng.uniform(0.2, 0.8, 2)
        t = np.sqrt((x - cx) ** 2 + ((y - cy) * sh / sw) ** 2)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    stops = _palette(rng, int(rng.integers(2, 5)))
    at = np.linspace(0, 1, len(stops))
    return np.stack([np.interp(t, at, stops[:, c]) for c in range(3)], axis=-1)


def _fractal(rng: np.random.Generator, sw: int, sh: int, octaves: int = 5) -> np.ndarray:
    out = np.zeros((sh, sw), np.float32)
    for k in range(octaves):
        cells = 3 * 2**k
        grid = rng.random((max(2, cells * sh // sw), cells)).astype(np.float32)
        out += _upscale(grid, (sw, sh)) / 2**k
    return (out - out.min()) / max(float(np.ptp(out)), 1e-6)


def _abstract(rng: np.random.Generator, sw: int, sh: int) -> np.ndarray:
    img = _gradient(rng, sw, sh)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    for colour in _palette(rng, int(rng.integers(3, 8))):
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        r = rng.uniform(0.08, 0.35) * sw
        soft = rng.uniform(0.05, 0.6)  # small: a shape with a soft edge; large: a glow
        d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / r
        alpha = np.clip((1 - d) / soft, 0, 1)[..., None] * rng.uniform(0.4, 0.9)
        img = img * (1 - alpha) + colour * alpha
    if rng.random() < 0.5:  # waves
        freq, phase = rng.uniform(2, 7), rng.uniform(0, 6.3)
        band = 0.5 + 0.5 * np.sin(freq * 2 * np.pi * x / sw + phase + 2 * np.sin(3 * y / sh))
        img = img * (0.85 + 0.15 * band[..., None])
    return img


def _sky(rng: np.random.Generator, sw: int, sh: int) -> np.ndarray:
    y = np.linspace(0, 1, sh, dtype=np.float32)[:, None, None]
    top = np.array([rng.uniform(10, 60), rng.uniform(60, 120), rng.uniform(150, 230)], np.float32)
    low = np.array([rng.uniform(150, 230), rng.uniform(180, 230), rng.uniform(220, 255)], np.float32)
    img = top * (1 - y) + low * y + np.zeros((sh, sw, 3), np.float32)
    clouds = np.clip((_fractal(rng, sw, sh) - rng.uniform(0.4, 0.6)) * 3, 0, 1)[..., None]
    img = img * (1 - clouds) + rng.uniform(225, 255) * clouds
    if rng.random() < 0.5:  # hills
        xs = np.linspace(0, 1, sw, dtype=np.float32)
        ridge = sh * (rng.uniform(0.65, 0.85) + 0.06 * np.sin(xs * rng.uniform(3, 9) + rng.uniform(0, 6)))
        hill = (np.arange(sh, dtype=np.float32)[:, None] > ridge[None, :])[..., None]
        img = np.where(hill, np.array([rng.uniform(20, 60), rng.uniform(50, 100), rng.uniform(20, 60)]), img)
    return img


def _make_wallpaper(job: tuple[int, str]) -> None:
    index, out = job
    rng = np.random.default_rng([SEED, index])
    width, height = (5120, 2880) if index % 7 == 6 else (3840, 2160)
    sw, sh = width // 8, height // 8
    kind = ("gradient", "abstract", "sky")[index % 3]
    small = {"gradient": _gradient, "abstract": _abstract, "sky": _sky}[kind](rng, sw, sh)
    img = np.stack([_upscale(small[..., c], (width, height)) for c in range(3)], axis=-1)
    grain = (0.0, 0.0, 0.8, 1.5, 2.5)[int(rng.integers(5))]
    if grain:
        img += rng.normal(0, grain, img.shape).astype(np.float32)
    tmp = out + ".tmp"
    Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)).save(tmp, format="PNG")
    os.replace(tmp, out)


def _text(rng: np.random.Generator, n: int) -> str:
    return " ".join(WORDS[int(k)] for k in rng.integers(len(WORDS), size=n)).capitalize()


def _make_screenshot(job: tuple[int, str, list[str]]) -> None:
    index, out, photos = job
    rng = np.random.default_rng([SEED, 1000 + index])
    phone = index % 2 == 0
    width, height = (1080, 2400) if phone else (2560, 1440)
    dark = rng.random() < 0.4
    bg, fg = ((18, 18, 20), (230, 230, 230)) if dark else ((250, 250, 250), (30, 30, 30))
    accent = tuple(int(v) for v in _palette(rng, 1)[0])
    img = Image.new("RGB", (width, height), bg)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=36 if phone else 22)
    big = ImageFont.load_default(size=56 if phone else 34)
    bar = 80 if phone else 40
    draw.rectangle((0, 0, width, bar), fill=(0, 0, 0) if dark else (235, 235, 235))
    draw.text((24, bar // 4), f"12:{int(rng.integers(60)):02d}", fill=fg, font=font)
    draw.rectangle((0, bar, width, bar + 2 * bar), fill=accent)
    draw.text((40, bar + bar // 2), _text(rng, 2), fill=(255, 255, 255), font=big)
    left = 0 if phone else 360
    if not phone:  # a sidebar of folders
        draw.rectangle((0, 3 * bar, left, height), fill=(40, 40, 44) if dark else (240, 240, 243))
        for k in range(int(rng.integers(8, 20))):
            draw.text((24, 3 * bar + 20 + 44 * k), _text(rng, 2), fill=fg, font=font)
    y = 3 * bar + 30
    if photos and rng.random() < 0.6:  # a photo inside the page
        import skimage.data

        sample = getattr(skimage.data, photos[int(rng.integers(len(photos)))])()
        pic = Image.fromarray(sample[0] if isinstance(sample, tuple) else sample).convert("RGB")
        pw = width - left - 80
        ph = min(int(pw * pic.height / pic.width), height // 2)
        img.paste(pic.resize((pw, ph), Image.Resampling.BILINEAR), (left + 40, y))
        y += ph + 30
    while y < height - 3 * bar:
        draw.ellipse((left + 40, y, left + 40 + 2 * bar // 2, y + 2 * bar // 2), fill=_palette_int(rng))
        draw.text((left + 60 + bar, y), _text(rng, int(rng.integers(2, 5))), fill=fg, font=big)
        draw.text((left + 60 + bar, y + bar), _text(rng, int(rng.integers(4, 10))), fill=fg, font=font)
        y += int(2.4 * bar)
    if phone:  # a navigation bar
        draw.rectangle((0, height - 2 * bar, width, height), fill=(0, 0, 0) if dark else (235, 235, 235))
        for k in range(3):
            cx = width * (k + 1) // 4
            draw.ellipse((cx - 20, height - bar - 20, cx + 20, height - bar + 20), outline=fg, width=4)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.SMOOTH)  # a scaled screen grab
    tmp = out + ".tmp"
    img.save(tmp, format="PNG")
    os.replace(tmp, out)


def _palette_int(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in _palette(rng, 1)[0])
    return r, g, b


def _ensure(kind: str, count: int, make: object, extra: list[str] | None = None, suffix: str = ".png") -> list[str]:
    FOLDER.mkdir(parents=True, exist_ok=True)
    paths = [str(FOLDER / f"{kind}-{i:04d}{suffix}") for i in range(count)]
    todo = [(i, p) for i, p in enumerate(paths) if not (os.path.exists(p) and os.path.getsize(p) > 0)]
    if todo:
        log(f"generating {len(todo)} {kind}s under {FOLDER} (seeded; reused next time)")
        jobs = [(i, p, extra) for i, p in todo] if extra is not None else todo
        with Pool(2) as pool:
            for _ in pool.imap_unordered(make, jobs):  # type: ignore[arg-type]
                pass
    return paths


def _make_camera(job: tuple[int, str, list[str]]) -> None:
    """A camera JPEG from a bench photo: sensor-like grain (luma and a little chroma), quality 88-96,
    so that its file is the 2-5 MB a phone's 8-12 MP photo is (the generated photos are smooth)."""
    index, out, sources = job
    rng = np.random.default_rng([SEED, 2000 + index])
    with Image.open(sources[index]) as im:
        rgb = np.asarray(im.convert("RGB"), np.float32)
    grain = rng.normal(0, rng.uniform(3.0, 6.0), rgb.shape[:2]).astype(np.float32)[..., None]
    grain = grain + rng.normal(0, 1.0, rgb.shape).astype(np.float32)
    tmp = out + ".tmp"
    Image.fromarray(np.clip(rgb + grain + 0.5, 0, 255).astype(np.uint8)).save(
        tmp, format="JPEG", quality=int(rng.integers(88, 97)))
    os.replace(tmp, out)


def ensure_camera_photos(sources: list[str]) -> list[str]:
    """One camera JPEG (``_make_camera``) per bench photo, named ``camera-NNNN.jpg``."""
    return _ensure("camera", len(sources), _make_camera, sources, suffix=".jpg")


def ensure_wallpapers(count: int) -> list[str]:
    return _ensure("wallpaper", count, _make_wallpaper)


SAMPLES = ["astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle"]  # scikit-image's, shipped in its wheel


def ensure_screenshots(count: int) -> list[str]:
    return _ensure("screenshot", count, _make_screenshot, SAMPLES)


if __name__ == "__main__":
    import sys

    walls = ensure_wallpapers(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
    shots = ensure_screenshots(int(sys.argv[2]) if len(sys.argv) > 2 else 4)
    for p in walls + shots:
        print(p, Path(p).stat().st_size // 1000, "KB")
