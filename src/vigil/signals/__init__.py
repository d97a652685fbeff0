"""Signals: the registry of signal types (what a value of each is, how far apart two are, how
lists index them), and the code that computes them from content (``digests``, ``pdq``,
``vpdq``, imported on their own: they load the photo and video stacks).

    from vigil.signals import SIGNALS, PDQ, get_signal
    get_signal("pdq").normalise(" F8F8…")   # → "f8f8…" (MalformedSignal if it is not a PDQ hash)
    [s.name for s in SIGNALS]                # → ["md5", "sha1", "sha256", "pdq", "vpdq"]

A plug-in (a licensed PhotoDNA, say) joins by ``SIGNALS.register(its_type)``; the signal test
kit (tests/test_signal_kit.py) runs over every registered type.
"""

from __future__ import annotations

from .base import HexSignalType, IndexKind, SignalType
from .digests import MD5, SHA1, SHA256
from .pdq_type import PDQ, PdqSignalType
from .registry import SignalRegistry
from .vpdq_type import VPDQ, VpdqSignalType

__all__ = [
    "HexSignalType",
    "IndexKind",
    "MD5",
    "PDQ",
    "PdqSignalType",
    "SHA1",
    "SHA256",
    "SIGNALS",
    "SignalRegistry",
    "SignalType",
    "VPDQ",
    "VpdqSignalType",
    "get_signal",
]

SIGNALS = SignalRegistry([MD5, SHA1, SHA256, PDQ, VPDQ])


def get_signal(name: str) -> SignalType:
    """The signal type called ``name``; UsageError naming the known ones if there is none."""
    return SIGNALS[name]
