"""The match service when things go wrong around it, as the real `vigil serve` meets them: a worker
killed with SIGKILL under load, and its PostgreSQL going away and coming back."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx2 as httpx
import psutil
import pytest

from helpers import free_port, vigil_serve
from vigil.lists import Record, Signal, import_records
from vigil.serve import create_key
from vigil.store import Store

PDQ_A = "f" * 64
PDQ_NEAR = "0" * 5 + "f" * 59
UNLISTED = "0" * 64



def _workers(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """The service's live worker processes (a killed one is a zombie until the supervisor reaps it)."""
    found = []
    for child in psutil.Process(proc.pid).children():
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
    return found


def _lookup(base: str, key: str, signal_hex: str, client: httpx.Client | None = None) -> httpx.Response:
    get = client.get if client is not None else httpx.get
    return get(f"{base}/v1/lookup", params={"signal_type": "pdq", "signal": signal_hex},
               headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_a_worker_killed_under_load_is_replaced_and_the_others_keep_answering(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    store = Store.open(db)
    import_records(store, "known", [Record("e1", [Signal.of("pdq", PDQ_A)])], action="add")
    _, key = create_key(store, "gate", "matcher")
    store.close()
    with vigil_serve(db, tmp_path / "cache", workers=2, args=["--rate", "0"]) as (proc, base):
        deadline = time.monotonic() + 30
        while len(_workers(proc)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        answered: list[tuple[float, int]] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                with httpx.Client() as client:  # a new connection each time: the next one may go to either worker
                    try:
                        answered.append((time.monotonic(), _lookup(base, key, PDQ_NEAR, client).status_code))
                    except httpx.TransportError:
                        answered.append((time.monotonic(), 0))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        victim = _workers(proc)[0]
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        replaced = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = {w.pid for w in _workers(proc)}
            if len(pids) == 2 and victim.pid not in pids:
                replaced = True
                break
            time.sleep(0.2)
        # Load goes on until the workers left have answered a good many (or long enough to say they did not).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and sum(
                1 for at, code in list(answered) if at > killed_at + 0.5 and code == 200) < 20:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join()
    assert replaced, "the killed worker was not replaced"
    after = [code for at, code in answered if at > killed_at + 0.5]
    assert after.count(200) >= 10 and after.count(200) / len(after) > 0.9, after  # the others kept answering
    assert all(code in (0, 200) for _, code in answered)  # at most the killed worker's requests were cut


class _Proxy:
    """A TCP forwarder on 127.0.0.1 that can be cut and restored: the service's way to its database."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # cut meanwhile
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_postgresql_going_away_gives_503s_and_the_service_recovers_without_a_restart(tmp_path: Path) -> None:
    url = os.environ.get("VIGIL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL not tested: set VIGIL_TEST_POSTGRES_URL (CI does)")
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    proxy = _Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    proxy.start()
    schema = f"vigil_test_{uuid.uuid4().hex[:12]}"
    admin = Store.open(url, migrate=False)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = f"{via_proxy}{sep}options=-csearch_path%3D{schema}"
    try:
        store = Store.open(db)
        import_records(store, "known", [Record("e1", [Signal.of("pdq", PDQ_A)])], action="add")
        _, key = create_key(store, "gate", "matcher")
        store.close()
        with vigil_serve(db, tmp_path / "cache", workers=1, args=["--rate", "0"]) as (_, base):
            assert _lookup(base, key, PDQ_NEAR).json()["matches"][0]["entry"] == "e1"
            proxy.stop()
            down = _lookup(base, key, PDQ_NEAR)
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] in ("store_unusable", "unavailable")
            assert "database" in down.json()["error"]["message"]
            assert httpx.get(f"{base}/v1/health", timeout=10).status_code == 503
            time.sleep(6)  # past the key cache: the key is known to this worker, and stays trusted
            # What needs no database still answers: an unlisted hash looked up in the loaded index.
            assert _lookup(base, key, UNLISTED).json() == {"query": {"type": "pdq", "value": UNLISTED}, "matches": []}
            assert _lookup(base, "vgl_unknown", UNLISTED).status_code == 503  # a key it never saw waits
            proxy.start()
            deadline = time.monotonic() + 30
            while True:
                back = _lookup(base, key, PDQ_NEAR)
                if back.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert back.status_code == 200 and back.json()["matches"][0]["entry"] == "e1"
            assert httpx.get(f"{base}/v1/health", timeout=10).status_code == 200
    finally:
        proxy.stop()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.close()
