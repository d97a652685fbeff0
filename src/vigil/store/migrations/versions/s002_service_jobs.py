"""The match service's background jobs (list imports sent over HTTP): their state and progress, so
that any worker can answer ``GET /v1/jobs/{id}``.

Revision ID: s002
Revises: s001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s002"
down_revision: str | None = "s001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("list_name", sa.String(200), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runner", sa.String(300), nullable=True),
        sa.Column("bytes_done", sa.BigInteger, nullable=False),
        sa.Column("bytes_total", sa.BigInteger, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_service_jobs"),
    )


def downgrade() -> None:
    op.drop_table("service_jobs")
