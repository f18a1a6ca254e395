"""Identification by phone: every attempt to prove an account, and every lockout.

Rules the tables keep (the logic is :mod:`ivr.identification`):
- The caller's number is stored only as ``caller_key``, an HMAC of its E.164 form under a
  server secret (enough to count one number's attempts across calls, not to call it back),
  and as ``caller_masked`` for a person reading the audit trail (152-FZ).
- ``wrong`` attempts count towards a lockout, per caller number and per account; ``ok``
  starts the count again; ``refused`` (asked while locked out) does not count.
- A lockout is a row with its own time span; the database is the truth of who is locked.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from base.db import Base, StrEnumType, UtcDateTime, enum_check

__all__ = ["IdMethod", "IdResult", "IdSubject", "IdentificationAttempt", "IdentificationLockout"]


class IdMethod(enum.StrEnum):
    TAIL = "tail"  # the last four digits of an account matched by the caller's number
    NUMBER = "number"  # the whole account number, keyed in


class IdResult(enum.StrEnum):
    OK = "ok"  # proved: the account is identified
    WRONG = "wrong"  # digits that match no account the caller could mean (counts)
    REFUSED = "refused"  # asked while locked out (does not count)


class IdSubject(enum.StrEnum):
    PHONE = "phone"  # the caller's number is locked out
    ACCOUNT = "account"  # the account is locked out, whatever number calls


class IdentificationAttempt(Base):
    __tablename__ = "identification_attempts"
    __table_args__ = (
        Index(None, "caller_key", "at"),
        Index(None, "account_id", "at"),
        enum_check("method", "method", IdMethod),
        enum_check("result", "result", IdResult),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    caller_key: Mapped[str | None] = mapped_column(String(64))  # None: number withheld
    caller_masked: Mapped[str | None] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    method: Mapped[IdMethod] = mapped_column(StrEnumType(IdMethod))
    result: Mapped[IdResult] = mapped_column(StrEnumType(IdResult))
    linkedid: Mapped[str | None] = mapped_column(String(64))  # the call it happened in


class IdentificationLockout(Base):
    __tablename__ = "identification_lockouts"
    __table_args__ = (
        Index(None, "caller_key", "until"),
        Index(None, "account_id", "until"),
        enum_check("subject", "subject", IdSubject),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[IdSubject] = mapped_column(StrEnumType(IdSubject))
    caller_key: Mapped[str | None] = mapped_column(String(64))
    caller_masked: Mapped[str | None] = mapped_column(String(32))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    locked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer)  # wrong attempts that led to it
    linkedid: Mapped[str | None] = mapped_column(String(64))  # the call that tripped it
