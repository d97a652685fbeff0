"""The service's audit log (``vigil.serve.audit``): ``audit``, a hash-chained, append-only custody log
(``vigil.evidence.custody``) of sign-ins, decisions, and changes to people and keys. The database refuses
updates and deletes of it (triggers, made by the log itself).

Revision ID: s004
Revises: s003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vigil.evidence.custody import CustodyLog

revision = "s004"
down_revision: str | None = "s003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("prev", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit"),
    )
    raw = op.get_bind().connection.driver_connection
    assert raw is not None
    CustodyLog(raw, "audit").create()  # the append-only triggers


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    op.drop_table("audit")
