"""Readings remember the transaction that wrote them (billing's feed cannot skip one).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

On PostgreSQL several writers commit out of id order, so a feed paged by ``id > cursor``
skips a row committed late behind a higher id. ``meter_readings.txid`` is filled by a column
default with the writing transaction's id (``pg_current_xact_id()``); the feed pages by
``(txid, id)`` and returns only rows whose transaction is older than every transaction still
running (``pg_snapshot_xmin``), which no later commit can overtake. Rows written before this
revision are all committed: they get 0 and come first, in id order. SQLite serialises writers,
so its rows keep NULL and its feed pages by id.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meter_readings") as batch:
        batch.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
        batch.create_index(op.f("ix_meter_readings_txid_id"), ["txid", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE meter_readings SET txid = 0")
        op.execute(
            "ALTER TABLE meter_readings ALTER COLUMN txid "
            "SET DEFAULT (pg_current_xact_id()::text::bigint)"
        )


def downgrade() -> None:
    with op.batch_alter_table("meter_readings") as batch:
        batch.drop_index(op.f("ix_meter_readings_txid_id"))
        batch.drop_column("txid")
