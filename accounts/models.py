"""Customers as the retailer's billing system knows them: accounts, phones, meters, readings.

Money sign convention: ``Account.balance`` is the money the customer has on the account.
Positive is an advance payment (переплата), negative is a debt (задолженность): a balance
of -1523.40 means the customer owes 1523 roubles 40 kopecks (``Account.debt`` gives that
as a positive amount).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from base.db import Base, StrEnumType, UtcDateTime, enum_check, utcnow

__all__ = [
    "Account",
    "AccountPhone",
    "Meter",
    "MeterReading",
    "PhoneKind",
    "ReadingSource",
    "ReadingZone",
    "Tariff",
    "TARIFF_ZONES",
]


class PhoneKind(enum.StrEnum):
    """Where a phone number came from; outbound calls may use both (004 §10.2.4)."""

    CONTRACT = "contract"  # written in the supply contract, comes from billing
    CUSTOMER_GIVEN = "customer_given"  # the customer told us (operator, IVR, website)


class Tariff(enum.StrEnum):
    """How many time-of-day zones a meter counts."""

    SINGLE = "single"  # одноставочный, one register
    DAY_NIGHT = "day_night"  # двухзонный: день / ночь
    THREE_ZONE = "three_zone"  # трёхзонный: пик / полупик / ночь


class ReadingZone(enum.StrEnum):
    """A meter register; declared in the order callers are asked for them."""

    TOTAL = "total"
    DAY = "day"
    PEAK = "peak"
    SEMI_PEAK = "semi_peak"
    NIGHT = "night"


# The registers a meter of each tariff has, in the order a caller is asked for them.
TARIFF_ZONES: dict[Tariff, tuple[ReadingZone, ...]] = {
    Tariff.SINGLE: (ReadingZone.TOTAL,),
    Tariff.DAY_NIGHT: (ReadingZone.DAY, ReadingZone.NIGHT),
    Tariff.THREE_ZONE: (ReadingZone.PEAK, ReadingZone.SEMI_PEAK, ReadingZone.NIGHT),
}


class ReadingSource(enum.StrEnum):
    BILLING = "billing"  # imported from the billing system
    IVR_DTMF = "ivr_dtmf"  # keyed in on the phone
    IVR_VOICE = "ivr_voice"  # spoken and recognised
    OPERATOR = "operator"  # taken by an operator
    WEB = "web"


class Account(Base):
    """A personal account (лицевой счёт) in the retailer's billing system."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Digits only, kept as text: leading zeros matter. Usually 10-12 digits.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    holder_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    # Subject of the Russian Federation (e.g. "43" Kirov region); None when billing omits it.
    region_code: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, e.g. "Europe/Moscow"
    # Money on the account: negative = debt. See the module docstring.
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    balance_at: Mapped[date | None] = mapped_column(Date)  # the day billing computed it
    source: Mapped[str] = mapped_column(String(32))  # billing adapter that last wrote it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    phones: Mapped[list[AccountPhone]] = relationship(
        back_populates="account",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AccountPhone.id",
    )
    meters: Mapped[list[Meter]] = relationship(
        back_populates="account",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Meter.id",
    )

    @property
    def debt(self) -> Decimal:
        """What the customer owes, as a non-negative amount (0 when nothing is owed)."""
        return -self.balance if self.balance < 0 else Decimal("0.00")

    def __repr__(self) -> str:
        return f"Account(id={self.id!r}, number={self.number!r})"


class AccountPhone(Base):
    __tablename__ = "account_phones"
    __table_args__ = (
        UniqueConstraint("account_id", "phone"),
        Index(None, "phone"),
        enum_check("kind", "kind", PhoneKind),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    phone: Mapped[str] = mapped_column(String(16))  # E.164, "+79123456789"
    kind: Mapped[PhoneKind] = mapped_column(StrEnumType(PhoneKind), default=PhoneKind.CONTRACT)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    account: Mapped[Account] = relationship(back_populates="phones")

    def __repr__(self) -> str:
        return f"AccountPhone(account_id={self.account_id!r}, phone={self.phone!r})"


class Meter(Base):
    __tablename__ = "meters"
    __table_args__ = (
        UniqueConstraint("account_id", "serial"),
        enum_check("tariff", "tariff", Tariff),
        CheckConstraint("digits BETWEEN 3 AND 9", name="digits"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    serial: Mapped[str] = mapped_column(String(32))  # заводской номер
    tariff: Mapped[Tariff] = mapped_column(StrEnumType(Tariff), default=Tariff.SINGLE)
    # Digits before the decimal point (разрядность): a reading cannot reach 10**digits.
    digits: Mapped[int] = mapped_column(Integer, default=6)
    installed_at: Mapped[date | None] = mapped_column(Date)
    next_verification: Mapped[date | None] = mapped_column(Date)  # очередная поверка
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship(back_populates="meters")
    readings: Mapped[list[MeterReading]] = relationship(
        back_populates="meter",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MeterReading.id",
        lazy="raise_on_sql",  # history grows; query it (accounts.service.last_readings)
    )

    @property
    def zones(self) -> tuple[ReadingZone, ...]:
        """The registers to read, in the order a caller is asked for them."""
        return TARIFF_ZONES[self.tariff]

    def __repr__(self) -> str:
        return f"Meter(id={self.id!r}, serial={self.serial!r}, tariff={self.tariff!r})"


class MeterReading(Base):
    """One register's reading (kWh) on one day, from billing or taken by us."""

    __tablename__ = "meter_readings"
    __table_args__ = (
        Index(None, "meter_id", "zone", "taken_on"),
        Index(None, "txid", "id"),
        enum_check("zone", "zone", ReadingZone),
        enum_check("source", "source", ReadingSource),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    zone: Mapped[ReadingZone] = mapped_column(StrEnumType(ReadingZone))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    taken_on: Mapped[date] = mapped_column(Date)
    source: Mapped[ReadingSource] = mapped_column(StrEnumType(ReadingSource))
    # The call in which it was given (IVR or operator); the table lives in calls.models.
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    # Who gave it: the caller's number (IVR), an operator's login, "billing" for imports.
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # PostgreSQL: the id of the transaction that wrote the row (a column default, migration
    # 0005), so billing's feed can hold back rows whose transaction may still be in flight
    # (accounts.service.readings_since). SQLite serialises writers and leaves it NULL.
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())

    meter: Mapped[Meter] = relationship(back_populates="readings")

    def __repr__(self) -> str:
        return (
            f"MeterReading(meter_id={self.meter_id!r}, zone={self.zone!r}, "
            f"value={self.value!r}, taken_on={self.taken_on!r})"
        )
