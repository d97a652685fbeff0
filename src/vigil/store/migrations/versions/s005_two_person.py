"""The review queue's two-person rule: ``review_items.first_confirmed_by``, who confirmed an item of a
category that needs a second person to confirm it too.

Revision ID: s005
Revises: s004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s005"
down_revision: str | None = "s004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("review_items", sa.Column("first_confirmed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE review_items DROP COLUMN first_confirmed_by")
