"""The match service's tables, a line of migrations of its own (branch "serve"):

* ``api_keys``: only each key's SHA-256 (keys are 256 random bits: a slow password hash adds nothing),
  with the key's first characters so a person can tell keys apart in ``vigil keys ls``;
* ``service_jobs``: background jobs (list imports sent over HTTP), their state and progress, so that any
  worker can answer ``GET /v1/jobs/{id}``;
* ``match_events``: every lookup or upload that matched, with what matched and who asked (lookups that
  match nothing are only counted, in /metrics). The review desk works from these.

Revision ID: s001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s001"
down_revision: str | None = None
branch_labels = ("serve",)
depends_on = None

_BigPk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_sha256", name="uq_api_keys_key_sha256"),
    )
    op.create_index("ix_api_keys_name", "api_keys", ["name"])
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
    op.drop_table("service_jobs")
    op.drop_index("ix_api_keys_name", "api_keys")
    op.drop_table("api_keys")
