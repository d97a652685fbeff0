"""Does hashing a query's windows on a smaller copy of the photo lose crops? (issue 11, speed)

A scan in fast mode hashes a photo's query windows on its reduced decode (>= 512 px on the short
side: 1008x756 for a 12 MP photo). Window hashing is most of a photo's cost with a media-backed list,
and it scales with the pixels. This study lists every camera photo of bench/scan_png.py's corpus
as a media-backed list would (``media_signals`` in exact mode), makes edited copies that only windows
find (crops of 5% and 12% a side, at full and half size, a mirrored crop, a crop with a caption
bar), and for each long side asked of the query windows (``--sides``; 0: as the scan does today)
counts the copies whose windows match their listed photo under the scan's rule (two windows within
31 bits that ``windows_agree``), and the unrelated listed photos matched the same way (false
positives), and the time the query windows took.

Usage: python bench/window_side.py [--photos N] [--sides 0,768,640,512]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, log, table
from gen_inputs import ensure_photos
from png_corpus import ensure_camera_photos
from scan_png import _source_of
from vigil.hashing import HashOptions, hash_bytes
from vigil.hashing import photo as hphoto
from vigil.signals.mode import Mode
from vigil.signals.pdq import warm_up
from vigil.signals.variants import PHOTO_WINDOWS, windows_agree


def _jpeg(img: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def edits(path: str, rng: np.random.Generator) -> dict[str, bytes]:
    with Image.open(path) as im:
        im = im.convert("RGB")
    w, h = im.size

    def crop(share: float) -> Image.Image:
        cx, cy = int(w * share * rng.random()), int(h * share * rng.random())
        return im.crop((cx, cy, cx + int(w * (1 - share)), cy + int(h * (1 - share))))

    c5, c12 = crop(0.05), crop(0.12)
    half = c12.resize((c12.width // 2, c12.height // 2), Image.Resampling.LANCZOS)
    caption = ImageOps.expand(c5, border=(0, int(h * 0.12), 0, 0), fill="white")
    ImageDraw.Draw(caption).text((20, 10), "when the bench runs at last", fill="black")
    return {"crop 5%": _jpeg(c5), "crop 12%": _jpeg(c12), "crop 12%, half size": _jpeg(half),
            "crop 5%, mirrored": _jpeg(ImageOps.mirror(crop(0.05))), "crop 5%, caption bar": _jpeg(caption)}


def _bits(hexes: list[str]) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, 32), axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--sides", default="0,768,640,512")
    args = ap.parse_args()
    sides = [int(s) for s in args.sides.split(",")]
    warm_up()
    photos = ensure_camera_photos(ensure_photos(args.photos))
    log(f"window-side: listing {len(photos)} photos (media_signals, exact mode)")
    listed = [hash_bytes(Path(p).read_bytes(), HashOptions(mode=Mode.EXACT, derived=True)) for p in photos]
    l_hash = _bits([d.hash for r in listed for d in r.pdq_derived or []])
    l_owner = np.array([k for k, r in enumerate(listed) for _ in r.pdq_derived or []])
    l_window = [d.window for r in listed for d in r.pdq_derived or []]
    rng = np.random.default_rng(11)
    queries = [(k, name, data) for k, p in enumerate(photos) for name, data in edits(p, rng).items()]
    found: dict[int, dict[str, int]] = {s: defaultdict(int) for s in sides}
    false: dict[int, int] = defaultdict(int)
    seconds: dict[int, float] = defaultdict(float)
    kept = hphoto.WINDOW_QUERY_SIDE
    try:
        for side in sides:
            hphoto.WINDOW_QUERY_SIDE = side
            log(f"window-side: {len(queries)} queries, windows at long side {side or 'as today'}")
            for owner, name, data in queries:
                t0 = time.process_time()
                r = hash_bytes(data, HashOptions(mode=Mode.FAST, windows=True))
                seconds[side] += time.process_time() - t0
                views = [v for v in r.pdq_windows or [] if v.quality >= 50]
                if not views:
                    continue
                near = (_bits([v.hash for v in views])[:, None, :] != l_hash[None, :, :]).sum(axis=2) <= 31
                pairs: dict[int, list[tuple[object, object]]] = defaultdict(list)
                for qi, li in zip(*np.nonzero(near), strict=True):
                    pairs[int(l_owner[li])].append((views[qi].view, l_window[li]))
                hits = {o for o, p in pairs.items() if len(p) >= PHOTO_WINDOWS and windows_agree(p)}  # type: ignore[arg-type]
                found[side][name] += owner in hits
                # Photos cut from the same reference photo overlap: a hit on one of them is a true copy.
                false[side] += sum(1 for o in hits if _source_of(photos[o]) != _source_of(photos[owner]))
    finally:
        hphoto.WINDOW_QUERY_SIDE = kept
    names = list(dict.fromkeys(n for _, n, _ in queries))
    n = len(photos)
    rows = [[name, *(f"{found[s][name]}/{n}" for s in sides)] for name in names]
    rows.append(["false positives (listed photos of another reference scene matched)",
                 *(str(false[s]) for s in sides)])
    rows.append(["query hashing, ms a copy (fast mode, windows)",
                 *(f"{1000 * seconds[s] / len(queries):.1f}" for s in sides)])
    md = ["## Query windows on a smaller copy of the photo (bench/window_side.py)", "",
          f"{n} camera photos listed with `media_signals`; {len(queries)} edited copies hashed in fast mode "
          "with windows, matched by the scan's rule (two windows within 31 bits that agree).", "",
          *table(["copy", *(f"long side {s}" if s else "as today" for s in sides)], rows)]
    text = "\n".join(md) + "\n"
    (RESULTS / "window_side.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
