"""Identification by phone: attempts and lockouts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Every attempt to prove an account by phone (the last four digits, or the whole account number)
and every lockout it tripped; the caller's number only as an HMAC and masked (ivr/models.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_key", sa.String(length=64), nullable=True),
        sa.Column("caller_masked", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.CheckConstraint("method IN ('tail', 'number')", name=op.f("ck_identification_attempts_method")),
        sa.CheckConstraint("result IN ('ok', 'wrong', 'refused')", name=op.f("ck_identification_attempts_result")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="SET NULL",
                                name=op.f("fk_identification_attempts_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identification_attempts")),
    )
    op.create_index(op.f("ix_identification_attempts_caller_key_at"), "identification_attempts",
                    ["caller_key", "at"])
    op.create_index(op.f("ix_identification_attempts_account_id_at"), "identification_attempts",
                    ["account_id", "at"])
    op.create_table(
        "identification_lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("caller_key", sa.String(length=64), nullable=True),
        sa.Column("caller_masked", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.CheckConstraint("subject IN ('phone', 'account')", name=op.f("ck_identification_lockouts_subject")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_identification_lockouts_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identification_lockouts")),
    )
    op.create_index(op.f("ix_identification_lockouts_caller_key_until"), "identification_lockouts",
                    ["caller_key", "until"])
    op.create_index(op.f("ix_identification_lockouts_account_id_until"), "identification_lockouts",
                    ["account_id", "until"])


def downgrade() -> None:
    op.drop_index(op.f("ix_identification_lockouts_account_id_until"), table_name="identification_lockouts")
    op.drop_index(op.f("ix_identification_lockouts_caller_key_until"), table_name="identification_lockouts")
    op.drop_table("identification_lockouts")
    op.drop_index(op.f("ix_identification_attempts_account_id_at"), table_name="identification_attempts")
    op.drop_index(op.f("ix_identification_attempts_caller_key_at"), table_name="identification_attempts")
    op.drop_table("identification_attempts")
