"""``vigil serve``: the match service over HTTP (FastAPI under Uvicorn)."""

from __future__ import annotations

import os
import shutil
import tempfile

import typer

from ..errors import InputUnusable
from .common import db_option

__all__ = ["serve_command"]


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put TLS in a reverse proxy "
                             "in front when it is not loopback)."),
    port: int = typer.Option(8600, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes; they share the memory-mapped "
                                "match indexes."),
    rate: float = typer.Option(200.0, "--rate", min=0.0, help="Requests a second allowed per key, the whole "
                               "service (0: no limit)."),
    max_body_mb: int = typer.Option(64, "--max-body-mb", min=1, help="Largest request body (uploads, list "
                                    "files), in MiB."),
    two_person: list[str] | None = typer.Option(None, "--two-person", help="A category whose review items two "
                                                "people must confirm (repeatable: each category a use)."),
    sla_hours: float = typer.Option(24.0, "--sla-hours", min=0.01, help="Hours within which a review item "
                                    "should be decided (the queue shows when each is due)."),
    db: str | None = db_option(),
) -> None:
    """Run the HTTP match service until interrupted.

    Every route but GET /v1/health needs an API key (see `vigil keys create`); the OpenAPI document is
    at /openapi.json, its page at /docs."""
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise InputUnusable(f"the service needs {exc.name}: install Vigil's [serve] extra "
                            "(pip install 'vigil[serve]')") from exc
    from ..serve import ServeSettings
    from .common import open_store

    settings = ServeSettings(database=db, workers=workers, rate=rate, burst=max(1, round(2 * rate)) if rate else 1,
                             max_body_bytes=max_body_mb * 1024 * 1024, preload=True,
                             two_person=tuple(two_person or ()), sla_hours=sla_hours)
    open_store(db).close()  # migrated (and its errors said) once, before the workers start
    settings.to_env()
    # The workers count into files of one folder, which /metrics adds up (prometheus_client's multiprocess
    # mode); set before any worker starts. A folder the caller chose is kept.
    own = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    if own:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="vigil-metrics-")
    try:
        from ..serve.http import NoDelayProtocol

        uvicorn.run("vigil.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                    http=NoDelayProtocol, log_level="info", access_log=False, server_header=False)
    finally:
        if own:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
