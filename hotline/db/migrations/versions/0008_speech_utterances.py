"""Speech: every utterance kept for audit (speech/models.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "speech_utterances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column("expect", sa.String(length=16), nullable=False),
        sa.Column("ended_by", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=True),
        sa.Column("value", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("recognition_ms", sa.Float(), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_speech_utterances")),
    )
    op.create_index("ix_speech_utterances_linkedid", "speech_utterances", ["linkedid"])
    op.create_index("ix_speech_utterances_created_at", "speech_utterances", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_speech_utterances_created_at", table_name="speech_utterances")
    op.drop_index("ix_speech_utterances_linkedid", table_name="speech_utterances")
    op.drop_table("speech_utterances")
