from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.main
from typer.testing import CliRunner

from vigil.cli.main import app, main


def run_vigil(*args: str | os.PathLike[str] | bytes, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """The real command, as a user runs it (stdout is a pipe: no progress bar)."""
    return subprocess.run([sys.executable, "-m", "vigil", *map(os.fsencode, args)], capture_output=True,
                          timeout=600, **kwargs)


@dataclass(frozen=True)
class Ran:
    """What a run of the command left: its exit status and the bytes it wrote (as subprocess.run gives them)."""

    returncode: int
    stdout: bytes
    stderr: bytes


def invoke(*args: str | os.PathLike[str] | bytes, input: str | bytes | None = None,
           env: Mapping[str, str | None] | None = None) -> Ran:
    """The command run in this process, through ``main()`` as the ``vigil`` script runs it: the same
    argv (bytes as surrogate escapes), error handling and exit codes; stdin from ``input``; stdout and
    stderr captured as bytes, neither a terminal (no progress bar); ``env`` set for the call only.
    An exception main() does not turn into a message (a stack trace for a user) is raised here.
    Use ``run_vigil`` where the process itself is the point: start-up, signals, terminals, the shell."""
    argv = ["vigil", *(os.fsdecode(a) for a in args)]
    with CliRunner().isolation(input=input, env=env) as (out, err, _):
        saved = sys.argv
        sys.argv = argv
        try:
            main()
            code: int = 0
        except SystemExit as exc:
            code = _exit_status(exc.code)
        finally:
            sys.argv = saved
            sys.stdout.flush()
            sys.stderr.flush()
        return Ran(code, out.getvalue(), err.getvalue())


def commands() -> dict[str, Any]:
    """Every command and group of ``vigil`` (Click objects, as Typer builds them) by its words
    ("" is ``vigil`` itself)."""
    found: dict[str, Any] = {}

    def walk(words: str, command: Any) -> None:
        found[words] = command
        if hasattr(command, "commands"):  # a group
            for name, sub in command.commands.items():
                walk(f"{words} {name}".strip(), sub)

    walk("", typer.main.get_command(app))
    return found


def _exit_status(code: object) -> int:
    """sys.exit's argument as the shell sees it: None is 0, a message is printed by Python and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def json_lines(proc: subprocess.CompletedProcess[bytes] | Ran) -> list[dict[str, Any]]:
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def vigil_serve(db: str, cache: Path, *, workers: int = 2, args: Sequence[str] = (),
                log: Path | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """The real `vigil serve` on a free port of 127.0.0.1, ready (its health route answers): the process
    and its base URL; stopped with SIGTERM when the block ends. Its output goes to ``log`` if given."""
    import httpx2 as httpx

    port = free_port()
    env = {**os.environ, "VIGIL_CACHE": str(cache)}
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "vigil", "serve", "--port", str(port), "--db", db,
                                 "--workers", str(workers), *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                        break
                assert proc.poll() is None and time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
            yield proc, base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def file_match(store: Any, md5: str = "ab" * 16, entry: str = "e1") -> None:
    """One lookup of ``md5`` that matched ``entry`` of list "known", written as the service writes match
    events (filed under its review item)."""
    from vigil.matching import Match, QueryResult
    from vigil.serve.events import EventWriter

    writer = EventWriter(store, flush_seconds=0.05)
    writer.record("lookup", "gate", [({"type": "md5", "value": md5},
                                      QueryResult("q", [Match("known", entry, "md5", 0, "original", "1")]))])
    assert writer.flush()
    writer.close()

