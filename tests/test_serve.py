"""The match service as clients meet it: keys and roles, lookups, errors, limits (in process, with
FastAPI's test client), and once as the real `vigil serve` command on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from conftest import BUNDLED_REFDATA
from helpers import invoke, vigil_serve
from vigil.lists import Record, Signal, import_records, revoke, segments
from vigil.serve import Role, ServeSettings, create_app, create_key, list_keys, revoke_key
from vigil.store import Store

PDQ_A = "f" * 64
PDQ_NEAR = "0" * 5 + "f" * 59  # 20 bits from PDQ_A
MD5 = "ab" * 16
PHOTO = BUNDLED_REFDATA / "pdq-images/bridge-mods/square-512x512.jpg"


def _listed(store: Store) -> None:
    import_records(store, "known", [Record("e1", [Signal.of("pdq", PDQ_A), Signal.of("md5", MD5)], "A1"),
                                    Record("e2", [Signal.of("sha1", "cd" * 20)])], action="add")


@pytest.fixture
def service(store: Store) -> Iterator[tuple[TestClient, dict[Role, str], Store]]:
    _listed(store)
    keys = {role: create_key(store, f"{role.value}-key", role)[1] for role in Role}
    app = create_app(ServeSettings(rate=0, refresh_seconds=0, key_cache_seconds=0), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, keys, store


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_lookup_finds_the_listed_hash_and_its_near_copies(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, _ = service
    got = client.get("/v1/lookup", params={"signal_type": "pdq", "signal": PDQ_NEAR}, headers=_auth(keys[Role.MATCHER]))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["query"] == {"type": "pdq", "value": PDQ_NEAR}
    assert [(m["list"], m["entry"], m["signal"], m["distance"], m["variant"]) for m in body["matches"]] == [
        ("known", "e1", "pdq", 20, "original")]
    missed = client.get("/v1/lookup", params={"signal_type": "md5", "signal": "00" * 16},
                        headers=_auth(keys[Role.MATCHER]))
    assert missed.json() == {"query": {"type": "md5", "value": "00" * 16}, "matches": []}


def test_a_batch_answers_each_signal_in_order(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, _ = service
    signals = [{"type": "md5", "value": MD5.upper()}, {"type": "sha1", "value": "cd" * 20},
               {"type": "pdq", "value": "0" * 64}, {"type": "pdq", "value": PDQ_A, "quality": 90}]
    got = client.post("/v1/lookup", json={"signals": signals}, headers=_auth(keys[Role.MATCHER]))
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [[m["entry"] for m in r["matches"]] for r in results] == [["e1"], ["e2"], [], ["e1"]]
    assert results[0]["query"] == {"type": "md5", "value": MD5}  # as normalised


def test_a_lookup_in_a_list_that_does_not_exist_is_404(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, _ = service
    got = client.get("/v1/lookup", params={"signal_type": "md5", "signal": MD5, "list": "nope"},
                     headers=_auth(keys[Role.MATCHER]))
    assert got.status_code == 404
    assert got.json()["error"]["code"] == "not_found" and "nope" in got.json()["error"]["message"]


def test_a_list_imported_while_serving_is_seen_without_a_restart(
        service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, store = service
    params = {"signal_type": "sha256", "signal": "ee" * 32}
    assert client.get("/v1/lookup", params=params, headers=_auth(keys[Role.MATCHER])).json()["matches"] == []
    import_records(store, "fresh", [Record("n1", [Signal.of("sha256", "ee" * 32)])], action="add")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = client.get("/v1/lookup", params=params, headers=_auth(keys[Role.MATCHER])).json()["matches"]
        if found:
            break
        time.sleep(0.05)
    assert [(m["list"], m["entry"]) for m in found] == [("fresh", "n1")]
    revoke(store, "fresh", ["n1"])  # a revocation stops matching at once
    assert client.get("/v1/lookup", params=params, headers=_auth(keys[Role.MATCHER])).json()["matches"] == []


def test_a_change_is_served_from_a_delta_and_compiled_whole_in_the_background(
        service: tuple[TestClient, dict[Role, str], Store], monkeypatch: pytest.MonkeyPatch) -> None:
    client, keys, store = service
    monkeypatch.setattr(segments, "_MERGE_MIN", 3)  # a delta of three entries is due to be compiled whole

    def matched(md5: str) -> list[str]:
        got = client.get("/v1/lookup", params={"signal_type": "md5", "signal": md5, "list": "known"},
                         headers=_auth(keys[Role.MATCHER]))
        return [m["entry"] for m in got.json()["matches"]]

    def until(check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 20
        while not check():
            assert time.monotonic() < deadline
            time.sleep(0.05)

    cached = store.cache_dir
    assert matched(MD5) == ["e1"] and (cached / "list-1-v1" / "meta.json").is_file()
    import_records(store, "known", [Record("e3", [Signal.of("md5", "03" * 16)])], action="add")
    until(lambda: matched("03" * 16) == ["e3"])
    assert (cached / "list-1-v2-from1").is_dir() and not (cached / "list-1-v2").exists()  # a delta, no rebuild
    (index,) = client.app.state.service.lists.matcher(["known"]).indexes  # type: ignore[attr-defined]
    assert index.delta is not None and index.delta.entries == 1 and not index.merge_due
    import_records(store, "known", [Record(f"e{n}", [Signal.of("md5", f"{n:02d}" * 16)]) for n in (4, 5)],
                   action="add")
    until(lambda: matched("05" * 16) == ["e5"])
    # Three entries since the whole one: compiled whole on a worker's background thread, then taken up.
    until(lambda: matched(MD5) == ["e1"] and client.app.state.service.lists.matcher(  # type: ignore[attr-defined]
        ["known"]).indexes[0].delta is None)
    assert [p.name for p in cached.glob("list-*")] == ["list-1-v3"]
    assert [matched(f"{n:02d}" * 16) for n in (3, 4, 5)] == [["e3"], ["e4"], ["e5"]]


def test_health_needs_no_key_and_every_other_route_does(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, _, _ = service
    assert client.get("/v1/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]  # every route the service declares
    routes = [(method.upper(), path.replace("{name}", "known").replace("{job_id}", "1").replace("{item_id}", "1"))
              for path, methods in paths.items() if path != "/v1/health" for method in methods]
    assert len(routes) >= 11
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer vgl_not-a-key"}, {"Authorization": "Basic abc"},
                        {"Authorization": "Bearer"}):
            got = client.request(method, path, headers=headers, json={"signals": [{"type": "md5", "value": MD5}]})
            assert got.status_code == 401, (method, path, headers, got.text)
            assert got.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("role", list(Role))
def test_every_route_against_every_role(service: tuple[TestClient, dict[Role, str], Store], role: Role) -> None:
    client, keys, _ = service
    reading = {Role.MATCHER, Role.CURATOR, Role.ADMIN}
    curating = {Role.CURATOR, Role.ADMIN}
    reviewing = {Role.REVIEWER, Role.ADMIN}
    photo = {"file": ("x.jpg", _photo_bytes())}
    client.get("/v1/lookup?signal_type=md5&signal=" + MD5, headers=_auth(keys[Role.ADMIN]))  # review item 1
    assert client.app.state.service.events.flush()  # type: ignore[attr-defined]
    # (method, path, json, raw body, files, roles allowed, status when allowed)
    calls: list[tuple[str, str, object, bytes | None, object, set[Role], int]] = [
        ("GET", "/v1/lookup?signal_type=md5&signal=" + MD5, None, None, None, reading, 200),
        ("POST", "/v1/lookup", {"signals": [{"type": "md5", "value": MD5}]}, None, None, reading, 200),
        ("POST", "/v1/match", None, None, photo, reading, 200),
        ("GET", "/v1/lists", None, None, None, reading, 200),
        ("GET", "/v1/lists/known", None, None, None, reading, 200),
        ("GET", "/v1/lists/known/entries", None, None, None, reading, 200),
        ("GET", "/v1/lists/known/export?format=plain", None, None, None, reading, 200),
        ("POST", "/v1/lists", {"name": "made"}, None, None, curating, 201),
        ("POST", "/v1/lists/known/import?format=te", None, b"pdq " + b"0" * 64 + b"\n", None, curating, 202),
        ("GET", "/v1/jobs/1", None, None, None, curating, 200),
        ("POST", "/v1/lists/known/revoke", {"entries": ["e2"]}, None, None, curating, 200),
        ("GET", "/v1/queue", None, None, None, reviewing, 200),
        ("GET", "/v1/queue/1", None, None, None, reviewing, 200),
        ("POST", "/v1/queue/1/claim", None, None, None, reviewing, 200),
        ("POST", "/v1/queue/1/decision", {"decision": "escalate"}, None, None, reviewing, 200),
        ("GET", "/v1/audit", None, None, None, {Role.ADMIN}, 200),
        ("GET", "/v1/webhooks/deliveries?state=dead", None, None, None, {Role.ADMIN}, 200),
        ("GET", "/metrics", None, None, None, set(Role), 200),
        ("GET", "/status", None, None, None, set(Role), 200),
        ("GET", "/m/raw_lookup?signal_type=pdq&signal=" + PDQ_A, None, None, None, reading, 200),
        ("GET", "/m/lookup?signal_type=pdq&signal=" + PDQ_A, None, None, None, reading, 200),
        ("POST", "/h/hash", None, None, {"photo": ("x.jpg", _photo_bytes())}, reading, 200),
        ("POST", "/m/lookup", None, None, {"photo": ("x.jpg", _photo_bytes())}, reading, 200),
        ("GET", "/c/banks", None, None, None, reading, 200),
        ("POST", "/c/banks", {"name": "BANK"}, None, None, curating, 201),
        ("POST", "/c/bank/known/signal", {"pdq": PDQ_A}, None, None, curating, 201),
    ]
    declared = client.get("/openapi.json").json()["paths"]
    assert len(calls) == sum(len(methods) for path, methods in declared.items() if path != "/v1/health")
    for method, path, body, raw, files, allowed, status in calls:
        got = client.request(method, path, json=body, content=raw, files=files, headers=_auth(keys[role]))
        if role in allowed:
            assert got.status_code == status, (role, path, got.text)
        else:
            assert got.status_code == 403, (role, path)
            assert got.json()["error"]["code"] == "not_permitted"
            assert keys[role] not in got.text
    assert client.get("/v1/health").status_code == 200  # no key needed, whatever the role


def test_a_revoked_key_is_refused(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, store = service
    url = "/v1/lookup?signal_type=md5&signal=" + MD5
    assert client.get(url, headers=_auth(keys[Role.MATCHER])).status_code == 200
    assert [k.name for k in revoke_key(store, "matcher-key")] == ["matcher-key"]
    assert client.get(url, headers=_auth(keys[Role.MATCHER])).status_code == 401
    assert [k.active for k in list_keys(store) if k.name == "matcher-key"] == [False]


@pytest.mark.parametrize(("signal", "why"), [
    ({"type": "pdq", "value": "zz" * 32}, "hex"),
    ({"type": "pdq", "value": "ff" * 31}, "64"),
    ({"type": "md5", "value": "ab" * 15}, "32"),
    ({"type": "sha256", "value": ""}, "one word"),
    ({"type": "photodna", "value": "ab" * 16}, "unknown signal type"),
    ({"type": "md5", "value": MD5 + " pdq " + PDQ_A}, "one word"),
    ({"type": "md5", "value": MD5, "quality": 50}, "pdq hashes only"),
    ({"type": "pdq", "value": PDQ_A, "quality": 101}, "quality"),
    ({"type": "pdq"}, "value"),
])
def test_bad_signals_are_422_with_a_one_line_reason(service: tuple[TestClient, dict[Role, str], Store],
                                                     signal: dict[str, object], why: str) -> None:
    client, keys, _ = service
    got = client.post("/v1/lookup", json={"signals": [{"type": "md5", "value": MD5}, signal]},
                      headers=_auth(keys[Role.MATCHER]))
    assert got.status_code == 422, got.text
    error = got.json()["error"]
    assert why in error["message"] and "\n" not in error["message"]
    assert set(got.json()) == {"error"} and error["code"] in ("invalid", "invalid_value")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"signals": "x"}', b'{"signals": []}', b"\xff\xfe{}",
                                  b'{"signals": [{"type": "md5", "value": "' + b"a" * 5000 + b'"}]}'])
def test_malformed_bodies_are_4xx_json(service: tuple[TestClient, dict[Role, str], Store], body: bytes) -> None:
    client, keys, _ = service
    got = client.post("/v1/lookup", content=body,
                      headers={**_auth(keys[Role.MATCHER]), "Content-Type": "application/json"})
    assert got.status_code == 422, got.text
    assert set(got.json()["error"]) == {"code", "message"}
    assert client.get("/v1/health").status_code == 200  # the service is unaffected


def test_a_batch_over_the_limit_is_refused(store: Store) -> None:
    _listed(store)
    _, key = create_key(store, "m", "matcher")
    app = create_app(ServeSettings(rate=0, max_batch=3), store=store)
    with TestClient(app) as client:
        got = client.post("/v1/lookup", json={"signals": [{"type": "md5", "value": MD5}] * 4}, headers=_auth(key))
    assert got.status_code == 422 and "limit is 3" in got.json()["error"]["message"]


def test_an_oversized_body_is_413_declared_or_streamed(store: Store) -> None:
    _listed(store)
    _, key = create_key(store, "m", "matcher")
    app = create_app(ServeSettings(rate=0, max_body_bytes=1000), store=store)
    body = json.dumps({"signals": [{"type": "md5", "value": MD5}] * 40}).encode()
    with TestClient(app) as client:
        declared = client.post("/v1/lookup", content=body, headers={**_auth(key), "Content-Type": "application/json"})
        streamed = client.post("/v1/lookup", content=iter([body[:600], body[600:]]),
                               headers={**_auth(key), "Content-Type": "application/json"})
        assert client.get("/v1/health").status_code == 200
    for got in (declared, streamed):
        assert got.status_code == 413, got.text
        assert got.json()["error"]["code"] == "body_too_large"


def test_a_key_over_its_rate_gets_429_with_retry_after(store: Store) -> None:
    _listed(store)
    _, key = create_key(store, "m", "matcher")
    _, other = create_key(store, "n", "matcher")
    app = create_app(ServeSettings(rate=0.5, burst=3), store=store)
    url = "/v1/lookup?signal_type=md5&signal=" + MD5
    with TestClient(app) as client:
        codes = [client.get(url, headers=_auth(key)).status_code for _ in range(4)]
        limited = client.get(url, headers=_auth(key))
        assert client.get(url, headers=_auth(other)).status_code == 200  # the limit is per key
    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


def test_keys_on_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    made = invoke("keys", "create", "gate", "--role", "matcher", "--db", db)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.decode().strip().splitlines()[-1]
    assert secret.startswith("vgl_") and len(secret) > 40
    listed = invoke("keys", "ls", "--json", "--db", db).stdout.decode()
    rows = [json.loads(line) for line in listed.splitlines()]
    assert [(r["name"], r["role"], r["revoked"]) for r in rows] == [("gate", "matcher", None)]
    assert secret not in listed and secret[:12] == rows[0]["prefix"]
    bad_role = invoke("keys", "create", "x", "--role", "god", "--db", db)
    assert bad_role.returncode == 2 and b"unknown role 'god'" in bad_role.stderr
    assert invoke("keys", "revoke", "nobody", "--db", db).returncode == 2
    assert invoke("keys", "revoke", "gate", "--db", db).returncode == 0
    assert json.loads(invoke("keys", "ls", "--json", "--db", db).stdout)["revoked"] is not None



def test_the_real_command_serves_on_loopback(tmp_path: Path) -> None:
    db = str(tmp_path / "v.db")
    store = Store.open(db)
    _listed(store)
    _, key = create_key(store, "gate", "matcher")
    store.close()
    log = tmp_path / "serve.log"
    with vigil_serve(db, tmp_path / "cache", log=log) as (_, base):
        got = httpx.get(f"{base}/v1/lookup", params={"signal_type": "pdq", "signal": PDQ_NEAR},
                        headers=_auth(key), timeout=10)
        assert got.status_code == 200 and got.json()["matches"][0]["entry"] == "e1"
        keyless = httpx.get(f"{base}/v1/lookup", params={"signal_type": "md5", "signal": MD5}, timeout=10)
        assert keyless.status_code == 401
        assert "/v1/lookup" in httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]
        for _ in range(6):  # spread over both workers: /metrics adds every worker's counts up
            httpx.get(f"{base}/v1/lookup", params={"signal_type": "md5", "signal": "0" * 32}, headers=_auth(key),
                      timeout=10)
        text = httpx.get(f"{base}/metrics", headers=_auth(key), timeout=10).text
        assert 'vigil_lookups_total{result="unmatched"} 6.0' in text
        assert 'vigil_lookups_total{result="matched"} 1.0' in text
    out = log.read_bytes()
    assert key.encode() not in out  # keys are never logged
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/v1/lookup" and line.get("status") == 200 for line in lines)  # structured


# ---------------------------------------------------------------- uploads (POST /v1/match)
def _photo_bytes(mirror: bool = False) -> bytes:
    import io

    from PIL import Image

    image = Image.open(PHOTO)
    if mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture
def uploads(store: Store) -> Iterator[tuple[TestClient, str]]:
    import numpy as np
    from PIL import Image

    from vigil.signals.pdq import hash_rgb

    listed = hash_rgb(np.asarray(Image.open(PHOTO).convert("RGB")))
    import_records(store, "photos", [Record("bridge", [Signal.of("pdq", listed.hash)])], action="add")
    _, key = create_key(store, "gate", "matcher")
    with TestClient(create_app(ServeSettings(rate=0), store=store), raise_server_exceptions=False) as client:
        yield client, key


def test_an_uploaded_copy_matches_its_variant_too(uploads: tuple[TestClient, str]) -> None:
    client, key = uploads
    plain = client.post("/v1/match", files={"file": ("x.jpg", _photo_bytes())}, headers=_auth(key),
                        data={"content_id": "upload-17", "metadata": '{"user": "u1"}'})
    assert plain.status_code == 200, plain.text
    body = plain.json()
    assert [(m["entry"], m["variant"]) for m in body["matches"]] == [("bridge", "original")]
    assert (body["query"], body["content_id"], body["metadata"], body["kind"]) == (
        "upload-17", "upload-17", {"user": "u1"}, "image")
    mirrored = client.post("/v1/match", files={"file": ("y.bin", _photo_bytes(mirror=True))}, headers=_auth(key))
    assert [(m["entry"], m["variant"]) for m in mirrored.json()["matches"]] == [("bridge", "flipy")]  # left-right


def test_an_unrelated_photo_matches_nothing(uploads: tuple[TestClient, str]) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.effect_mandelbrot((320, 240), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(out, "PNG")
    got = uploads[0].post("/v1/match", files={"file": ("m.png", out.getvalue())}, headers=_auth(uploads[1]))
    assert got.status_code == 200 and got.json()["matches"] == []


def test_bad_uploads_are_4xx_and_the_service_goes_on(uploads: tuple[TestClient, str], tmp_path: Path) -> None:
    from helpers import write_huge_png

    client, key = uploads
    bomb = tmp_path / "bomb.png"
    write_huge_png(bomb, 60_000, 60_000)
    photo = _photo_bytes()
    for name, content in (("random.jpg", os.urandom(5000)), ("cut.jpg", photo[: len(photo) // 3]),
                          ("bomb.png", bomb.read_bytes()), ("empty.jpg", b"")):
        got = client.post("/v1/match", files={"file": (name, content)}, headers=_auth(key))
        assert got.status_code == 422, (name, got.text)
        assert "\n" not in got.json()["error"]["message"], name
    no_file = client.post("/v1/match", data={"content_id": "x"}, headers=_auth(key))
    assert no_file.status_code == 422
    broken = client.post("/v1/match", content=b"--xx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nab",
                         headers={**_auth(key), "Content-Type": "multipart/form-data; boundary=xx"})
    assert 400 <= broken.status_code < 500
    bad_meta = client.post("/v1/match", files={"file": ("x.jpg", photo)}, data={"metadata": "[1, 2"},
                           headers=_auth(key))
    assert bad_meta.status_code == 422 and "metadata" in bad_meta.json()["error"]["message"]
    odd_meta = client.post("/v1/match", files={"file": ("x.jpg", photo)}, headers=_auth(key),
                           data={"metadata": b"\xff\xfe".decode("latin-1")})
    assert odd_meta.status_code == 422
    assert client.post("/v1/match", files={"file": ("x.jpg", photo)}, headers=_auth(key)).status_code == 200


# ---------------------------------------------------------------- lists over HTTP
FORMATS = Path(__file__).parent / "data" / "formats"


def _wait_job(client: TestClient, key: str, job: int) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        state = client.get(f"/v1/jobs/{job}", headers=_auth(key)).json()
        if state["state"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(state)
        time.sleep(0.05)


def _curator(service: tuple[TestClient, dict[Role, str], Store]) -> tuple[TestClient, str, str]:
    client, keys, _ = service
    return client, keys[Role.CURATOR], keys[Role.MATCHER]


def test_a_list_created_and_imported_over_http_is_matched(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, curator, matcher = _curator(service)
    made = client.post("/v1/lists", json={"name": "ncmec", "source": "NCMEC"}, headers=_auth(curator))
    assert made.status_code == 201 and made.json()["kind"] == "block"
    body = (FORMATS / "ncmec_v2_entries_response.xml").read_bytes()
    started = client.post("/v1/lists/ncmec/import", content=body, headers=_auth(curator))
    assert started.status_code == 202, started.text
    job = _wait_job(client, curator, started.json()["job"])
    assert job["state"] == "done", job
    assert job["list"] == "ncmec" and job["entries"] > 0 and job["bytes_done"] == job["bytes_total"] == len(body)
    result = job["result"]  # what `vigil lists import --json` prints
    assert set(result) == {"list", "import", "format", "sha256", "records", "added", "updated", "unchanged",
                           "revoked", "skipped"}
    assert (result["list"], result["format"], result["records"]) == ("ncmec", "ncmec", job["entries"])
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    page = client.get("/v1/lists/ncmec/entries", headers=_auth(matcher)).json()
    assert page["next"] is None and len(page["entries"]) == job["entries"]
    entry = next(e for e in page["entries"] if not e["revoked"])
    value = next(s["value"] for s in entry["signals"] if s["type"] in ("md5", "pdq", "sha1"))
    kind = next(s["type"] for s in entry["signals"] if s["value"] == value)
    deadline = time.monotonic() + 10
    while True:
        found = client.get("/v1/lookup", params={"signal_type": kind, "signal": value, "list": "ncmec"},
                           headers=_auth(matcher)).json()
        if found.get("matches") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [m["entry"] for m in found["matches"]] == [entry["id"]]


def test_paging_walks_every_entry_once(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, _, matcher = _curator(service)
    store = service[2]
    import_records(store, "big", [Record(f"e{i:03d}", [Signal.of("md5", f"{i:032x}")]) for i in range(25)],
                   action="add")
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, object] = {"limit": 10} | ({"after": after} if after else {})
        page = client.get("/v1/lists/big/entries", params=params, headers=_auth(matcher)).json()
        seen += [e["id"] for e in page["entries"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [f"e{i:03d}" for i in range(25)]
    bad = client.get("/v1/lists/big/entries", params={"after": "x1"}, headers=_auth(matcher))
    assert bad.status_code == 422


def test_a_bad_list_file_fails_its_job_and_leaves_the_list_as_it_was(
        service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, curator, matcher = _curator(service)
    before = client.get("/v1/lists/known", headers=_auth(matcher)).json()
    good = (FORMATS / "threatexchange_signals.txt").read_text()
    broken = good + "pdq nothex\n"
    started = client.post("/v1/lists/known/import", params={"format": "te"}, content=broken.encode(),
                          headers=_auth(curator))
    job = _wait_job(client, curator, started.json()["job"])
    assert job["state"] == "failed" and job["error"] and "\n" not in str(job["error"])
    after = client.get("/v1/lists/known", headers=_auth(matcher)).json()
    assert (after["active"], after["version"]) == (before["active"], before["version"])
    for url, body, status in (("/v1/lists/nope/import", b"md5 " + b"a" * 32, 404),
                              ("/v1/lists/known/import", b"", 422),
                              ("/v1/lists/known/import?format=nosuch", b"x", 400)):
        got = client.post(url, content=body, headers=_auth(curator))
        assert got.status_code == status, (url, got.text)
    assert client.get("/v1/jobs/99999", headers=_auth(curator)).status_code == 404


def test_revoke_and_export_over_http(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, curator, matcher = _curator(service)
    unknown = client.post("/v1/lists/known/revoke", json={"entries": ["e1", "nope"]}, headers=_auth(curator))
    assert unknown.status_code == 422 and "nope" in unknown.json()["error"]["message"]
    assert client.get("/v1/lists/known", headers=_auth(matcher)).json()["revoked"] == 0  # all or none
    assert client.post("/v1/lists/known/revoke", json={"entries": ["e1"]}, headers=_auth(curator)).json() == {
        "revoked": 1}
    got = client.get("/v1/lookup", params={"signal_type": "md5", "signal": MD5}, headers=_auth(matcher))
    assert got.json()["matches"] == []
    exported = client.get("/v1/lists/known/export", params={"format": "plain"}, headers=_auth(matcher))
    assert exported.status_code == 200 and ("cd" * 20) in exported.text and MD5 not in exported.text
    assert client.post("/v1/lists", json={"name": "known"}, headers=_auth(curator)).status_code == 400
    assert client.post("/v1/lists", json={"name": ""}, headers=_auth(curator)).status_code == 422
    assert client.post("/v1/lists", json={"name": "x", "kind": "maybe"}, headers=_auth(curator)).status_code == 422


# ---------------------------------------------------------------- match events and metrics
def test_matches_are_recorded_and_misses_only_counted(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    from sqlalchemy import select

    from vigil.store.schema import match_events

    client, keys, store = service
    matcher = keys[Role.MATCHER]
    client.get("/v1/lookup", params={"signal_type": "pdq", "signal": PDQ_NEAR}, headers=_auth(matcher))
    client.post("/v1/lookup", json={"signals": [{"type": "md5", "value": MD5}, {"type": "md5", "value": "0" * 32}]},
                headers=_auth(matcher))
    client.get("/v1/lookup", params={"signal_type": "sha1", "signal": "0" * 40}, headers=_auth(matcher))
    assert client.app.state.service.events.flush()  # type: ignore[attr-defined]  # written after the answer
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(match_events).order_by(match_events.c.id))]
    assert [(r["source"], r["key_name"], r["list_name"], r["entry_id"], r["signal"], r["distance"]) for r in rows] == [
        ("lookup", "matcher-key", "known", "e1", "pdq", 20), ("lookup", "matcher-key", "known", "e1", "md5", 0)]
    assert json.loads(rows[0]["query"]) == {"type": "pdq", "value": PDQ_NEAR}
    assert matcher not in json.dumps(rows, default=str)
    text = client.get("/metrics", headers=_auth(keys[Role.MATCHER])).text
    assert 'vigil_lookups_total{result="matched"} 2.0' in text
    assert 'vigil_lookups_total{result="unmatched"} 2.0' in text
    assert 'vigil_matches_total{list="known"} 2.0' in text
    assert 'vigil_list_entries{list="known",state="active"} 2.0' in text
    assert 'vigil_request_seconds_bucket{le="0.5",route="/v1/lookup"}' in text
    assert 'vigil_requests_total{method="GET",route="/v1/lookup",status="200"} 2.0' in text
    assert client.get("/metrics").status_code == 401


def test_an_upload_that_matches_is_recorded_with_the_clients_id(uploads: tuple[TestClient, str], store: Store) -> None:
    from sqlalchemy import select

    from vigil.store.schema import match_events

    client, key = uploads
    client.post("/v1/match", files={"file": ("x.jpg", _photo_bytes())}, headers=_auth(key),
                data={"content_id": "u-9", "metadata": '{"uploader": "a"}'})
    assert client.app.state.service.events.flush()  # type: ignore[attr-defined]
    with store.connect() as conn:
        row = conn.execute(select(match_events)).one()._mapping
    assert (row["source"], row["entry_id"], row["content_id"], json.loads(row["metadata"])) == (
        "match", "bridge", "u-9", {"uploader": "a"})
    assert set(json.loads(row["query"])) >= {"md5", "sha1", "sha256", "pdq"}


# ---------------------------------------------------------------- HMA-compatible routes
def test_hma_routes_answer_in_hmas_shapes(service: tuple[TestClient, dict[Role, str], Store]) -> None:
    client, keys, _ = service
    m, c = _auth(keys[Role.MATCHER]), _auth(keys[Role.CURATOR])
    assert client.get("/status", headers=m).text == "I-AM-ALIVE"
    assert client.get("/status").status_code == 401
    assert client.post("/c/banks", json={"name": "HMA_BANK"}, headers=c).json() == {
        "name": "HMA_BANK", "matching_enabled_ratio": 1.0}
    assert client.post("/c/banks", json={"name": "OFF", "enabled": False}, headers=c).status_code == 422
    assert {"name": "HMA_BANK", "matching_enabled_ratio": 1.0} in client.get("/c/banks", headers=m).json()
    added = client.post("/c/bank/HMA_BANK/signal", json={"pdq": "a" * 64, "note": "from a report"}, headers=c)
    assert added.status_code == 201, added.text
    content_id = added.json()["id"]
    assert isinstance(content_id, int) and added.json()["signals"] == {"pdq": "a" * 64}
    assert client.post("/c/bank/NOPE/signal", json={"pdq": "a" * 64}, headers=c).status_code == 404
    assert client.post("/c/bank/HMA_BANK/signal", json={"pdq": "zz"}, headers=c).status_code == 422
    assert client.post("/c/bank/HMA_BANK/signal", json={"photodna": "x"}, headers=c).status_code == 422
    assert client.post("/c/bank/HMA_BANK/signal", json={}, headers=c).status_code == 422
    near = "0" + "a" * 63  # 2 bits from the bank's hash
    deadline = time.monotonic() + 10
    while True:
        raw = client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near}, headers=m).json()
        if raw["matches"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert raw == {"matches": [content_id]}
    with_distance = client.get("/m/raw_lookup", params={"signal_type": "pdq", "signal": near,
                                                        "include_distance": "true", "banks": "HMA_BANK"}, headers=m)
    assert with_distance.json() == {"matches": [{"bank_content_id": content_id, "distance": "2"}]}
    by_bank = client.get("/m/lookup", params={"signal_type": "pdq", "signal": near}, headers=m).json()
    assert by_bank == {"HMA_BANK": [{"bank_content_id": content_id, "distance": "2"}]}
    md5 = client.get("/m/lookup", params={"signal_type": "video_md5", "signal": MD5}, headers=m).json()
    assert list(md5) == ["known"]
    assert client.get("/m/raw_lookup", params={"signal_type": "nope", "signal": "x"}, headers=m).status_code == 422
    assert client.get("/m/lookup", params={"signal_type": "pdq"}, headers=m).status_code == 400
    assert client.post("/c/banks", json={"name": "X"}, headers=m).status_code == 403  # a matcher key may not


def test_hma_hashing_and_lookup_of_an_uploaded_photo(uploads: tuple[TestClient, str]) -> None:
    import io

    client, key = uploads
    hashed = client.post("/h/hash", files={"photo": ("x.jpg", _photo_bytes())}, headers=_auth(key))
    assert hashed.status_code == 200, hashed.text
    assert set(hashed.json()) == {"pdq"} and len(hashed.json()["pdq"]) == 64
    import numpy as np
    from PIL import Image

    from vigil.signals.pdq import hash_rgb

    reference = hash_rgb(np.asarray(Image.open(io.BytesIO(_photo_bytes())).convert("RGB"))).hash
    assert hashed.json()["pdq"] == reference  # exact mode: the reference hash, as HMA computes it
    looked = client.post("/m/lookup", files={"photo": ("x.jpg", _photo_bytes())}, headers=_auth(key)).json()
    assert [int(m["distance"]) <= 31 for m in looked["pdq"]["photos"]] == [True]
    assert isinstance(looked["pdq"]["photos"][0]["bank_content_id"], int)
    for files, status in (({"document": ("x.jpg", b"123")}, 400), ({"photo": ("x.jpg", os.urandom(900))}, 422),
                          ({"photo": ("a.jpg", b"1"), "video": ("b.mp4", b"2")}, 400)):
        assert client.post("/h/hash", files=files, headers=_auth(key)).status_code == status, files
    assert client.post("/h/hash", data={"x": "1"}, headers=_auth(key)).status_code == 400


def test_an_import_killed_half_way_fails_its_job_and_leaves_the_list_as_it_was(
        service: tuple[TestClient, dict[Role, str], Store]) -> None:
    import psutil

    client, curator, matcher = _curator(service)
    before = client.get("/v1/lists/known", headers=_auth(matcher)).json()
    body = "".join(f"md5 {i:032x}\n" for i in range(300_000)).encode()
    job = client.post("/v1/lists/known/import", params={"format": "te"}, content=body,
                      headers=_auth(curator)).json()["job"]
    deadline = time.monotonic() + 30
    killed = False
    while not killed and time.monotonic() < deadline:
        if client.get(f"/v1/jobs/{job}", headers=_auth(curator)).json()["bytes_done"] > 0:  # reading by now
            for child in psutil.Process().children():
                with contextlib.suppress(psutil.Error):
                    if "spawn_main" in " ".join(child.cmdline()):
                        child.kill()
                        killed = True
        time.sleep(0.01)
    assert killed, "no import process was seen"
    state = _wait_job(client, curator, job)
    assert state["state"] == "failed" and "unchanged" in str(state["error"]), state
    after = client.get("/v1/lists/known", headers=_auth(matcher)).json()
    assert (after["active"], after["version"]) == (before["active"], before["version"])
