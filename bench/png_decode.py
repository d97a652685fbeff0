"""PNG decoding as fast mode does it (reduced by 4): Pillow, libspng + ``Image.reduce``, and Vigil's
libdeflate + numba path (media/_png.py), on bench/png_corpus.py's wallpapers and screenshots.

CPU milliseconds (best of 5) per photo, and whether the pixels are Pillow's exactly.

Usage: python bench/png_decode.py [--wallpapers N] [--screenshots N]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, fmt, table
from png_corpus import ensure_screenshots, ensure_wallpapers


def _best(fn: Callable[[], np.ndarray], repeat: int = 5) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    assert out is not None
    return best * 1e3, out


def main() -> None:
    import numba  # noqa: F401  (loaded, as in a scan: media/photo.py then takes the fast path)
    import pyspng

    from vigil.media._png import decode_png_rgb

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wallpapers", type=int, default=20)
    ap.add_argument("--screenshots", type=int, default=24)
    args = ap.parse_args()
    paths = ensure_wallpapers(args.wallpapers) + ensure_screenshots(args.screenshots)
    decode_png_rgb(Path(paths[0]).read_bytes(), 4)  # compiled or loaded from numba's cache
    rows, sums = [], {"pillow": 0.0, "spng": 0.0, "vigil": 0.0}
    same = True
    for path in paths:
        data = Path(path).read_bytes()
        t_pil, want = _best(lambda: np.asarray(Image.open(io.BytesIO(data)).convert("RGB").reduce(4)))  # noqa: B023
        t_spng, _ = _best(lambda: np.asarray(Image.fromarray(pyspng.load(data)[:, :, :3]).reduce(4)))  # noqa: B023
        t_fast, got = _best(lambda: decode_png_rgb(data, 4))  # type: ignore[arg-type,return-value]  # noqa: B023
        same &= bool(np.array_equal(got, want))
        sums["pillow"] += t_pil
        sums["spng"] += t_spng
        sums["vigil"] += t_fast
        with Image.open(path) as im:
            size = f"{im.width}x{im.height}"
        rows.append([Path(path).name, size, fmt(len(data) / 1e6, 1), fmt(t_pil, 1), fmt(t_spng, 1), fmt(t_fast, 1)])
    n = len(paths)
    rows.append(["**mean**", "", "", fmt(sums["pillow"] / n, 1), fmt(sums["spng"] / n, 1), fmt(sums["vigil"] / n, 1)])
    md = ["## PNG decoding reduced by 4 (bench/png_decode.py)", "",
          f"CPU ms, best of 5; pixels identical to Pillow's `convert('RGB').reduce(4)` for every file: {same}.", "",
          *table(["file", "size", "MB", "Pillow", "libspng + Image.reduce (before)", "libdeflate + numba (now)"],
                 rows)]
    text = "\n".join(md) + "\n"
    (RESULTS / "png_decode.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
