"""Importing accounts into the database, lookups, readings, demo data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from account_files import sample_table, write_csv, write_xlsx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.adapters import AccountRecord, RowError
from accounts.demo import DEMO_PHONES, seed_demo
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
from accounts.service import (
    ReadingError,
    find_by_number,
    find_by_phone,
    import_file,
    last_readings,
    record_reading,
    upsert_accounts,
)

TODAY = date(2026, 11, 23)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Account, AccountPhone, Meter, MeterReading)
    )


def _sample(tmp_path: Path, edit: dict[tuple[str, int], str] | None = None) -> Path:
    """The sample file, with cells changed: {(account number, column index): value}."""
    header, rows = sample_table()
    for (number, column), value in (edit or {}).items():
        for row in rows:
            if row[0] == number:
                row[column] = value
    return write_csv(tmp_path / "accounts.csv", header, rows)


def test_import_then_reimport_changes_nothing(session: Session, tmp_path: Path) -> None:
    path = _sample(tmp_path)
    report = import_file(session, path, today=TODAY)
    session.commit()
    assert (report.rows, report.created, report.updated, report.unchanged) == (11, 10, 0, 0)
    assert report.rejected == [] and report.ok
    counts = _counts(session)
    assert counts == (10, 13, 11, 19)

    again = import_file(session, path, today=TODAY)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert _counts(session) == counts
    assert "без изменений 10" in again.summary()


def test_reimport_updates_what_changed(session: Session, tmp_path: Path) -> None:
    import_file(session, _sample(tmp_path), today=TODAY)
    session.commit()
    ivanova = find_by_number(session, "430100000011")
    assert ivanova is not None
    session.add(AccountPhone(account=ivanova, phone="+79120000777", kind=PhoneKind.CUSTOMER_GIVEN))
    session.commit()
    before = _counts(session)

    changed = _sample(
        tmp_path,
        {
            ("430100000011", 5): "+7 999 000-00-01",  # the landline left the contract
            ("430100000011", 6): "-2 000,00",
            ("430100000022", 14): "8 500",  # a new day reading on a new date
            ("430100000022", 18): "25.11.2026",
            ("660300000066", 14): "25 731",  # corrects the reading of the same day
            ("630200000055", 9): "2",  # the meter now counts day and night
            ("630200000055", 13): "",
            ("630200000055", 14): "10",
            ("630200000055", 15): "5",
        },
    )
    report = import_file(session, changed, today=TODAY)
    session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 4, 6)

    session.expire_all()
    ivanova = find_by_number(session, "430100000011")
    assert ivanova is not None
    assert ivanova.balance == Decimal("-2000.00")
    assert {(p.phone, p.kind) for p in ivanova.phones} == {
        ("+79990000001", PhoneKind.CONTRACT),
        ("+79120000777", PhoneKind.CUSTOMER_GIVEN),  # what the customer told us stays
    }
    petrov = find_by_number(session, "430100000022")
    assert petrov is not None
    readings = last_readings(session, petrov.meters[0].id)
    assert readings[ReadingZone.DAY].value == Decimal("8500")
    assert readings[ReadingZone.DAY].taken_on == date(2026, 11, 25)
    assert readings[ReadingZone.NIGHT].value == Decimal("3127.5")  # unchanged, not duplicated
    popov = find_by_number(session, "660300000066")
    assert popov is not None
    assert last_readings(session, popov.meters[0].id)[ReadingZone.DAY].value == Decimal("25731")
    smirnova = find_by_number(session, "630200000055")
    assert smirnova is not None
    assert smirnova.meters[0].tariff is Tariff.DAY_NIGHT
    # Ivanova -1 contract phone; Petrov +1 reading; Smirnova +2 readings; Popov corrected.
    assert _counts(session) == (before[0], before[1] - 1, before[2], before[3] + 3)


def test_find_by_phone_in_any_format(session: Session) -> None:
    seed_demo(session)
    session.commit()
    for written in ("+79990000001", "89990000001", "9990000001", "8(999)000-00-01", "79990000001"):
        assert [a.number for a in find_by_phone(session, written)] == ["430100000011"]
    assert [a.number for a in find_by_phone(session, "8 (8332) 12-34-56")] == ["430100000011"]
    assert find_by_phone(session, "+79990000099") == []
    assert find_by_phone(session, "anonymous") == []
    assert find_by_phone(session, "") == []


def test_one_phone_several_accounts(session: Session) -> None:
    records = [
        AccountRecord(number="4301000002", phones=("89120000001",), source="test"),
        AccountRecord(number="4301000001", phones=("89120000001", "89120000002"), source="test"),
    ]
    report = upsert_accounts(session, records)
    session.commit()
    assert report.created == 2
    found = find_by_phone(session, "+79120000001")
    assert [a.number for a in found] == ["4301000001", "4301000002"]
    assert [p.phone for p in found[0].phones] == ["+79120000001", "+79120000002"]
    assert found[0].timezone == "Europe/Moscow"  # the default for records without one


def test_find_by_number(session: Session) -> None:
    seed_demo(session)
    session.commit()
    account = find_by_number(session, " 4301 0000 0011 ")
    assert account is not None and account.holder_name == "Иванова Мария Петровна"
    assert account.debt == Decimal("1523.40")
    assert find_by_number(session, "000000000000") is None
    assert find_by_number(session, "нет") is None


def test_seed_demo_is_idempotent(session: Session) -> None:
    first = seed_demo(session)
    session.commit()
    counts = _counts(session)
    second = seed_demo(session)
    session.commit()
    assert (first.created, second.created, second.updated, second.unchanged) == (10, 0, 0, 10)
    assert _counts(session) == counts
    for phone in DEMO_PHONES:
        (account,) = find_by_phone(session, phone)
        assert account.source == "demo"
    accounts = session.scalars(select(Account)).all()
    tariffs = {meter.tariff for account in accounts for meter in account.meters}
    assert tariffs == set(Tariff)
    balances = [account.balance for account in session.scalars(select(Account))]
    assert any(b < 0 for b in balances) and any(b > 0 for b in balances)


def test_readings_taken_by_us(session: Session) -> None:
    seed_demo(session)
    session.commit()
    account = find_by_number(session, "430100000022")
    assert account is not None
    meter = account.meters[0]

    reading = record_reading(
        session, meter, "day", Decimal("8600"), ReadingSource.IVR_VOICE, taken_on=TODAY
    )
    session.commit()
    latest = last_readings(session, meter.id)
    assert list(latest) == [ReadingZone.DAY, ReadingZone.NIGHT]
    assert latest[ReadingZone.DAY].id == reading.id
    assert latest[ReadingZone.DAY].source is ReadingSource.IVR_VOICE
    assert latest[ReadingZone.NIGHT].source is ReadingSource.BILLING

    dtmf = record_reading(session, meter, ReadingZone.NIGHT, 3200, "ivr_dtmf")
    assert dtmf.taken_on is not None  # today in Europe/Kirov
    with pytest.raises(ReadingError, match="нет зоны"):
        record_reading(session, meter, ReadingZone.TOTAL, 1, ReadingSource.OPERATOR)
    with pytest.raises(ReadingError, match="не помещаются"):
        record_reading(session, meter, ReadingZone.DAY, 1_000_000, ReadingSource.OPERATOR)


def test_import_xlsx_and_bad_rows_into_the_database(session: Session, tmp_path: Path) -> None:
    header, rows = sample_table()
    rows[3][5] = "12-34"  # row 5: Kuznetsov's first row, a bad phone
    rows[7][6] = "много"  # row 9: Vasilyeva, a bad balance
    path = write_xlsx(tmp_path / "accounts.xlsx", [header, *rows])
    report = import_file(session, path, today=TODAY)
    session.commit()
    assert [error.row for error in report.rejected] == [5, 9]
    assert report.rows == 11 and report.created == 9
    kuznetsov = find_by_number(session, "430100000044")
    assert kuznetsov is not None  # from its good second row
    assert [m.serial for m in kuznetsov.meters] == ["44567891"]
    assert find_by_number(session, "180400000077") is None


def test_row_errors_pass_through_upsert(session: Session) -> None:
    report = upsert_accounts(
        session, [RowError(3, "плохо"), AccountRecord(number="4301000001", rows=(2,))]
    )
    assert report.rows == 2 and report.created == 1
    assert report.rejected == [RowError(3, "плохо")]
