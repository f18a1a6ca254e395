"""Planned outages: datasets (who published the data, loaded when) and the outages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Written in the style of 0003 and reviewed against outages/models.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outage_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_datasets")),
        sa.UniqueConstraint("source", name=op.f("uq_outage_datasets_source")),
    )
    op.create_table(
        "outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("locality", sa.String(length=200), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("houses", sa.String(length=200), nullable=True),
        sa.Column("locality_key", sa.String(length=200), nullable=False),
        sa.Column("street_key", sa.String(length=200), nullable=False),
        sa.Column("houses_key", sa.String(length=500), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_outages_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["outage_datasets.id"],
            name=op.f("fk_outages_dataset_id_outage_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outages")),
        sa.UniqueConstraint(
            "dataset_id", "locality_key", "street_key", "houses_key", "starts_at", "ends_at",
            name="uq_outages_place_time",
        ),
    )
    op.create_index(
        op.f("ix_outages_locality_key_ends_at"), "outages", ["locality_key", "ends_at"]
    )


def downgrade() -> None:
    op.drop_table("outages")
    op.drop_table("outage_datasets")
