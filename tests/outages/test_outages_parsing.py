"""Addresses, house lists and outage times, as grid companies and billing write them (pure)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from outages.parsing import (
    house_key,
    locality_key,
    parse_address,
    parse_houses,
    parse_moment,
    parse_period,
    street_key,
)


@pytest.mark.parametrize(("text", "key"), [
    ("г. Киров", "киров"), ("Киров", "киров"), ("город Киров", "киров"),
    ("пгт Лёвинцы", "левинцы"), ("Кирово-Чепецк г", "кирово-чепецк"),
])
def test_locality_keys(text: str, key: str) -> None:
    assert locality_key(text) == key


@pytest.mark.parametrize(("text", "key"), [
    ("ул. Ленина", "ул ленина"), ("улица Ленина", "ул ленина"), ("Ленина", "ул ленина"),
    ("Октябрьский пр-т", "пр-т октябрьский"), ("проспект Октябрьский", "пр-т октябрьский"),
    ("пер. Ленина", "пер ленина"), ("ул. 8 Марта", "ул 8 марта"),
])
def test_street_keys(text: str, key: str) -> None:
    assert street_key(text) == key


def test_a_lane_is_not_the_street_of_the_same_name() -> None:
    assert street_key("пер. Ленина") != street_key("ул. Ленина")


@pytest.mark.parametrize(("text", "key"), [
    ("12", "12"), ("д. 12 А", "12а"), ("12а", "12а"), ("12 корп. 2", "12к2"), ("12к2", "12к2"),
    ("12/1", "12/1"), ("дом 7 стр. 3", "7с3"),
])
def test_house_keys(text: str, key: str) -> None:
    assert house_key(text) == key


def test_house_lists_and_ranges() -> None:
    assert parse_houses("").whole and parse_houses(None).whole and parse_houses("все").whole
    assert parse_houses("Все дома").whole
    houses = parse_houses("1-15")
    assert houses.covers("1") and houses.covers("15") and houses.covers("12а")
    assert not houses.covers("16") and not houses.covers("17")
    listed = parse_houses("2, 4, 6а")
    assert listed.covers("6а") and listed.covers("4") and not listed.covers("6")
    odd = parse_houses("1-15 нечётные, 20")
    assert odd.covers("13") and not odd.covers("12") and odd.covers("20")
    assert parse_houses("д. 5").covers("5")


def test_the_same_houses_written_differently_have_one_key() -> None:
    assert parse_houses("6а, 2,4").key == parse_houses("2; 4; 6 А").key
    assert parse_houses(parse_houses("1-15 нечет, 20").key) == parse_houses("1-15 нечет, 20")


@pytest.mark.parametrize("text", ["abc", "15-1", "1-15 по вторникам"])
def test_bad_house_lists_say_why(text: str) -> None:
    with pytest.raises(ValueError, match="дом"):
        parse_houses(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("г. Киров, ул. Ленина, д. 12, кв. 34", ("киров", "ул ленина", "12")),
    ("Кировская обл., г. Слободской, ул. Советская, д. 5", ("слободской", "ул советская", "5")),
    ("610000, г. Киров, ул. Ленина 12а", ("киров", "ул ленина", "12а")),
    ("Киров, Ленина, 12", ("киров", "ул ленина", "12")),
    ("г. Киров, Октябрьский пр-т, д. 101, кв. 7", ("киров", "пр-т октябрьский", "101")),
    ("Самарская обл., г. Самара, ул. 8 Марта, д. 1 корп. 2", ("самара", "ул 8 марта", "1к2")),
    ("д. Ивановка, д. 5", ("ивановка", None, "5")),
])
def test_customer_addresses(text: str, expected: tuple) -> None:
    address = parse_address(text)
    assert (address.locality, address.street, address.house) == expected


@pytest.mark.parametrize("text", [None, "", "ул. Ленина 12", "г. Киров, ул. Ленина", "где-то там"])
def test_addresses_that_cannot_be_matched_reliably(text: str | None) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("01.12.2026 09:00", datetime(2026, 12, 1, 9)),
    ("01.12.26 9:30", datetime(2026, 12, 1, 9, 30)),
    ("2026-12-01 09:00", datetime(2026, 12, 1, 9)),
    ("1 декабря 2026 9.00", datetime(2026, 12, 1, 9)),
    ("01.12.2026 24:00", datetime(2026, 12, 2)),
    ("01.12.2026 09:30:00", datetime(2026, 12, 1, 9, 30)),  # seconds, as spreadsheets export
])
def test_moments_in_russian_formats(text: str, expected: datetime) -> None:
    assert parse_moment(text) == expected


def test_a_time_alone_takes_the_date_column() -> None:
    assert parse_moment("9:00", day=date(2026, 12, 1)) == datetime(2026, 12, 1, 9)
    assert parse_moment(time(9), day=date(2026, 12, 1)) == datetime(2026, 12, 1, 9)
    with pytest.raises(ValueError, match="нет даты"):
        parse_moment("9:00")
    with pytest.raises(ValueError, match="нет времени"):
        parse_moment("01.12.2026")
    with pytest.raises(ValueError, match="не существует"):
        parse_moment("31.02.2026 09:00")


@pytest.mark.parametrize(("text", "expected"), [
    ("01.12.2026 09:00 - 01.12.2026 17:00", (datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 17))),
    ("01.12.2026 с 9.00 до 17.00", (datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 17))),
    ("с 9:00 до 17:00", (datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 17))),
    ("09:00-17:00", (datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 17))),
    ("22:00-06:00", (datetime(2026, 12, 1, 22), datetime(2026, 12, 2, 6))),
    ("1 декабря 2026 9:00 - 2 декабря 2026 10:00",
     (datetime(2026, 12, 1, 9), datetime(2026, 12, 2, 10))),
])
def test_periods(text: str, expected: tuple) -> None:
    assert parse_period(text, day=date(2026, 12, 1)) == expected
