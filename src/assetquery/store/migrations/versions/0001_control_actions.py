"""Control actions and their transitions.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 05:11:12.182927
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("enforcement_document", sa.String(length=128), nullable=False),
        sa.Column("court", sa.String(length=128), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_name", sa.String(length=200), nullable=False),
        sa.Column("party_id_number", sa.String(length=32), nullable=False),
        sa.Column("institution", sa.String(length=64), nullable=False),
        sa.Column("asset_kind", sa.String(length=32), nullable=False),
        sa.Column("asset_identifier", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("live_seal", sa.Boolean(), nullable=False),
        sa.Column("withdrawal_condition", sa.String(length=32), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("institution_reference", sa.String(length=128), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("expiry_source", sa.String(length=16), nullable=True),
        sa.Column("waiting_position", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("status_checks", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["control_actions.id"],
            name=op.f("fk_control_actions_target_id_control_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_actions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_control_actions_idempotency_key")),
    )
    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_control_actions_asset", ["institution", "asset_identifier"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_control_actions_case_number"), ["case_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_control_actions_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_control_actions_state"), ["state"], unique=False)

    op.create_table(
        "action_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["control_actions.id"],
            name=op.f("fk_action_transitions_action_id_control_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_transitions")),
    )
    with op.batch_alter_table("action_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_transitions_action_id"), ["action_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("action_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_transitions_action_id"))

    op.drop_table("action_transitions")
    with op.batch_alter_table("control_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_actions_state"))
        batch_op.drop_index(batch_op.f("ix_control_actions_expires_on"))
        batch_op.drop_index(batch_op.f("ix_control_actions_case_number"))
        batch_op.drop_index("ix_control_actions_asset")

    op.drop_table("control_actions")
