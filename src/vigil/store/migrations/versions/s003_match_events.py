"""Match events of the service: every lookup or upload that matched, with what matched and who asked
(lookups that match nothing are only counted, in /metrics). The review desk works from these.

Revision ID: s003
Revises: s002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s003"
down_revision: str | None = "s002"
branch_labels = None
depends_on = None

_BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "match_events",
        sa.Column("id", _BigPk, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("list_name", sa.String(200), nullable=False),
        sa.Column("entry_id", sa.Text, nullable=False),
        sa.Column("signal", sa.String(20), nullable=False),
        sa.Column("distance", sa.Integer, nullable=False),
        sa.Column("variant", sa.String(100), nullable=False),
        sa.Column("category", sa.Text, nullable=True),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("content_id", sa.String(200), nullable=True),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_match_events"),
    )
    op.create_index("ix_match_events_at", "match_events", ["at"])
    op.create_index("ix_match_events_list_name_entry_id", "match_events", ["list_name", "entry_id"])


def downgrade() -> None:
    op.drop_index("ix_match_events_list_name_entry_id", "match_events")
    op.drop_index("ix_match_events_at", "match_events")
    op.drop_table("match_events")
