"""Make the recall test's committed corpus (tests/test_edit_recall.py): listed photos of both kinds and
decoys, as JPEG files, so that the test neither draws scenes (slow) nor depends on how this machine
draws them. Run from the repository root: ``.venv/bin/python tests/data/recall/make.py``.

Drawn from ``benign_corpus.build_corpus`` (seed 0, the bundled ThreatExchange photos, no scikit-image
samples): listed are 16 textured photos (every real-photo tile, then synthetic scenes) and 16
low-texture ones (4 of each kind); decoys are 8 more synthetic and 8 more low-texture scenes of the
same corpus, and 8 scenes of the same style as listed ones (``same_style``). Each is reduced to at
most ``SIDE`` px on its long side and saved as JPEG (quality 90); a decoy within 63 bits of a listed
photo in any orientation, as saved, is left out.
"""

from __future__ import annotations

import sys
from itertools import zip_longest
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/: benign_corpus, conftest

from benign_corpus import MIN_DISTANCE, SMOOTH_KINDS, build_corpus, same_style  # noqa: E402
from conftest import BUNDLED_REFDATA  # noqa: E402
from vigil.signals.pdq import dihedral_rgb  # noqa: E402

SIDE = 640
TEXTURED, PER_KIND, DECOYS = 16, 4, 8


def _save(rgb: np.ndarray, path: Path) -> np.ndarray:
    image = Image.fromarray(rgb)
    scale = SIDE / max(image.size)
    if scale < 1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=90)
    with Image.open(path) as saved:
        return np.asarray(saved.convert("RGB"))


def _bits(hexes: list[str]) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, 32), axis=1)


def main() -> None:
    photos = build_corpus(TEXTURED + DECOYS + 4, seed=0, refdata=BUNDLED_REFDATA, samples=False, smooth=40)
    textured = [p for p in photos if p.source != "smooth"]
    smooth = {k: [p for p in photos if p.source == "smooth" and p.name.split("/")[1] == k] for k in SMOOTH_KINDS}
    listed = textured[:TEXTURED] + [p for k in SMOOTH_KINDS for p in smooth[k][:PER_KIND]]
    assert len(listed) == TEXTURED + PER_KIND * len(SMOOTH_KINDS), "too few scenes of some kind: draw more"
    rest_smooth = [p for row in zip_longest(*(smooth[k][PER_KIND:] for k in SMOOTH_KINDS)) for p in row if p]
    decoys: list[tuple[str, np.ndarray]] = [(p.name, p.rgb) for p in textured[TEXTURED:TEXTURED + DECOYS]]
    decoys += [(p.name, p.rgb) for p in rest_smooth[:DECOYS]]
    for p in [p for p in listed if p.source != "tile"][::3][:DECOYS]:  # synthetic and smooth, every third
        rgb = same_style(p, 0, 1)
        assert rgb is not None
        decoys.append((f"style-of-{p.name}", rgb))
    for folder in ("listed", "decoys"):
        for old in (HERE / folder).glob("*.jpg"):
            old.unlink()
    kept = []
    for p in listed:
        saved = _save(p.rgb, HERE / "listed" / f"{p.name.replace('/', '_')}.jpg")
        kept.append(dihedral_rgb(saved)[0]["original"])
    listed_bits = _bits(kept)
    for name, rgb in decoys:
        path = HERE / "decoys" / f"{name.replace('/', '_')}.jpg"
        saved = _save(rgb, path)
        near = (_bits(list(dihedral_rgb(saved)[0].values()))[:, None] != listed_bits[None]).sum(axis=2).min()
        if near <= MIN_DISTANCE:
            print(f"left out {path.name}: {near} bits from a listed photo")
            path.unlink()
    total = sum(f.stat().st_size for f in HERE.glob("*/*.jpg"))
    print(f"{len(list(HERE.glob('listed/*.jpg')))} listed, {len(list(HERE.glob('decoys/*.jpg')))} decoys, "
          f"{total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
