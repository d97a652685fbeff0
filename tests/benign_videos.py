"""Benign generated videos, and edited copies made the way real copies of videos look.

Used by the video tests (tests/test_video_views.py) and the video recall bench
(bench/video_recall.py). Everything is seeded: the same arguments give the same frames.

``scene(kind, seed, seconds, fps, size) -> list[np.ndarray]``
    The RGB frames of one scene: ``shapes`` (textured shapes moving over a gradient), ``pan``
    (a camera panning and zooming over a synthetic photo from ``benign_corpus``), ``smooth``
    (soft blobs drifting over smooth gradients: few corners, no noise), ``dark`` (a night scene:
    the top third near-black but textured and changing, shapes moving below and through it).

``edit(frames, name, seed) -> list[np.ndarray]``
    One of ``EDITS``: ``mirror`` (left to right), ``letterbox`` (the frame made a third taller by
    black bars above and below: 16:9 -> 4:3), ``pillarbox`` (a third wider by bars left and right:
    4:3 -> 16:9), ``windowbox`` (the picture at 78% inside bars on all four sides), ``crop10``
    (6-10% cut from each side, then scaled back to the frame's size).

``write_video(path, frames, fps, gop)``
    H.264 in MP4 through PyAV, a key frame every ``gop`` frames.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benign_corpus import synthetic_scene

KINDS = ("shapes", "pan", "smooth", "dark")
EDITS = ("mirror", "letterbox", "pillarbox", "windowbox", "crop10")


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    a, b, c = (rng.uniform(20, 235, 3) for _ in range(3))
    y = np.linspace(0, 1, h)[:, None, None]
    x = np.linspace(0, 1, w)[None, :, None]
    angle = rng.uniform(0, 1)
    t = angle * x + (1 - angle) * y
    out = a * (1 - t) + b * t
    for _ in range(3):  # smooth waves of a few cycles across the frame: structure PDQ sees, no noise
        fx, fy = rng.uniform(-6, 6, 2) * np.pi
        out = out + rng.uniform(15, 35, 3) * np.sin(fx * x + fy * y + rng.uniform(0, 2 * np.pi))
    return np.asarray(out + (c - a) * 0.2, np.float32)


def _shapes(rng: np.random.Generator, n: int, size: tuple[int, int], textured: bool) -> list[dict[str, object]]:
    w, h = size
    out: list[dict[str, object]] = []
    for _ in range(n):
        r = float(rng.uniform(0.06, 0.22) * min(w, h))
        out.append({
            "pos": rng.uniform([0, 0], [w, h]), "vel": rng.uniform(-1, 1, 2) * min(w, h) * 0.25,
            "r": r, "kind": int(rng.integers(0, 3)),
            "fill": tuple(int(v) for v in rng.integers(0, 256, 3)),
            "line": tuple(int(v) for v in rng.integers(0, 256, 3)) if textured else None,
        })
    return out


def _draw(base: np.ndarray, shapes: list[dict[str, object]], t: float, size: tuple[int, int],
          blur: float = 0.0) -> np.ndarray:
    w, h = size
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for s in shapes:
        pos = np.asarray(s["pos"]) + np.asarray(s["vel"]) * t
        x = float(abs((pos[0] % (2 * w)) - w) if pos[0] % (2 * w) > w else pos[0] % (2 * w))
        y = float(abs((pos[1] % (2 * h)) - h) if pos[1] % (2 * h) > h else pos[1] % (2 * h))
        r = float(s["r"])  # type: ignore[arg-type]
        box = (x - r, y - r * 0.7, x + r, y + r * 0.7)
        fill = s["fill"]
        if s["kind"] == 0:
            draw.ellipse(box, fill=fill, outline=s["line"], width=3)  # type: ignore[arg-type]
        elif s["kind"] == 1:
            draw.rectangle(box, fill=fill, outline=s["line"], width=3)  # type: ignore[arg-type]
        else:
            draw.polygon([(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.6)], fill=fill,  # type: ignore[arg-type]
                         outline=s["line"])  # type: ignore[arg-type]
        if s["line"] is not None:
            for k in range(3):
                draw.line((x - r * 0.6, y - r * 0.3 + k * r * 0.3, x + r * 0.6, y - r * 0.2 + k * r * 0.3),
                          fill=s["line"], width=2)  # type: ignore[arg-type]
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


def scene(kind: str, seed: int, seconds: float = 8.0, fps: int = 10,
          size: tuple[int, int] = (320, 180)) -> list[np.ndarray]:
    """The frames of one benign scene (see the module docstring)."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    w, h = size
    total = int(seconds * fps)
    frames: list[np.ndarray] = []
    if kind == "pan":
        photo = synthetic_scene(rng)
        ph, pw = photo.shape[:2]
        src = Image.fromarray(photo)
        view = min(pw, ph * w / h) * rng.uniform(0.5, 0.7)
        start = rng.uniform([0, 0], [pw - view, ph - view * h / w])
        end = rng.uniform([0, 0], [pw - view, ph - view * h / w])
        for i in range(total):
            t = i / max(1, total - 1)
            x, y = start + (end - start) * t
            zoom = view * (1 + 0.15 * np.sin(np.pi * t))
            zoom = min(zoom, pw - x, (ph - y) * w / h)
            box = (x, y, x + zoom, y + zoom * h / w)
            frames.append(np.asarray(src.resize(size, Image.Resampling.BILINEAR, box=box)))
        return frames
    textured = kind in ("shapes", "dark")
    shapes = _shapes(rng, int(rng.integers(6, 11)), size, textured)
    base = _gradient(rng, h, w)
    if kind == "dark":
        base *= 0.5
    # Scene cuts: a new background and shapes every few seconds, as edited videos have.
    cut = int(rng.uniform(3, 5) * fps)
    for i in range(total):
        if i and i % cut == 0:
            shapes = _shapes(rng, int(rng.integers(6, 11)), size, textured)
            base = _gradient(rng, h, w) * (0.5 if kind == "dark" else 1.0)
        t = (i % cut) / fps
        frame = _draw(base, shapes, t, size, blur=1.5 if kind == "smooth" else 0.0)
        if kind == "dark":
            frame = _darken_top(frame, rng, i)
        frames.append(frame)
    return frames


def _darken_top(frame: np.ndarray, rng: np.random.Generator, i: int) -> np.ndarray:
    """A night sky over the top third: near-black, with faint stars and a glow that drift."""
    out = frame.copy()
    h, w = frame.shape[:2]
    band = h // 3
    y = np.arange(band)[:, None]
    x = np.arange(w)[None, :]
    glow = 6 + 5 * np.sin(x / 23.0 + i * 0.35) * np.cos(y / 11.0 - i * 0.2)
    sky = np.repeat(np.clip(glow, 0, 255)[..., None], 3, axis=2)
    stars = rng.random((band, w)) < 0.004
    sky[stars] = 90
    keep = out[:band].astype(np.int32).sum(axis=2) > 500  # bright shapes still pass through the sky
    out[:band] = np.where(keep[..., None], out[:band], sky.astype(np.uint8))
    return out


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))


def _boxed(frame: np.ndarray, canvas: tuple[int, int], inner: tuple[int, int], colour: int = 0) -> np.ndarray:
    cw, ch = canvas
    iw, ih = inner
    out = np.full((ch, cw, 3), colour, np.uint8)
    x, y = (cw - iw) // 2, (ch - ih) // 2
    out[y:y + ih, x:x + iw] = _fit(frame, iw, ih)
    return out


def edit(frames: list[np.ndarray], name: str, seed: int = 0) -> list[np.ndarray]:
    """An edited copy's frames (see the module docstring); sizes stay even, as H.264 wants."""
    h, w = frames[0].shape[:2]
    rng = np.random.default_rng([seed, EDITS.index(name)])
    if name == "mirror":
        return [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    if name == "letterbox":  # the picture keeps its width; the frame a third taller (16:9 -> 4:3)
        return [_boxed(f, (w, (h * 4 // 3) // 2 * 2), (w, h)) for f in frames]
    if name == "pillarbox":  # the picture keeps its height; the frame a third wider (4:3 -> 16:9)
        return [_boxed(f, ((w * 4 // 3) // 2 * 2, h), (w, h)) for f in frames]
    if name == "windowbox":
        iw, ih = (int(w * 0.78) // 2 * 2, int(h * 0.78) // 2 * 2)
        return [_boxed(f, (w, h), (iw, ih)) for f in frames]
    if name == "crop10":
        left, top, right, bottom = (float(v) for v in rng.uniform(0.06, 0.10, 4))
        box = (round(left * w), round(top * h), w - round(right * w), h - round(bottom * h))
        return [_fit(np.ascontiguousarray(f[box[1]:box[3], box[0]:box[2]]), w, h) for f in frames]
    raise ValueError(f"unknown edit {name!r}")


def write_video(path: Path | str, frames: list[np.ndarray], fps: int = 10, gop: int = 20, crf: int = 23) -> None:
    """Frames as H.264 (yuv420p) in MP4, a key frame every ``gop`` frames."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
