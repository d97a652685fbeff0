"""The match service (``vigil serve``): an authenticated HTTP API that platforms and hotlines call to
look hashes and media up in Vigil's lists.

    from vigil.serve import ServeSettings, create_app, create_key
    key, secret = create_key(store, "upload-gate", "matcher")   # only its hash is kept
    create_user(store, "ana", "reviewer", password)              # a person of the review desk (argon2id)
    app = create_app(ServeSettings(database="vigil.db"))        # an ASGI application (FastAPI)

Routes and their JSON are the contract in DESIGN.md; errors are ``{"error": {"code", "message"}}``.
The application and the matching stack load on first use (PEP 562), so that ``vigil serve``'s
supervisor process, which only starts the workers, stays small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import ServeSettings

if TYPE_CHECKING:
    from .app import Service, app_from_env, create_app
    from .keys import ApiKey, Role, check_key, create_key, list_keys, revoke_key
    from .users import User, create_user, list_users, sign_in

__all__ = [
    "ApiKey",
    "Role",
    "ServeSettings",
    "Service",
    "User",
    "app_from_env",
    "check_key",
    "create_app",
    "create_key",
    "create_user",
    "list_keys",
    "list_users",
    "revoke_key",
    "sign_in",
]

_WHERE = {"Service": "app", "app_from_env": "app", "create_app": "app", "ApiKey": "keys", "Role": "keys",
          "check_key": "keys", "create_key": "keys", "list_keys": "keys", "revoke_key": "keys", "User": "users",
          "create_user": "users", "list_users": "users", "sign_in": "users"}


def __getattr__(name: str) -> object:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{where}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
