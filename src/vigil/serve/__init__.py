"""The match service (``vigil serve``): an authenticated HTTP API that platforms and hotlines call to
look hashes and media up in Vigil's lists.

    from vigil.serve import ServeSettings, create_app, create_key
    key, secret = create_key(store, "upload-gate", "matcher")   # only its hash is kept
    app = create_app(ServeSettings(database="vigil.db"))              # an ASGI application (FastAPI)

Routes and their JSON are the contract in DESIGN.md; errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from .app import Service, app_from_env, create_app
from .keys import ApiKey, Role, check_key, create_key, list_keys, revoke_key
from .settings import ServeSettings

__all__ = [
    "ApiKey",
    "Role",
    "ServeSettings",
    "Service",
    "app_from_env",
    "check_key",
    "create_app",
    "create_key",
    "list_keys",
    "revoke_key",
]
