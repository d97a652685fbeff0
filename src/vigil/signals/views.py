"""Which view of a photo a PDQ hash is of: typed values, rendered as labels for people and storage.

A query photo is hashed as it is and in views that undo likely edits: its other orientations, the
photo trimmed to a content box, windows anchored on its corners; a listed photo keeps the hashes
of its windows. Code passes these as :class:`View` and :class:`Window` values; the label
(``"trimmed 640x480+0+120 rotate90"``, ``"window l12.5 t3.1 r40.0 b22.7 mirrored"``) is what a
report shows and what a list stores beside a derived hash. :meth:`Window.parse` reads a stored
label back, once, where a list is compiled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["ORIGINAL", "Box", "View", "Window", "frame_window_label", "parse_frame_window"]


class Box(NamedTuple):
    """A rectangle of an image in pixels: rows top..bottom-1, columns left..right-1."""

    top: int
    bottom: int
    left: int
    right: int

    def geometry(self) -> str:
        """ImageMagick's WxH+X+Y, as labels give it."""
        return f"{self.right - self.left}x{self.bottom - self.top}+{self.left}+{self.top}"

    def scaled(self, factor: int, width: int, height: int) -> Box:
        """This box of a photo decoded at 1/``factor`` size, in the pixels of the ``width`` x ``height`` photo."""
        x, y = min(self.left * factor, width - 1), min(self.top * factor, height - 1)
        w = min((self.right - self.left) * factor, width - x)
        h = min((self.bottom - self.top) * factor, height - y)
        return Box(y, y + h, x, x + w)


_WINDOW = re.compile(r"window l([\d.]+) t([\d.]+) r([\d.]+) b([\d.]+)( mirrored)?")


def _tenth(percent: float) -> float:
    return float(f"{percent:.1f}")  # what the label says is what is compared: one value either way


@dataclass(frozen=True)
class Window:
    """A window of a photo, as the percent of the photo's width or height cut from each side (to a
    tenth), seen mirrored left to right or not."""

    left: float
    top: float
    right: float
    bottom: float
    mirrored: bool = False

    @classmethod
    def cut(cls, left: float, top: float, right: float, bottom: float, mirrored: bool = False) -> Window:
        return cls(_tenth(left), _tenth(top), _tenth(right), _tenth(bottom), mirrored)

    @property
    def label(self) -> str:
        text = f"window l{self.left:.1f} t{self.top:.1f} r{self.right:.1f} b{self.bottom:.1f}"
        return f"{text} mirrored" if self.mirrored else text

    def mirror(self) -> Window:
        """The same window, of the photo mirrored left to right (as a list keeps it)."""
        return Window(self.left, self.top, self.right, self.bottom, not self.mirrored)

    @classmethod
    def parse(cls, label: str) -> Window | None:
        """The window a stored label names; None for a label that names none."""
        m = _WINDOW.fullmatch(label)
        if m is None:
            return None
        left, top, right, bottom = (float(m.group(k)) for k in range(1, 5))
        return cls(left, top, right, bottom, m.group(5) is not None)


@dataclass(frozen=True)
class View:
    """Which view of a photo: an orientation (one of ``pdq.DIHEDRAL_NAMES``) of the photo, or of it
    trimmed to a box, or a window of either; a small photo (or box) also enlarged before hashing."""

    orientation: str = "original"
    trimmed: Box | None = None
    window: Window | None = None
    enlarged: bool = False

    @property
    def label(self) -> str:
        parts = []
        if self.trimmed is not None:
            parts.append(f"trimmed {self.trimmed.geometry()}")
        if self.enlarged:
            parts.append("enlarged")
        if self.window is not None:
            parts.append(self.window.label)
        if self.orientation != "original" or not parts:
            parts.append(self.orientation)
        return " ".join(parts)

    @property
    def is_original(self) -> bool:
        return self == ORIGINAL

    def scaled(self, factor: int, width: int, height: int) -> View:
        """This view of a photo decoded at 1/``factor`` size, named in the photo's own pixels."""
        if self.trimmed is None or factor == 1:
            return self
        return View(self.orientation, self.trimmed.scaled(factor, width, height), self.window, self.enlarged)


ORIGINAL = View()

_FRAME_WINDOW = re.compile(r"frame (\d+) (window .*)")


def frame_window_label(frame: int, window: Window) -> str:
    """How a list made from media stores a window of one of a video's frames: "frame 30 window
    l12.5 t3.1 r40.0 b22.7" (the frame numbered as vPDQ numbers it)."""
    return f"frame {frame} {window.label}"


def parse_frame_window(label: str) -> tuple[int, Window] | None:
    """The frame and window a stored label names (:func:`frame_window_label`); None for another label."""
    m = _FRAME_WINDOW.fullmatch(label)
    if m is None:
        return None
    window = Window.parse(m.group(2))
    return None if window is None else (int(m.group(1)), window)
