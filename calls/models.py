"""Call records, written from AMI events by the call writer.

One ``Call`` per Asterisk Linkedid (the whole call across its channels), and its
``CallEvent`` timeline. ``caller_number`` and recordings are personal data (152-FZ).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Account
from base.db import Base, StrEnumType, UtcDateTime, enum_check, utcnow

__all__ = ["Call", "CallDirection", "CallEvent", "CallOutcome", "CelImportMark"]


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class CallOutcome(enum.StrEnum):
    COMPLETED = "completed"  # answered and ended normally
    UNANSWERED = "unanswered"  # rang out, nobody answered
    BUSY = "busy"
    FAILED = "failed"  # could not be placed (congestion, bad number)
    INTERRUPTED = "interrupted"  # cut off by our side's failure (controller or PBX restart)
    ABANDONED = "abandoned"  # the caller hung up while waiting in the queue


# JSON on SQLite, JSONB on PostgreSQL.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index(None, "started_at"),
        Index(None, "caller_number"),
        Index(None, "ended_at"),  # "ended_at IS NULL": calls still in progress
        Index(None, "account_id"),
        enum_check("direction", "direction", CallDirection),
        enum_check("outcome", "outcome", CallOutcome),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Asterisk's Linkedid: names the whole call. Unique across PBX nodes only if each node
    # has its own systemname (Asterisk then prefixes its unique ids with it).
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    uniqueid: Mapped[str] = mapped_column(String(64))  # the first channel's Uniqueid
    pbx_node: Mapped[str] = mapped_column(String(64))
    direction: Mapped[CallDirection] = mapped_column(StrEnumType(CallDirection))
    channel: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(64))  # full number: personal data
    caller_name: Mapped[str | None] = mapped_column(String(128))
    called_number: Mapped[str] = mapped_column(String(64))  # the DID or extension dialled
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[CallOutcome | None] = mapped_column(StrEnumType(CallOutcome))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)  # Q.850 cause code
    hangup_cause_text: Mapped[str | None] = mapped_column(String(128))
    recording_path: Mapped[str | None] = mapped_column(String(512))  # relative to recordings
    disclosure_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # "the call is recorded"
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account | None] = relationship()
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(CallEvent.at, CallEvent.id)",
    )

    def __repr__(self) -> str:
        return f"Call(id={self.id!r}, linkedid={self.linkedid!r}, direction={self.direction!r})"


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (Index(None, "call_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # 'started', 'answered', 'disclosure', 'recording', 'flow', 'hangup', 'interrupted', ...
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"CallEvent(call_id={self.call_id!r}, at={self.at!r}, kind={self.kind!r})"


class CelImportMark(Base):
    """How far the controller has imported the PBX's own account of calls (CEL), per PBX node:
    the file read (device and inode, so a replaced file is read from its start) and where the
    next read starts in it."""

    __tablename__ = "cel_import_marks"

    pbx_node: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
