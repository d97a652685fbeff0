"""Hash lists: lists, imports (provenance) and entries.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None

_BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lists"),
        sa.UniqueConstraint("name", name="uq_lists_name"),
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id", name="fk_imports_list_id_lists", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("format", sa.String(40), nullable=True),
        sa.Column("file_name", sa.Text, nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("file_size", sa.BigInteger, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )
    op.create_index("ix_imports_list_id", "imports", ["list_id"])
    op.create_table(
        "entries",
        sa.Column("pk", _BigPk, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("lists.id", name="fk_entries_list_id_lists", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("category", sa.Text, nullable=True),
        sa.Column("category_scheme", sa.String(100), nullable=True),
        sa.Column("meta", sa.Text, nullable=False),
        sa.Column("signals", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(40), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("first_import_id", sa.Integer, sa.ForeignKey("imports.id", name="fk_entries_first_import_id_imports"),
                  nullable=False),
        sa.Column("last_import_id", sa.Integer, sa.ForeignKey("imports.id", name="fk_entries_last_import_id_imports"),
                  nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_entries"),
        sa.UniqueConstraint("list_id", "entry_id", name="uq_entries_list_id_entry_id"),
    )
    op.create_index("ix_entries_last_import_id", "entries", ["last_import_id"])
    op.create_index("ix_entries_list_id_pk", "entries", ["list_id", "pk"])


def downgrade() -> None:
    op.drop_table("entries")
    op.drop_table("imports")
    op.drop_table("lists")
