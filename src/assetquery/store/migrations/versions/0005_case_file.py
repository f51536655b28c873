"""The case file and the court's figures: who asked each lookup, closures, recommendations.

Stored lookups learn their court, operator, claim, asset count and time, so figures group
and filter them without reading every report. A renewal keeps the end date it extended (was
it asked for in time?). Case closures are imported from the court's case system; judicial
recommendations are tracked until the institution replies.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stored_lookups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("court", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("operator", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("claim_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("assets", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("looked_up_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_stored_lookups_looked_up_at"), ["looked_up_at"], unique=False
        )
    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_expires_on", sa.Date(), nullable=True))
    op.create_table(
        "case_closures",
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("manner", sa.String(length=32), nullable=False),
        sa.Column("applied_fen", sa.BigInteger(), nullable=True),
        sa.Column("recovered_outside_fen", sa.BigInteger(), nullable=False),
        sa.Column("court", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_number", name=op.f("pk_case_closures")),
    )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("directory", sa.String(length=512), nullable=False),
        sa.Column("reply_days", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("reply_due", sa.Date(), nullable=True),
        sa.Column("replied_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
    )


def downgrade() -> None:
    op.drop_table("recommendations")
    op.drop_table("case_closures")
    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.drop_column("target_expires_on")
    with op.batch_alter_table("stored_lookups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stored_lookups_looked_up_at"))
        for column in ("looked_up_at", "assets", "claim_fen", "operator", "court"):
            batch_op.drop_column(column)
