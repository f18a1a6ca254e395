"""What the hotline tells a caller about hours, outages and the balance, as sound names.

Pure functions: facts in (a schedule, outages, a balance and its date), prompts out. Each says
only what its facts support: the hours as the admin configured them, outages with the date
the data was loaded, a balance with the date billing computed it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hours.service import Schedule
from ivr.say_ru import date_sounds, from_time_sounds, money_sounds, time_sounds, time_span_sounds

__all__ = [
    "BALANCE_MAX_AGE",
    "MAX_OUTAGES_TOLD",
    "balance_told",
    "hours_sounds",
    "outage_sounds",
    "outages_told",
]

MAX_OUTAGES_TOLD = 3  # more than this on one phone call helps nobody; the rest: "и другие"
# A balance date is said without its year («по состоянию на первое ноября»): older than this,
# the day and month would mislead, so the balance is not told (the operator has it).
BALANCE_MAX_AGE = timedelta(days=300)


# ---- hours ----------------------------------------------------------------------------------


def _week_groups(schedule: Schedule) -> list[tuple[int, int, tuple[tuple[time, time], ...]]]:
    """Runs of consecutive weekdays with the same (non-empty) hours: (first, last, hours)."""
    groups: list[tuple[int, int, tuple[tuple[time, time], ...]]] = []
    for weekday in range(7):
        hours = schedule.weekly.on(weekday)
        if not hours:
            continue
        if groups and groups[-1][1] == weekday - 1 and groups[-1][2] == hours:
            groups[-1] = (groups[-1][0], weekday, hours)
        else:
            groups.append((weekday, weekday, hours))
    return groups


def hours_sounds(schedule: Schedule | None, next_opening: datetime | None) -> list[str]:
    """The out-of-hours preface: "operators are not working now; they work Monday to Friday
    from 8 to 20; next: 2 December from 8". ``schedule`` None: the hours cannot be read now,
    so only "operators are not available now" is said, nothing about when."""
    if schedule is None:
        return ["hotline:hours_unavailable_now"]
    sounds = ["hotline:hours_closed_now"]
    groups = _week_groups(schedule)
    if groups:
        sounds.append("hotline:hours_work")
        for first, last, hours in groups:
            if first == last:
                sounds.append(f"hotline:wd_on_{first}")
            else:
                sounds += [f"hotline:wd_from_{first}", f"hotline:wd_to_{last}"]
            for start, end in hours:
                sounds += time_span_sounds(start, end)
    if next_opening is not None:
        sounds += ["hotline:hours_next", *date_sounds(next_opening.date()),
                   *from_time_sounds(next_opening.time())]
    return sounds


# ---- outages --------------------------------------------------------------------------------


def outage_sounds(starts_at: datetime, ends_at: datetime) -> list[str]:
    """One outage's when: "3 December from 9 to 17", or across days "start: 5 December, 22
    hours; end: 6 December, 6 hours" (local times as the data gives them)."""
    next_day = starts_at.date() + timedelta(days=1)
    end_is_midnight = ends_at.time() == time(0) and ends_at.date() == next_day
    if ends_at.date() == starts_at.date() or end_is_midnight:
        end = time.max if end_is_midnight else ends_at.time()
        return [*date_sounds(starts_at.date()), *time_span_sounds(starts_at.time(), end)]
    return ["hotline:out_starts", *date_sounds(starts_at.date()), *time_sounds(starts_at.time()),
            "hotline:out_ends", *date_sounds(ends_at.date()), *time_sounds(ends_at.time())]


def outages_told(answer: Any) -> tuple[str, list[str]]:
    """``(outcome, sounds)`` for an :class:`outages.service.AddressAnswer`: outcome ``told``
    (found, or none while the data is current) or ``unavailable`` (the caller is then offered
    the operator or a callback)."""
    loaded = [] if answer.loaded_at is None else ["hotline:out_data_of",
                                                  *date_sounds(answer.loaded_at.date())]
    if answer.status == "found":
        sounds = ["hotline:out_at_address"]
        for outage in answer.outages[:MAX_OUTAGES_TOLD]:
            sounds += outage_sounds(outage.starts_at, outage.ends_at)
        if len(answer.outages) > MAX_OUTAGES_TOLD:
            sounds.append("hotline:out_more")
        return "told", [*sounds, *loaded]
    if answer.status == "none":
        return "told", ["hotline:out_none", *loaded]
    if answer.status == "unknown_address":
        return "unavailable", ["hotline:out_unknown_address"]
    return "unavailable", ["hotline:out_unavailable"]


# ---- balance --------------------------------------------------------------------------------


def balance_told(balance: Decimal, balance_at: date | None, today: date) -> list[str] | None:
    """The balance with its date ("по состоянию на 1 ноября задолженность …"), or None when
    it cannot be told honestly: billing gave no date, or one too old (or in the future) to be
    said without a year. The figure alone would be presented as current when it may not be."""
    if balance_at is None or balance_at > today or today - balance_at > BALANCE_MAX_AGE:
        return None
    as_of = ["hotline:bal_as_of", *date_sounds(balance_at)]
    if balance < 0:
        return [*as_of, "hotline:bal_debt", *money_sounds(-balance)]
    if balance > 0:
        return [*as_of, "hotline:bal_credit", *money_sounds(balance)]
    return [*as_of, "hotline:bal_zero"]
