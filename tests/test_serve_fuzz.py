"""An OpenAPI fuzz run over the whole service (schemathesis, bounded examples): whatever a client
sends that the schema allows, and much that it does not, no answer is a 5xx and none falls outside
the schema the service publishes."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from vigil.lists import Record, Signal, import_records
from vigil.serve import ServeSettings, create_app, create_key
from vigil.store import Store


def test_no_answer_is_a_server_error_or_outside_the_schema(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "v.db")
    store.cache_dir = tmp_path / "cache"
    import_records(store, "known", [Record("e1", [Signal.of("pdq", "f" * 64), Signal.of("md5", "ab" * 16)])],
                   action="add")
    headers = {"Authorization": f"Bearer {create_key(store, 'fuzz', 'admin')[1]}"}
    app = create_app(ServeSettings(rate=0, max_body_bytes=1 << 20), store=store)
    operations = 0
    calls: list[int] = []
    with TestClient(app):  # started, as a server is
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                      database=None)
            def fuzz(case: schemathesis.Case) -> None:
                response = case.call_and_validate(headers=headers,
                                                  checks=[not_a_server_error, response_schema_conformance])
                calls.append(response.status_code)

            fuzz()
    store.close()
    assert operations >= 20 and len(calls) >= 5 * operations  # every route (those without inputs: once)
    assert any(code < 300 for code in calls) and any(400 <= code < 500 for code in calls)
