"""Runtime configuration documents; who submitted a meter reading.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_entries",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_config_entries")),
    )
    with op.batch_alter_table("meter_readings") as batch:
        batch.add_column(sa.Column("submitted_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meter_readings") as batch:
        batch.drop_column("submitted_by")
    op.drop_table("config_entries")
