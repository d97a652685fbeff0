"""Benign, reproducible benchmark inputs made from the ThreatExchange reference photos.

* Photos: random crops / mirrors / colour and brightness jitter of the real photos,
  scaled to camera sizes (>= 2560x1600), 90% JPEG at quality 75-95 and 10% PNG.
* Videos: 720p 30 fps H.264 (libx264, crf 23, x264's default GOP and scene-cut
  key frames), slow pans and zooms across the photos, a new scene every 2.5-6 s,
  and one shorter stress video whose every scene sweeps fast across its photo.

Everything is seeded; files already under bench/work/ are reused.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from common import PDQ_IMAGES, WORK, log

SEED = 20240611
PHOTO_SOURCES = [
    "reg-test-input/exif-rotn/exif-rotn-1.jpg",
    "reg-test-input/exif-rotn/exif-rotn-3.jpg",
    "reg-test-input/exif-rotn/exif-rotn-6.jpg",
    "reg-test-input/exif-rotn/exif-rotn-8.jpg",
    "bridge-mods/aaa-orig.jpg",
    "bridge-mods/high-saturation.jpg",
    "misc-images/c.png",
    "reg-test-input/pen-and-coaster.png",
]
# (width, height) of common camera / phone / web-original sizes, all >= 2560x1600
PHOTO_SIZES = [(4032, 3024), (3264, 2448), (4000, 2250), (3840, 2160), (3000, 2000), (2880, 1800), (2560, 1920),
               (2560, 1600)]
# Per generated video: its source photos, its motion, and its length as a share of --video-seconds. Only the two
# gen-720p-exif* videos share a photo (one family). "slow": per scene the view drifts by up to 8% of its width and
# zooms by up to 6%; "fast" (a stress case): every scene sweeps between two random views of the photo.
VIDEO_PLANS: dict[str, tuple[list[str], str, float]] = {
    "gen-720p-exif": (["reg-test-input/exif-rotn/exif-rotn-1.jpg", "reg-test-input/exif-rotn/exif-rotn-3.jpg"],
                      "slow", 1.0),
    "gen-720p-bridge": (["bridge-mods/aaa-orig.jpg", "misc-images/c.png"], "slow", 1.0),
    "gen-720p-misc": (["reg-test-input/pen-and-coaster.png"]
                      + [f"reg-test-input/labelme-subset/q{n:04d}.jpg" for n in (3, 122, 291, 746, 1050)],
                      "slow", 1.0),
    "gen-720p-exif-fastpan": (["reg-test-input/exif-rotn/exif-rotn-6.jpg", "reg-test-input/exif-rotn/exif-rotn-8.jpg"],
                              "fast", 0.5),
}
VIDEO_SIZE = (1280, 720)
VIDEO_FPS = 30

_cache: dict[str, Image.Image] = {}


def _source(rel: str) -> Image.Image:
    if rel not in _cache:
        with Image.open(PDQ_IMAGES / rel) as im:
            _cache[rel] = im.convert("RGB")
    return _cache[rel]


def _make_photo(job: tuple[int, str]) -> None:
    index, out = job
    rng = np.random.default_rng([SEED, index])
    src = _source(PHOTO_SOURCES[int(rng.integers(len(PHOTO_SOURCES)))])
    width, height = PHOTO_SIZES[int(rng.integers(len(PHOTO_SIZES)))]
    if rng.random() < 0.2:
        width, height = height, width  # portrait
    # Largest crop of the target aspect that fits, then 55-100% of it at a random place.
    sw, sh = src.size
    scale = min(sw / width, sh / height) * rng.uniform(0.55, 1.0)
    cw, ch = width * scale, height * scale
    x0, y0 = rng.uniform(0, sw - cw), rng.uniform(0, sh - ch)
    img = src.resize((width, height), Image.Resampling.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.2))
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))
    tmp = out + ".tmp"
    if out.endswith(".png"):
        img.save(tmp, format="PNG")
    else:
        img.save(tmp, format="JPEG", quality=int(rng.integers(75, 96)))
    os.replace(tmp, out)


def photo_paths(count: int) -> list[str]:
    folder = WORK / "photos"
    # Every tenth photo is a PNG (10%), the rest JPEG.
    return [str(folder / f"photo-{i:04d}.{'png' if i % 10 == 9 else 'jpg'}") for i in range(count)]


def ensure_photos(count: int) -> list[str]:
    paths = photo_paths(count)
    (WORK / "photos").mkdir(parents=True, exist_ok=True)
    todo = [(i, p) for i, p in enumerate(paths) if not (os.path.exists(p) and os.path.getsize(p) > 0)]
    if todo:
        log(f"generating {len(todo)} photos under {WORK / 'photos'} (seeded; reused next time)")
        with Pool(2) as pool:
            for n, _ in enumerate(pool.imap_unordered(_make_photo, todo, chunksize=4), 1):
                if n % 25 == 0:
                    log(f"  {n}/{len(todo)} photos")
    return paths


def _smooth(t: float) -> float:
    return t * t * (3 - 2 * t)


def _scene_boxes(rng: np.random.Generator, size: tuple[int, int], motion: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end crop boxes (16:9) for a pan / zoom inside a source photo."""
    sw, sh = size
    aspect = VIDEO_SIZE[0] / VIDEO_SIZE[1]
    full_w = min(sw, sh * aspect)
    w = full_w * rng.uniform(0.45, 0.9)
    x, y = rng.uniform(0, sw - w), rng.uniform(0, sh - w / aspect)
    start = np.array([x, y, x + w, y + w / aspect])
    if motion == "fast":  # anywhere else in the photo, at another zoom
        w = min(full_w, w * rng.uniform(0.8, 1.25))
        x, y = rng.uniform(0, sw - w), rng.uniform(0, sh - w / aspect)
    else:  # a drift of up to 8% of the view and a zoom of up to +-6%
        w = min(full_w, w * rng.uniform(0.94, 1.06))
        x = float(np.clip(x + w * rng.uniform(-0.08, 0.08), 0, sw - w))
        y = float(np.clip(y + w * rng.uniform(-0.08, 0.08), 0, sh - w / aspect))
    return start, np.array([x, y, x + w, y + w / aspect])


def _video_source(rel: str) -> Image.Image:
    """The photo reduced to at most twice the video width (pans need not resample 12 MP)."""
    src = _source(rel)
    factor = src.size[0] // (2 * VIDEO_SIZE[0])
    return src.reduce(factor) if factor >= 2 else src


def _make_video(job: tuple[str, float, Path]) -> None:
    import av

    name, seconds, out = job
    rels, motion, _share = VIDEO_PLANS[name]
    sources = [_video_source(rel) for rel in rels]

    rng = np.random.default_rng([SEED, sum(map(ord, name))])
    total = int(seconds * VIDEO_FPS)
    tmp = out.with_suffix(".tmp.mp4")
    container = av.open(str(tmp), mode="w")
    stream = container.add_stream("libx264", rate=VIDEO_FPS)
    stream.width, stream.height = VIDEO_SIZE
    stream.pix_fmt = "yuv420p"
    stream.options = {"crf": "23"}  # preset medium, x264's default GOP (keyint 250) and scene cuts
    stream.codec_context.thread_type = "AUTO"
    frame_no = 0
    while frame_no < total:
        src = sources[int(rng.integers(len(sources)))]
        if rng.random() < 0.5:
            src = src.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        length = min(total - frame_no, int(rng.uniform(2.5, 6.0) * VIDEO_FPS))
        start, end = _scene_boxes(rng, src.size, motion)
        for k in range(length):
            box = start + (end - start) * _smooth(k / max(1, length - 1))
            img = src.resize(VIDEO_SIZE, Image.Resampling.BILINEAR, box=tuple(float(v) for v in box))
            frame = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24").reformat(format="yuv420p")
            frame.pts = frame_no
            frame.time_base = Fraction(1, VIDEO_FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
            frame_no += 1
    for packet in stream.encode(None):
        container.mux(packet)
    container.close()
    os.replace(tmp, out)


def ensure_videos(seconds: float) -> list[str]:
    folder = WORK / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(name, seconds * share, folder / f"{name}-{seconds * share:g}s.mp4")
            for name, (_rels, _motion, share) in VIDEO_PLANS.items()]
    todo = [job for job in jobs if not job[2].exists()]
    if todo:
        log(f"generating {len(todo)} videos (720p30 H.264) under {folder} (reused next time)")
        with Pool(2) as pool:
            for _ in pool.imap_unordered(_make_video, todo):
                pass
    paths = [str(job[2]) for job in jobs]
    (folder / "README.json").write_text(json.dumps({"seed": SEED, "plans": VIDEO_PLANS}, indent=1))
    return paths
