"""Decide what a file is from its first bytes, never from its name.

A JPEG named ``.dat`` is a photo; random bytes named ``.png`` are nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Kind", "Sniffed", "sniff", "HEAD_BYTES"]

HEAD_BYTES = 64


class Kind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"
    ERROR = "error"


@dataclass(frozen=True)
class Sniffed:
    kind: Kind
    format: str  # short name: "jpeg", "png", "mp4", …, or a hint for other content


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
                b"avif", b"avis"}
# Photo signatures: (offset, bytes, format)
_IMAGE_MAGIC = (
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (0, b"BM", "bmp"),
    (0, b"II*\x00", "tiff"),
    (0, b"MM\x00*", "tiff"),
)
_VIDEO_MAGIC = (
    (0, b"\x1a\x45\xdf\xa3", "matroska"),  # MKV and WebM
    (0, b"FLV\x01", "flv"),
    (0, b"\x00\x00\x01\xba", "mpeg-ps"),
    (0, b"\x00\x00\x01\xb3", "mpeg-video"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),  # WMV
    (0, b"OggS", "ogg"),
)
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            return False
    return True


def sniff(head: bytes) -> Sniffed:
    """Kind and format from the first :data:`HEAD_BYTES` bytes of a file."""
    for offset, magic, fmt in _IMAGE_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if fmt == "bmp" and len(head) < 26:
                continue
            return Sniffed(Kind.IMAGE, fmt)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(Kind.IMAGE, "webp")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed(Kind.VIDEO, "avi")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed(Kind.IMAGE, "avif" if brand.startswith(b"avi") else "heif")
        return Sniffed(Kind.VIDEO, "quicktime" if brand == b"qt  " else "mp4")
    if head[4:8] in _QUICKTIME_ATOMS:
        return Sniffed(Kind.VIDEO, "quicktime")
    for offset, magic, fmt in _VIDEO_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return Sniffed(Kind.VIDEO, fmt)
    if head[:1] == b"\x47":
        # MPEG transport stream: sync byte 0x47 every 188 bytes (checked again by the decoder)
        return Sniffed(Kind.VIDEO, "mpeg-ts") if _maybe_ts(head) else Sniffed(Kind.OTHER, "data")
    if not head:
        return Sniffed(Kind.OTHER, "empty")
    return Sniffed(Kind.OTHER, "text" if _looks_like_text(head) else "data")


def _maybe_ts(head: bytes) -> bool:
    # Only the first packet fits in the head; require a plausible TS header too.
    return len(head) >= 4 and (head[1] & 0x80) == 0 and (head[3] & 0xC0) == 0
