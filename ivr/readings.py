"""Checks on a meter reading given by a caller (pure). A wrong reading costs the customer money.

Rules:
- digits only, at most the meter's number of digits (a 6-digit meter shows up to 999999);
- not below the previous reading for the zone — unless the caller says the meter was
  replaced, which an operator handles (a new meter starts from its own reading);
- not an implausible jump for the period: more than `max_daily_kwh` per day since the
  previous reading (at least one day) asks the caller to confirm once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DEFAULT_MAX_DAILY_KWH = Decimal(150)  # a large house with electric heating in winter


@dataclass(frozen=True)
class Previous:
    value: Decimal
    taken_on: date


@dataclass(frozen=True)
class Verdict:
    kind: str  # ok | malformed | too_many_digits | below_previous | implausible_jump
    consumption: Decimal | None = None
    days: int | None = None


def check_reading(
    entered: str,
    previous: Previous | None,
    today: date,
    digits: int = 6,
    max_daily_kwh: Decimal = DEFAULT_MAX_DAILY_KWH,
) -> Verdict:
    if not entered or not entered.isdigit():
        return Verdict("malformed")
    if len(entered.lstrip("0") or "0") > digits:
        return Verdict("too_many_digits")
    value = Decimal(int(entered))
    if previous is None:
        return Verdict("ok")
    consumption = value - previous.value
    days = max((today - previous.taken_on).days, 1)
    if consumption < 0:
        return Verdict("below_previous", consumption, days)
    if consumption > max_daily_kwh * days:
        return Verdict("implausible_jump", consumption, days)
    return Verdict("ok", consumption, days)
