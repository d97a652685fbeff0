"""Meta's C++ PDQ tail (quality metric, DCT, bit packing, the dihedral transforms), called through
ctypes in pdqhash's own extension module; and pdqhash's public API, the reference and the fallback.

No numba here: fast mode's reduced photos go from their 64x64 buffer (``_pdqfast``) to a hash
through this module alone. ``BOUND`` is False when the symbols cannot be bound (another pdqhash
build); callers then use :func:`reference_hex`.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import numpy as np
import pdqhash

__all__ = [
    "BOUND",
    "DIHEDRAL_NAMES",
    "ZERO_HASH",
    "bits_to_hex",
    "dct_rows",
    "dihedral_from_buffer64",
    "hash_from_buffer64",
    "orientations_from_buffer64",
    "reference_hex",
    "words_to_hex",
]

DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)


class _Hash256(ctypes.Structure):
    _fields_ = [("w", ctypes.c_uint16 * 16)]


_F64x64 = ctypes.POINTER(ctypes.c_float)
_SYMBOLS = {
    "quality": "_ZN8facebook3pdq7hashing27pdqImageDomainQualityMetricEPA64_f",
    "dct": "_ZN8facebook3pdq7hashing9dct64To16EPA64_fS3_PA16_f",
    "bits": "_ZN8facebook3pdq7hashing20pdqBuffer16x16ToBitsEPA16_fPNS1_7Hash256E",
    "rotate90": "_ZN8facebook3pdq7hashing23dct16OriginalToRotate90EPA16_fS3_",
    "rotate180": "_ZN8facebook3pdq7hashing24dct16OriginalToRotate180EPA16_fS3_",
    "rotate270": "_ZN8facebook3pdq7hashing24dct16OriginalToRotate270EPA16_fS3_",
    "flipx": "_ZN8facebook3pdq7hashing20dct16OriginalToFlipXEPA16_fS3_",
    "flipy": "_ZN8facebook3pdq7hashing20dct16OriginalToFlipYEPA16_fS3_",
    "flipplus1": "_ZN8facebook3pdq7hashing24dct16OriginalToFlipPlus1EPA16_fS3_",
    "flipminus1": "_ZN8facebook3pdq7hashing25dct16OriginalToFlipMinus1EPA16_fS3_",
}


def _bind() -> dict[str, Any] | None:
    paths = glob.glob(os.path.join(os.path.dirname(pdqhash.__file__), "bindings*.so"))
    if not paths:
        return None
    try:
        lib = ctypes.CDLL(paths[0])
        funcs = {name: getattr(lib, sym) for name, sym in _SYMBOLS.items()}
    except (OSError, AttributeError):
        return None
    for f in funcs.values():
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        f.restype = None
    funcs["quality"].argtypes = [ctypes.c_void_p]
    funcs["quality"].restype = ctypes.c_int
    funcs["dct"].argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    return funcs


_C = _bind()
BOUND = _C is not None


def words_to_hex(words: np.ndarray | ctypes.Array[ctypes.c_uint16]) -> str:
    """PDQ's text form: the sixteen 16-bit words, most significant first."""
    return "".join(f"{int(w):04x}" for w in reversed(list(words)))


def _bits_hex(buf16: np.ndarray) -> str:
    assert _C is not None
    h = _Hash256()
    _C["bits"](buf16.ctypes.data, ctypes.addressof(h))
    return words_to_hex(h.w)


def _dct(b64: np.ndarray) -> tuple[np.ndarray, int]:
    assert _C is not None, "callers check AVAILABLE"
    b64 = np.ascontiguousarray(b64, np.float32)
    b16x64 = np.empty((16, 64), np.float32)
    b16 = np.empty((16, 16), np.float32)
    quality = int(_C["quality"](b64.ctypes.data))
    _C["dct"](b64.ctypes.data, b16x64.ctypes.data, b16.ctypes.data)
    return b16, quality


ZERO_HASH = "0" * 64


def dct_rows(b64: np.ndarray) -> np.ndarray:
    """The first half of the C++ DCT, its 16x64 product D A of the DCT matrix D and a 64x64 buffer A
    (for ``_pdqbatch`` to read D out of the core exactly)."""
    assert _C is not None, "callers check BOUND"
    b64 = np.ascontiguousarray(b64, np.float32)
    t = np.empty((16, 64), np.float32)
    b16 = np.empty((16, 16), np.float32)  # held here: the C++ writes into it
    _C["dct"](b64.ctypes.data, t.ctypes.data, b16.ctypes.data)
    return t


def hash_from_buffer64(b64: np.ndarray) -> tuple[str, int]:
    """PDQ hash (hex) and quality from the 64x64 downscaled luma."""
    b16, quality = _dct(b64)
    return _bits_hex(b16), quality


def dihedral_from_buffer64(b64: np.ndarray) -> tuple[dict[str, str], int]:
    """The eight dihedral hashes (original, rotations, flips) and quality, from one DCT."""
    assert _C is not None, "callers check AVAILABLE"
    b16, quality = _dct(b64)
    out = {"original": _bits_hex(b16)}
    aux = np.empty((16, 16), np.float32)
    for name in DIHEDRAL_NAMES[1:]:
        _C[name](b16.ctypes.data, aux.ctypes.data)
        out[name] = _bits_hex(aux)
    return out, quality


def orientations_from_buffer64(b64: np.ndarray, names: tuple[str, ...]) -> tuple[dict[str, str], int]:
    """Some of the dihedral hashes (``names``, of ``DIHEDRAL_NAMES``) and quality, from one DCT:
    a video's frames want only "original" and "flipy" (mirrored left to right)."""
    assert _C is not None, "callers check AVAILABLE"
    b16, quality = _dct(b64)
    out = {}
    aux = np.empty((16, 16), np.float32)
    for name in names:
        if name == "original":
            out[name] = _bits_hex(b16)
        else:
            _C[name](b16.ctypes.data, aux.ctypes.data)
            out[name] = _bits_hex(aux)
    return out, quality


def bits_to_hex(bits: np.ndarray) -> str:
    """pdqhash's 256-element bit vector (most significant first) as PDQ hex."""
    return f"{int(''.join(str(int(b)) for b in bits), 2):064x}"


def reference_hex(rgb: np.ndarray) -> tuple[str, int]:
    """PDQ through pdqhash's public API: the reference, and the fallback."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return bits_to_hex(bits), int(quality)
