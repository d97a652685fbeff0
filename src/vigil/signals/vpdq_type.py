"""The vPDQ signal type: a video's PDQ frames in Meta's reference text form, one
``frame,quality,hex,timestamp`` line per hashed frame.

Computing vPDQ from a video is ``signals.vpdq``'s work; this module is the value's text and
distance only, so that lists can read vPDQ values without loading the video stack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import MalformedSignal
from .base import IndexKind, SignalType

__all__ = ["VpdqFeature", "VpdqSignalType", "VPDQ", "parse_line", "format_lines"]


@dataclass(frozen=True)
class VpdqFeature:
    frame: int
    quality: int
    hash: str
    timestamp: float

    def to_line(self) -> str:
        return f"{self.frame},{self.quality},{self.hash},{self.timestamp:.3f}"

    def to_json(self) -> dict[str, object]:
        return {"frame": self.frame, "quality": self.quality, "hash": self.hash, "timestamp": round(self.timestamp, 3)}


def parse_line(line: str) -> VpdqFeature:
    """Read one ``frame,quality,hex,timestamp`` line (the reference text form); MalformedSignal if it is not one."""
    parts = line.strip().split(",")
    if len(parts) != 4:
        raise MalformedSignal(f"not a vPDQ line (want frame,quality,hex,timestamp): {line.strip()[:80]!r}")
    frame, quality, hexhash, ts = parts
    hexhash = hexhash.lower()
    if len(hexhash) != 64 or any(c not in "0123456789abcdef" for c in hexhash):
        raise MalformedSignal(f"not a 64-digit PDQ hex hash: {hexhash[:80]!r}")
    try:
        return VpdqFeature(int(frame), int(quality), hexhash, float(ts))
    except ValueError:
        raise MalformedSignal(f"not a vPDQ line (frame and quality are integers, timestamp a number): "
                              f"{line.strip()[:80]!r}") from None


def format_lines(features: Iterable[VpdqFeature]) -> str:
    return "".join(f.to_line() + "\n" for f in features)


class VpdqSignalType(SignalType):
    """vPDQ: frames match at PDQ distance 31 or under (frames of quality under 50 left out), and a
    video matches when 80% of the query's frames match the listed video's (``vigil.index.vpdq``).

    A value's lines may also come joined by ";" (one line of a text file). Its distance to another
    is the smallest PDQ distance between a frame of one and a frame of the other: the distance a
    video match reports.
    """

    name = "vpdq"
    index = IndexKind.VPDQ
    file_digest = False
    threshold = 31
    quality = 50
    ignores_case = True
    query_percent = 80.0  # share of the query's frames that must match the listed video's
    list_percent = 0.0  # share of the listed video's frames the query must match (0: any)
    # Examples: Meta's reference vPDQ of videos/doorknob-hd-no-bar.mp4 at one hash a second, and its first frame.
    examples = (
        "0,100,dadb999c25266273529cadac8dcb52c22324ad3bce99726c38668d93c799f06c,0.000\n"
        "30,68,c8feb0fc73910f830fc6307cf039e7030fc61b9cf8717cf00fce00070003fffe,1.000\n"
        "60,0,4de4be27bac5c7946af3ac061dea8798275e6abcd1428b8491e4c34ecb5362e8,2.000\n"
        "90,24,54aa52aa555aaabaaa55ad55aad55555557a54aa55aa554aaaaa5555a955aa95,3.000",
        "0,100,dadb999c25266273529cadac8dcb52c22324ad3bce99726c38668d93c799f06c,0.000",
    )

    def features(self, text: str) -> list[VpdqFeature]:
        """The frames of a value, in its order; MalformedSignal if it has none or a bad line."""
        lines = [line for line in text.replace(";", "\n").splitlines() if line.strip()]
        if not lines:
            raise MalformedSignal(f"empty {self.name} value")
        return [parse_line(line) for line in lines]

    def normalise(self, text: str) -> str:
        return "\n".join(f.to_line() for f in self.features(text))

    def distance(self, a: str, b: str) -> int:
        mine = {int(f.hash, 16) for f in self.features(a)}
        theirs = {int(f.hash, 16) for f in self.features(b)}
        return min((x ^ y).bit_count() for x in mine for y in theirs)


VPDQ = VpdqSignalType()
