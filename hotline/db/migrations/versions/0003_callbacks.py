"""Callback orders and the trail of their transitions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written in the style of 0001 and reviewed against the models: custom column types are
written as the plain types they store (UtcDateTime -> DateTime(timezone=True), StrEnumType
-> String). At most one open order per phone is a partial unique index, which PostgreSQL
and SQLite both support.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = "'new', 'scheduled', 'dialing', 'done', 'no_answer', 'failed', 'cancelled'"
OPEN_STATES = "state IN ('new', 'scheduled', 'dialing', 'no_answer')"


def upgrade() -> None:
    op.create_table(
        "callback_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("preferred_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("preferred_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("last_linkedid", sa.String(length=64), nullable=True),
        sa.Column("last_call_id", sa.Integer(), nullable=True),
        sa.Column("origin_call_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('ivr_menu', 'ivr_queue', 'ivr_after_hours', 'web', 'operator')",
            name=op.f("ck_callback_orders_source"),
        ),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_callback_orders_state")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_callback_orders_attempts_not_negative")),
        sa.CheckConstraint(
            "max_attempts >= 1", name=op.f("ck_callback_orders_max_attempts_positive")
        ),
        sa.CheckConstraint(
            "preferred_from IS NULL OR preferred_to IS NULL OR preferred_from <= preferred_to",
            name=op.f("ck_callback_orders_preferred_window"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_callback_orders_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_call_id"],
            ["calls.id"],
            name=op.f("fk_callback_orders_last_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["origin_call_id"],
            ["calls.id"],
            name=op.f("fk_callback_orders_origin_call_id_calls"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_callback_orders_idempotency_key")),
    )
    op.create_index(
        "ix_callback_orders_phone_open",
        "callback_orders",
        ["phone"],
        unique=True,
        sqlite_where=sa.text(OPEN_STATES),
        postgresql_where=sa.text(OPEN_STATES),
    )
    op.create_index(
        op.f("ix_callback_orders_state_due_at"), "callback_orders", ["state", "due_at"]
    )
    op.create_index(op.f("ix_callback_orders_account_id"), "callback_orders", ["account_id"])

    op.create_table(
        "callback_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            f"from_state IS NULL OR from_state IN ({STATES})",
            name=op.f("ck_callback_transitions_from_state"),
        ),
        sa.CheckConstraint(
            f"to_state IN ({STATES})", name=op.f("ck_callback_transitions_to_state")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["callback_orders.id"],
            name=op.f("fk_callback_transitions_order_id_callback_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_transitions")),
    )
    op.create_index(
        op.f("ix_callback_transitions_order_id_at"), "callback_transitions", ["order_id", "at"]
    )


def downgrade() -> None:
    op.drop_table("callback_transitions")
    op.drop_table("callback_orders")
