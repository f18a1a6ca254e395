"""Account lookups and the billing import.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit: the caller owns the
transaction (``with session.begin(): import_file(session, path)``). They flush, so ids are
assigned and constraint violations surface inside the call.

Import rules (:func:`upsert_accounts`), which make re-importing the same file a no-op:

- accounts are matched by number; a field given in the record (not ``None``) replaces the
  stored one when different; fields the file does not have are left alone;
- phones in the record are the contract phones: missing ones are added, contract phones no
  longer listed are removed, phones the customer gave us (``customer_given``) are kept;
- meters are matched by serial within the account and updated; meters missing from the file
  are kept (their reading history matters);
- a reading equal to the latest billing reading of that meter and zone is the same reading;
  a different value on the same day corrects it; otherwise it is added as a new reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select, text, tuple_
from sqlalchemy.orm import Session, selectinload

from accounts.adapters import ZONE_NAMES, AccountRecord, MeterRecord, RowError, open_source
from accounts.models import (
    Account,
    AccountPhone,
    Meter,
    MeterReading,
    PhoneKind,
    ReadingSource,
    ReadingZone,
    Tariff,
)
from accounts.parsing import normalize_phone, parse_account_number
from base.db import utcnow

__all__ = [
    "DEFAULT_TIMEZONE",
    "ImportReport",
    "ReadingCursor",
    "ReadingError",
    "ReadingRow",
    "find_by_number",
    "find_by_phone",
    "import_file",
    "last_readings",
    "readings_since",
    "record_reading",
    "upsert_accounts",
]

DEFAULT_TIMEZONE = "Europe/Moscow"
BATCH_SIZE = 500


@dataclass
class ImportReport:
    """What an import did. Counts are of accounts, except ``rows`` (data rows read)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def accounts(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        """One line for the back office, in Russian."""
        return (
            f"строк: {self.rows}; лицевых счетов: {self.accounts} (новых {self.created}, "
            f"изменено {self.updated}, без изменений {self.unchanged}); "
            f"отклонено строк: {len(self.rejected)}"
        )


# ---- lookups ----------------------------------------------------------------------------------


def _with_details() -> Any:
    return (selectinload(Account.phones), selectinload(Account.meters))


def find_by_phone(session: Session, phone: str) -> list[Account]:
    """Accounts with this phone (contract or customer-given), by account number.

    ``phone`` may be written any usual way ("+79123456789", "89123456789", "9123456789");
    a string that is not a valid number finds nothing.
    """
    try:
        e164 = normalize_phone(phone)
    except ValueError:
        return []
    statement = (
        select(Account)
        .where(Account.id.in_(select(AccountPhone.account_id).where(AccountPhone.phone == e164)))
        .options(*_with_details())
        .order_by(Account.number)
    )
    return list(session.scalars(statement))


def find_by_number(session: Session, number: str) -> Account | None:
    """The account with this number (spaces ignored), or None."""
    try:
        digits = parse_account_number(number)
    except ValueError:
        return None
    statement = select(Account).where(Account.number == digits).options(*_with_details())
    return session.scalars(statement).one_or_none()


def _latest_readings(
    session: Session, meter_ids: Sequence[int], source: ReadingSource | None = None
) -> dict[tuple[int, ReadingZone], MeterReading]:
    """The newest reading per (meter, zone): latest day, then latest entered."""
    if not meter_ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=(MeterReading.meter_id, MeterReading.zone),
            order_by=(MeterReading.taken_on.desc(), MeterReading.id.desc()),
        )
        .label("rank")
    )
    inner = select(MeterReading.id, rank).where(MeterReading.meter_id.in_(meter_ids))
    if source is not None:
        inner = inner.where(MeterReading.source == source)
    ranked = inner.subquery()
    statement = (
        select(MeterReading).join(ranked, ranked.c.id == MeterReading.id).where(ranked.c.rank == 1)
    )
    return {(r.meter_id, r.zone): r for r in session.scalars(statement)}


def last_readings(session: Session, meter_id: int) -> dict[ReadingZone, MeterReading]:
    """The latest reading of each zone of the meter (from any source), in zone order."""
    latest = _latest_readings(session, [meter_id])
    return {zone: latest[(meter_id, zone)] for zone in ReadingZone if (meter_id, zone) in latest}


class ReadingError(ValueError):
    """A reading that cannot be stored; the message is Russian, for the operator."""


def record_reading(
    session: Session,
    meter: Meter,
    zone: ReadingZone | str,
    value: Decimal | int | str,
    source: ReadingSource | str,
    *,
    taken_on: date | None = None,
    call_id: int | None = None,
) -> MeterReading:
    """Store a reading taken by us (IVR, operator, web) after checking it fits the meter.

    ``taken_on`` defaults to today in the account's time zone. Whether the value is
    plausible against the previous reading is the flow's question (it reads the value back
    to the caller and asks to confirm). Flushes, does not commit.
    """
    zone = ReadingZone(zone)
    amount = Decimal(value)
    if zone not in meter.zones:
        raise ReadingError(f"у счётчика {meter.serial} нет зоны «{ZONE_NAMES[zone]}»")
    if amount < 0 or amount >= Decimal(10) ** meter.digits:
        raise ReadingError(
            f"показания {amount} не помещаются в {meter.digits}-разрядный счётчик {meter.serial}"
        )
    if taken_on is None:
        taken_on = utcnow().astimezone(ZoneInfo(meter.account.timezone)).date()
    if meter.id is None:
        session.flush()
    reading = MeterReading(
        meter_id=meter.id,
        zone=zone,
        value=amount,
        taken_on=taken_on,
        source=ReadingSource(source),
        call_id=call_id,
    )
    session.add(reading)
    session.flush()
    return reading


# ---- import -------------------------------------------------------------------------------------


def _chunks(items: Iterable[AccountRecord], size: int) -> Iterator[list[AccountRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Importer:
    def __init__(self, session: Session, default_timezone: str, today: date) -> None:
        self.session = session
        self.default_timezone = default_timezone
        self.today = today

    def apply(self, chunk: list[AccountRecord], report: ImportReport) -> None:
        numbers = {record.number for record in chunk}
        accounts = {
            account.number: account
            for account in self.session.scalars(
                select(Account).where(Account.number.in_(numbers)).options(*_with_details())
            )
        }
        meter_ids = [meter.id for account in accounts.values() for meter in account.meters]
        self.latest = _latest_readings(self.session, meter_ids, ReadingSource.BILLING)
        for record in chunk:
            account = accounts.get(record.number)
            if account is None:
                accounts[record.number] = self._create(record)
                report.created += 1
            elif self._update(account, record):
                account.updated_at = utcnow()
                report.updated += 1
            else:
                report.unchanged += 1
        self.session.flush()

    def _create(self, record: AccountRecord) -> Account:
        account = Account(
            number=record.number,
            holder_name=record.holder_name,
            address=record.address,
            region_code=record.region_code,
            timezone=record.timezone or self.default_timezone,
            balance=record.balance if record.balance is not None else Decimal("0.00"),
            balance_at=record.balance_at,
            source=record.source,
            phones=[AccountPhone(phone=phone, kind=PhoneKind.CONTRACT) for phone in record.phones],
        )
        self.session.add(account)
        for meter_record in record.meters:
            meter = self._new_meter(account, meter_record)
            self._readings(meter, meter_record, record)
        return account

    def _update(self, account: Account, record: AccountRecord) -> bool:
        changed = False
        for name in (
            "holder_name", "address", "region_code", "timezone", "balance", "balance_at", "source",
        ):  # fmt: skip
            new = getattr(record, name)
            if new is not None and getattr(account, name) != new:
                setattr(account, name, new)
                changed = True
        changed |= self._sync_phones(account, record.phones)
        meters = {meter.serial: meter for meter in account.meters}
        for meter_record in record.meters:
            meter = meters.get(meter_record.serial)
            if meter is None:
                meter = self._new_meter(account, meter_record)
                changed = True
            else:
                changed |= self._update_meter(meter, meter_record)
            changed |= self._readings(meter, meter_record, record)
        return changed

    def _sync_phones(self, account: Account, phones: Sequence[str]) -> bool:
        changed = False
        by_number = {phone.phone: phone for phone in account.phones}
        for phone in phones:
            known = by_number.get(phone)
            if known is None:
                account.phones.append(AccountPhone(phone=phone, kind=PhoneKind.CONTRACT))
                changed = True
            elif known.kind != PhoneKind.CONTRACT:
                known.kind = PhoneKind.CONTRACT
                changed = True
        for known in list(account.phones):
            if known.kind == PhoneKind.CONTRACT and known.phone not in phones:
                account.phones.remove(known)
                changed = True
        return changed

    def _new_meter(self, account: Account, record: MeterRecord) -> Meter:
        meter = Meter(
            serial=record.serial,
            tariff=record.tariff or Tariff.SINGLE,
            digits=record.digits or 6,
            installed_at=record.installed_at,
            next_verification=record.next_verification,
        )
        account.meters.append(meter)
        return meter

    def _update_meter(self, meter: Meter, record: MeterRecord) -> bool:
        changed = False
        for name in ("tariff", "digits", "installed_at", "next_verification"):
            new = getattr(record, name)
            if new is not None and getattr(meter, name) != new:
                setattr(meter, name, new)
                changed = True
        return changed

    def _readings(self, meter: Meter, record: MeterRecord, account: AccountRecord) -> bool:
        changed = False
        taken_on = record.readings_on or account.balance_at or self.today
        for zone, value in record.readings.items():
            latest = self.latest.get((meter.id, zone)) if meter.id is not None else None
            if latest is not None and latest.value == value:
                continue
            if latest is not None and latest.taken_on == taken_on:
                latest.value = value  # billing corrected that day's reading
            else:
                reading = MeterReading(
                    zone=zone, value=value, taken_on=taken_on, source=ReadingSource.BILLING
                )
                if meter.id is None:
                    meter.readings.append(reading)  # a new meter: its collection is empty
                else:
                    reading.meter_id = meter.id  # do not load the meter's whole history
                    self.session.add(reading)
            changed = True
        return changed


def upsert_accounts(
    session: Session,
    records: Iterable[AccountRecord | RowError],
    *,
    default_timezone: str = DEFAULT_TIMEZONE,
    today: date | None = None,
) -> ImportReport:
    """Create or update accounts from billing records (see the module docstring for rules).

    ``RowError`` items are passed through to ``report.rejected``. ``default_timezone`` is
    given to new accounts whose record has none; ``today`` dates readings that come without
    a date of their own or of the balance. Flushes, does not commit.
    """
    report = ImportReport()
    rows: set[int] = set()

    def accepted() -> Iterator[AccountRecord]:
        for item in records:
            if isinstance(item, RowError):
                report.rejected.append(item)
                rows.add(item.row)
            else:
                rows.update(item.rows)
                yield item

    importer = _Importer(session, default_timezone, today or utcnow().date())
    with session.no_autoflush:
        for chunk in _chunks(accepted(), BATCH_SIZE):
            importer.apply(chunk, report)
    report.rows = len(rows)
    report.rejected.sort(key=lambda error: error.row)
    return report


def import_file(
    session: Session,
    path: Path | str,
    *,
    default_timezone: str = DEFAULT_TIMEZONE,
    today: date | None = None,
) -> ImportReport:
    """Import a CSV or XLSX file of accounts. Flushes, does not commit.

    Raises :class:`accounts.adapters.SourceError` (Russian message) when the file cannot be
    read at all; row problems are in ``report.rejected``.
    """
    source = open_source(path)
    return upsert_accounts(
        session, source.records(), default_timezone=default_timezone, today=today
    )


# ---- readings for billing -----------------------------------------------------------------


@dataclass(frozen=True)
class ReadingRow:
    """One reading as billing takes it: a cursor (the row id) and what was given, by whom."""

    id: int
    account_number: str
    meter_serial: str
    zone: str
    value: Decimal
    taken_on: date
    source: str
    submitted_by: str | None
    call_id: int | None
    created_at: datetime


READING_EXPORT_COLUMNS = (
    "id", "account_number", "meter_serial", "zone", "value", "taken_on", "source", "submitted_by", "call_id",
    "created_at",
)


@dataclass(frozen=True, order=True)
class ReadingCursor:
    """Where billing stopped: the last row's writing transaction (0 on SQLite) and id.

    Written ``"<txid>:<id>"`` (``"0"`` or empty: from the start). Opaque to billing: it sends
    back the ``next_cursor`` it was given.
    """

    txid: int = 0
    id: int = 0

    @classmethod
    def parse(cls, text: str | None) -> ReadingCursor:
        """A cursor from its text; ``ValueError`` when it is not one we gave out."""
        text = (text or "").strip()
        if text in ("", "0"):
            return cls()
        txid, colon, row_id = text.partition(":")
        if not colon or not txid.isdigit() or not row_id.isdigit():
            raise ValueError(f"not a readings cursor: {text[:40]!r}")
        return cls(int(txid), int(row_id))

    def __str__(self) -> str:
        return f"{self.txid}:{self.id}"


def readings_since(
    session: Session, cursor: ReadingCursor | None = None, limit: int = 1000
) -> tuple[list[ReadingRow], ReadingCursor]:
    """Readings we took (not billing's own) after ``cursor``, in feed order; and the next cursor.

    Billing calls this repeatedly with the cursor it got last time; nothing is lost or taken
    twice while new readings arrive. On PostgreSQL several writers commit out of id order, so
    the feed is ordered by (writing transaction, id) and holds back every row whose
    transaction is not older than all transactions still running (``pg_snapshot_xmin``):
    such a row may still have a neighbour in flight. Any row committed later belongs to a
    transaction at least that young, so it sorts after every row already returned. On SQLite
    one writer at a time commits, so ids come in commit order and the id alone is the cursor.
    """
    cursor = cursor or ReadingCursor()
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (
        select(MeterReading.id, Account.number, Meter.serial, MeterReading.zone, MeterReading.value,
               MeterReading.taken_on, MeterReading.source, MeterReading.submitted_by, MeterReading.call_id,
               MeterReading.created_at, MeterReading.txid)
        .join(Meter, Meter.id == MeterReading.meter_id)
        .join(Account, Account.id == Meter.account_id)
        .where(MeterReading.source != ReadingSource.BILLING)
        .limit(limit)
    )
    if postgres:
        settled = text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        after = tuple_(literal(cursor.txid), literal(cursor.id))
        statement = statement.where(
            tuple_(MeterReading.txid, MeterReading.id) > after,
            MeterReading.txid < settled,
        ).order_by(MeterReading.txid, MeterReading.id)
    else:
        statement = statement.where(MeterReading.id > cursor.id).order_by(MeterReading.id)
    rows: list[ReadingRow] = []
    last = cursor
    for r in session.execute(statement):
        rows.append(ReadingRow(r[0], r[1], r[2], str(getattr(r[3], "value", r[3])), r[4], r[5],
                               str(getattr(r[6], "value", r[6])), r[7], r[8], r[9]))
        last = ReadingCursor(int(r[10] or 0) if postgres else 0, int(r[0]))
    return rows, last
