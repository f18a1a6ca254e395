"""Planned outages as data: who published them (a dataset, loaded when) and each outage.

A dataset is one source of outage data (the grid company's file, the retailer's own list,
``manual`` for edits made by hand). Its ``loaded_at`` is when its data was last loaded and so
known to be current: the IVR says "no planned outages at your address" only while every
imported dataset is younger than the configured age, and says the date it was loaded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from base.db import Base, UtcDateTime, utcnow

__all__ = ["MANUAL_SOURCE", "Outage", "OutageDataset"]

MANUAL_SOURCE = "manual"  # outages added or edited by hand (the console, later)


class OutageDataset(Base):
    __tablename__ = "outage_datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), unique=True)  # "grid", "retailer", "manual"
    file_name: Mapped[str | None] = mapped_column(String(255))  # the last file imported
    timezone: Mapped[str] = mapped_column(String(64))  # the local time of the file's times
    loaded_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the last complete load
    rows: Mapped[int] = mapped_column(Integer, default=0)  # data rows read by the last load
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # rows the last load refused
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    outages: Mapped[list[Outage]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"OutageDataset(source={self.source!r}, loaded_at={self.loaded_at!r})"


class Outage(Base):
    """A planned outage of a locality, a street, or some houses of a street."""

    __tablename__ = "outages"
    __table_args__ = (
        # The same place and time from one source is one outage (the convention's name would
        # pass PostgreSQL's 63 characters).
        UniqueConstraint("dataset_id", "locality_key", "street_key", "houses_key", "starts_at",
                         "ends_at", name="uq_outages_place_time"),
        Index(None, "locality_key", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("outage_datasets.id", ondelete="CASCADE"))
    locality: Mapped[str] = mapped_column(String(200))  # as written
    street: Mapped[str | None] = mapped_column(String(200))  # None: the whole locality
    houses: Mapped[str | None] = mapped_column(String(200))  # None: the whole street
    locality_key: Mapped[str] = mapped_column(String(200))  # outages.parsing keys
    street_key: Mapped[str] = mapped_column(String(200), default="")  # "" = whole locality
    houses_key: Mapped[str] = mapped_column(String(500), default="все")
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    source_row: Mapped[int | None] = mapped_column(Integer)  # the file row it came from
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    dataset: Mapped[OutageDataset] = relationship(back_populates="outages")

    def __repr__(self) -> str:
        return (f"Outage(id={self.id!r}, locality_key={self.locality_key!r}, "
                f"street_key={self.street_key!r}, starts_at={self.starts_at!r})")
