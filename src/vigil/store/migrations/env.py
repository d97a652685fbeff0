"""Alembic environment: Vigil runs migrations itself, on the connection it opened."""

from __future__ import annotations

from alembic import context

from vigil.errors import UsageError
from vigil.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise UsageError("Vigil's migrations run through vigil.store.Store, which passes its connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
