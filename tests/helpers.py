from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any


def run_vigil(*args: str | os.PathLike[str] | bytes, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The real command, as a user runs it (stdout is a pipe: no progress bar)."""
    return subprocess.run([sys.executable, "-m", "vigil", *map(os.fsencode, args)], capture_output=True,
                          timeout=600, **kwargs)


def json_lines(proc: subprocess.CompletedProcess[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines() if line.strip()]


def write_huge_png(path: Path, width: int, height: int) -> None:
    """A valid 1-bit PNG of the given size, written row by row (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    body = bytearray()
    for _ in range(height):
        body += comp.compress(row)
    body += comp.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", bytes(body)) + chunk(b"IEND", b""))
