"""Checks on a keyed-in meter reading (pure)."""

from datetime import date
from decimal import Decimal

from ivr.readings import Previous, check_reading

PREV = Previous(Decimal(12345), date(2026, 10, 25))
TODAY = date(2026, 11, 23)  # 29 days later


def test_ok_and_first_reading() -> None:
    assert check_reading("12450", PREV, TODAY).kind == "ok"
    assert check_reading("12450", None, TODAY).kind == "ok"
    assert check_reading("012450", PREV, TODAY).consumption == Decimal(105)


def test_format() -> None:
    assert check_reading("", PREV, TODAY).kind == "malformed"
    assert check_reading("1*2", PREV, TODAY).kind == "malformed"
    assert check_reading("1234567", PREV, TODAY, digits=6).kind == "too_many_digits"
    assert check_reading("0123456", PREV, TODAY, digits=6).kind != "too_many_digits"  # leading zero


def test_below_previous_and_jumps() -> None:
    below = check_reading("12000", PREV, TODAY)
    assert below.kind == "below_previous" and below.consumption == Decimal(-345)
    limit = 12345 + 150 * 29
    assert check_reading(str(limit), PREV, TODAY).kind == "ok"
    assert check_reading(str(limit + 1), PREV, TODAY).kind == "implausible_jump"
    # same day as the previous reading counts as one day
    assert check_reading("12500", Previous(Decimal(12345), TODAY), TODAY).kind == "implausible_jump"
