"""Each change to a list records the list's content version after it: ``imports.version_after``.

A compiled match index is keyed by the version it was compiled at. With this, what changed since is
exactly the entries whose last change (``entries.last_import_id``) came from an import with a later
``version_after``, so a small change is compiled as a delta beside the index instead of the whole list
again (``vigil.lists.segments``). Versions are taken in commit order (the list's row is locked while
its version is bumped), so a change that commits late is never hidden behind one that committed early.

Changes made before this revision are given their list's version now: a delta from an index compiled
before then takes them all in (the index is compiled whole instead when that is too many).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("imports", sa.Column("version_after", sa.Integer, nullable=True))
    op.execute("UPDATE imports SET version_after = "
               "(SELECT content_version FROM lists WHERE lists.id = imports.list_id)")


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): a batch copy of the table would have to drop
    # the one the entries' foreign keys point at.
    op.execute("ALTER TABLE imports DROP COLUMN version_after")
