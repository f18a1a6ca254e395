"""Where the controller has read up to in the PBX's own account of calls (CEL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

One row per PBX node: the CEL file read (device:inode) and the position the next import
starts from (calls/cel.py keeps the rules of the mark).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cel_import_marks",
        sa.Column("pbx_node", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pbx_node", name=op.f("pk_cel_import_marks")),
    )


def downgrade() -> None:
    op.drop_table("cel_import_marks")
