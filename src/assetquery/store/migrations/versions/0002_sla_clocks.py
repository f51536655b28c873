"""SLA clocks: one per request to an institution.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("institution_name", sa.String(length=200), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=128), nullable=True),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sla_clocks_outcome"), ["outcome"], unique=False)
        batch_op.create_index(
            "ix_sla_clocks_period", ["institution", "operation", "started_at"], unique=False
        )
        batch_op.create_index(
            "uq_sla_clocks_request",
            ["subject", "reference", "institution", "operation"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.drop_index("uq_sla_clocks_request")
        batch_op.drop_index("ix_sla_clocks_period")
        batch_op.drop_index(batch_op.f("ix_sla_clocks_outcome"))
    op.drop_table("sla_clocks")
