"""A small benign case built from the bundled media: a list, evidence with edited copies, archives.

Everything is made from Meta's ThreatExchange test media (benign photos and a video): the
"known" list holds two of them; the evidence holds exact copies under other names, edited
copies (mirrored and re-encoded, framed in black borders, a video re-encoded at a smaller
size), archives (a zip holding a tar.gz, a 7z), a truncated photo, a photo under a misleading
name, an empty file and a text file.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import av
import py7zr
from PIL import Image, ImageOps

from ..errors import UsageError
from ..lists.media import add_media
from ..store import Store
from . import media_dir

__all__ = ["DemoCase", "build_demo", "LIST", "MARKER"]

MARKER = ".vigil-demo"
LIST = "demo-known"


@dataclass(frozen=True)
class DemoCase:
    root: Path
    db: Path
    evidence: Path
    out: Path


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def _smaller_video(source: Path, target: Path, scale: float) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w") as dst:
        stream = src.streams.video[0]
        encoder = dst.add_stream("mpeg4", rate=stream.average_rate)
        encoder.width = int(stream.width * scale) // 2 * 2
        encoder.height = int(stream.height * scale) // 2 * 2
        encoder.pix_fmt = "yuv420p"
        for frame in src.decode(stream):
            small = frame.reformat(width=encoder.width, height=encoder.height, format="yuv420p")
            fresh = av.VideoFrame.from_ndarray(small.to_ndarray(), format="yuv420p")  # no source timing
            for packet in encoder.encode(fresh):
                dst.mux(packet)
        for packet in encoder.encode():
            dst.mux(packet)


def build_demo(root: Path) -> DemoCase:
    """(Re)build the demo case under ``root``; a folder that is not a demo is never replaced."""
    if root.exists():
        if not (root / MARKER).exists():
            raise UsageError(f"{root} exists and is not a Vigil demo folder: choose another --dir")
        shutil.rmtree(root)
    media = media_dir()
    ev = root / "evidence"
    for folder in ("DCIM", "Downloads", "Videos", "Documents"):
        (ev / folder).mkdir(parents=True)
    (root / MARKER).write_text("made by `vigil demo`; safe to delete\n")

    db = root / "vigil.db"
    store = Store.open(db)
    try:
        add_media(store, LIST, [str(media / "bridge.jpg"), str(media / "clip.mp4")], source="vigil demo",
                  category="A", category_scheme="demo")
    finally:
        store.close()

    bridge = (media / "bridge.jpg").read_bytes()
    clip = (media / "clip.mp4").read_bytes()
    shutil.copy(media / "bridge.jpg", ev / "DCIM" / "IMG_2041.jpg")
    shutil.copy(media / "street.jpg", ev / "DCIM" / "IMG_2042.jpg")
    shutil.copy(media / "scene.dat", ev / "Documents" / "invoice.pdf")  # a photo under a misleading name
    shutil.copy(media / "broken.jpg", ev / "DCIM" / "IMG_2043.jpg")
    (ev / "Documents" / "empty.docx").write_bytes(b"")
    (ev / "Documents" / "notes.txt").write_text("shopping list: milk, bread\n")
    with Image.open(media / "bridge.jpg") as photo:
        (ev / "Downloads" / "shared-mirrored.jpg").write_bytes(_jpeg(ImageOps.mirror(photo), 80))
        framed = ImageOps.expand(photo, border=(photo.width // 6, photo.height // 5), fill="black")
        (ev / "Downloads" / "screenshot-framed.png").write_bytes(_jpeg(framed, 90))
    shutil.copy(media / "clip.mp4", ev / "Videos" / "holiday.mp4")
    _smaller_video(media / "clip.mp4", ev / "Videos" / "holiday-small.mp4", 0.5)

    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as tar:
        info = tarfile.TarInfo("phone/clip.mp4")
        info.size = len(clip)
        tar.addfile(info, io.BytesIO(clip))
    with zipfile.ZipFile(ev / "Downloads" / "backup.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("photos/bridge.jpg", bridge)
        z.writestr("photos/street.jpg", (media / "street.jpg").read_bytes())
        z.writestr("phone-backup.tar.gz", inner.getvalue())
    with py7zr.SevenZipFile(ev / "Documents" / "archive.7z", "w") as sz:
        sz.writestr(bridge, "old/bridge-copy.jpg")
    return DemoCase(root, db, ev, root / "case")
