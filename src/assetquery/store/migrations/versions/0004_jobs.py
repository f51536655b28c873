"""Jobs and stored lookups: batches run by the worker, and answers still to collect.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=128), nullable=True),
        sa.Column("parties", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("chunk_size", sa.Integer(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_table(
        "stored_lookups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("lookup_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_stored_lookups_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_lookups")),
        sa.UniqueConstraint("lookup_id", name=op.f("uq_stored_lookups_lookup_id")),
    )
    with op.batch_alter_table("stored_lookups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stored_lookups_case_number"), ["case_number"], unique=False
        )
        batch_op.create_index("ix_stored_lookups_due", ["outcome", "poll_at"], unique=False)
        batch_op.create_index("uq_stored_lookups_place", ["job_id", "seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("stored_lookups", schema=None) as batch_op:
        batch_op.drop_index("uq_stored_lookups_place")
        batch_op.drop_index("ix_stored_lookups_due")
        batch_op.drop_index(batch_op.f("ix_stored_lookups_case_number"))
    op.drop_table("stored_lookups")
    op.drop_table("jobs")
