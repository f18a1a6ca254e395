"""Values as back offices write them (pure functions, no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from accounts.models import Tariff
from accounts.parsing import (
    normalize_header,
    normalize_phone,
    parse_account_number,
    parse_date,
    parse_digits,
    parse_money,
    parse_reading,
    parse_tariff,
    parse_timezone,
    split_phones,
)


@pytest.mark.parametrize(
    "written",
    [
        "8 (912) 345-67-89",
        "+7 912 3456789",
        "9123456789",
        "79123456789",
        "89123456789",
        "+7(912)345-67-89",
        " 8-912-345-67-89 ",
        89123456789,
        89123456789.0,
    ],
)
def test_phone_formats(written: object) -> None:
    assert normalize_phone(written) == "+79123456789"  # type: ignore[arg-type]


def test_landline_and_foreign_phones() -> None:
    assert normalize_phone("8 (8332) 12-34-56") == "+78332123456"
    assert normalize_phone("+375 29 123-45-67") == "+375291234567"


@pytest.mark.parametrize("bad", ["12-34-56", "телефон", "8 912 345", "+7 000 000-00-00", ""])
def test_bad_phones_are_explained_in_russian(bad: str) -> None:
    with pytest.raises(ValueError, match="телефон|номер"):
        normalize_phone(bad)


def test_several_phones_in_one_cell() -> None:
    assert split_phones("8 912 345-67-89, +7 (8332) 12-34-56; 89123456789") == [
        "+79123456789",
        "+78332123456",
    ]
    assert split_phones(None) == []


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("1 234,56", "1234.56"),
        ("-1234.56", "-1234.56"),
        ("1234,5", "1234.50"),
        ("−1 523,40", "-1523.40"),
        ("1\u00a0234,56 руб.", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("0", "0.00"),
        (-21.21, "-21.21"),
        (1200, "1200.00"),
    ],
)
def test_money_formats(written: object, amount: str) -> None:
    assert parse_money(written) == Decimal(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["12,345", "abc", "1 234,5 6", "--5", "1.2.3"])
def test_bad_money(bad: str) -> None:
    with pytest.raises(ValueError, match="сумма"):
        parse_money(bad)


def test_readings() -> None:
    assert parse_reading("12 345") == Decimal("12345.000")
    assert parse_reading("3 127,5") == Decimal("3127.500")
    assert parse_reading(19876.125) == Decimal("19876.125")
    with pytest.raises(ValueError, match="отрицательн"):
        parse_reading("-5")
    with pytest.raises(ValueError, match="знаков"):
        parse_reading("1,2345")


def test_account_numbers() -> None:
    assert parse_account_number(" 4301 0000 0011 ") == "430100000011"
    assert parse_account_number(430100000011) == "430100000011"
    assert parse_account_number(430100000011.0) == "430100000011"
    assert parse_account_number("001234567") == "001234567"
    for bad, reason in (
        ("12345", "от 6 до 20"),
        ("43-01-000", "только из цифр"),
        ("", "не указан"),
    ):
        with pytest.raises(ValueError, match=reason):
            parse_account_number(bad)


def test_dates() -> None:
    for written in ("31.01.2026", "31.01.26", "2026-01-31", "31/01/2026", "2026-01-31 00:00:00"):
        assert parse_date(written) == date(2026, 1, 31)
    assert parse_date(datetime(2026, 1, 31, 10, 0)) == date(2026, 1, 31)
    with pytest.raises(ValueError, match="ДД.ММ.ГГГГ"):
        parse_date("31 января")
    with pytest.raises(ValueError):
        parse_date("31.02.2026")


@pytest.mark.parametrize(
    ("written", "tariff"),
    [
        ("1", Tariff.SINGLE),
        (1, Tariff.SINGLE),
        ("Однотарифный", Tariff.SINGLE),
        ("single", Tariff.SINGLE),
        ("2", Tariff.DAY_NIGHT),
        ("день/ночь", Tariff.DAY_NIGHT),
        ("day_night", Tariff.DAY_NIGHT),
        ("Трёхтарифный", Tariff.THREE_ZONE),
        (3.0, Tariff.THREE_ZONE),
    ],
)
def test_tariffs(written: object, tariff: Tariff) -> None:
    assert parse_tariff(written) is tariff  # type: ignore[arg-type]


def test_unknown_tariff() -> None:
    with pytest.raises(ValueError, match="1, 2 или 3"):
        parse_tariff("4")


def test_time_zones() -> None:
    assert parse_timezone("Europe/Moscow") == "Europe/Moscow"
    assert parse_timezone("МСК") == "Europe/Moscow"
    assert parse_timezone("мск+1") == "Europe/Samara"
    assert parse_timezone("MSK-1") == "Europe/Kaliningrad"
    assert parse_timezone("UTC+5") == "Asia/Yekaterinburg"
    with pytest.raises(ValueError, match="не распознан"):
        parse_timezone("Mars/Olympus")
    with pytest.raises(ValueError, match="не относится к России"):
        parse_timezone("UTC-5")


def test_digits() -> None:
    assert parse_digits("6") == 6
    assert parse_digits(5.0) == 5
    with pytest.raises(ValueError, match="от 3 до 9"):
        parse_digits("12")


def test_headers() -> None:
    assert normalize_header(" Лицевой счёт ") == "лицевой счет"
    assert normalize_header("№ Л/С") == "номер л с"
    assert normalize_header("\ufeffAccount_Number") == "account number"
    assert normalize_header("Показания (день)") == "показания день"
