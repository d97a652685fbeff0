"""The review desk's queue (``vigil.serve.queue``): ``review_items``, one per content that matched, and
``match_events.item_id``, the item each match event counts towards.

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


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("content_key", sa.String(200), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("best_distance", sa.Integer, nullable=False),
        sa.Column("category_order", sa.String(200), nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_review_items"),
        sa.UniqueConstraint("content_key", name="uq_review_items_content_key"),
    )
    op.create_index("ix_review_items_queue", "review_items", ["state", "category_order", "best_distance", "first_seen",
                                                              "id"])
    op.add_column("match_events", sa.Column("item_id", sa.Integer, nullable=True))
    op.create_index("ix_match_events_item_id", "match_events", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_match_events_item_id", "match_events")
    op.execute("ALTER TABLE match_events DROP COLUMN item_id")
    op.drop_index("ix_review_items_queue", "review_items")
    op.drop_table("review_items")
