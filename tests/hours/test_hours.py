"""Working hours: pure functions, at moments the tests construct (no waiting, no clock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hours import service as hours
from hours.service import (
    CALLBACK_HOURS,
    OPERATOR_HOURS,
    HoursError,
    Overrides,
    Schedule,
    WeeklySchedule,
    day_kind,
    from_json,
    intervals_on,
    is_open,
    next_opening,
    to_json,
)

MSK = "Europe/Moscow"
YEKT = "Asia/Yekaterinburg"
MOSCOW = ZoneInfo(MSK)


def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=MOSCOW)


# ---- weekdays and edges ---------------------------------------------------------------------


# Tuesday 2026-11-17: an ordinary working day (no holiday next to it).
@pytest.mark.parametrize(
    ("hh", "mm", "expected"),
    [(7, 59, False), (8, 0, True), (12, 0, True), (19, 59, True), (20, 0, False), (23, 30, False)],
)
def test_operators_weekday_edges(hh: int, mm: int, expected: bool) -> None:
    assert is_open(OPERATOR_HOURS, msk(2026, 11, 17, hh, mm), MSK) is expected


def test_last_second_before_closing_is_open() -> None:
    assert is_open(OPERATOR_HOURS, msk(2026, 11, 17, 19, 59, 59), MSK)


def test_weekend_closed_for_operators_saturday_open_for_callbacks() -> None:
    saturday = msk(2026, 11, 21, 12)
    assert not is_open(OPERATOR_HOURS, saturday, MSK)
    assert is_open(CALLBACK_HOURS, saturday, MSK)
    assert not is_open(CALLBACK_HOURS, msk(2026, 11, 21, 8, 59), MSK)
    assert not is_open(CALLBACK_HOURS, msk(2026, 11, 21, 17, 0), MSK)
    assert not is_open(CALLBACK_HOURS, msk(2026, 11, 22, 12), MSK)  # Sunday
    assert day_kind(OPERATOR_HOURS, date(2026, 11, 21)) == "weekend"
    assert day_kind(CALLBACK_HOURS, date(2026, 11, 21)) == "working"


def test_callbacks_close_at_six_on_weekdays() -> None:
    assert is_open(CALLBACK_HOURS, msk(2026, 11, 17, 17, 59), MSK)
    assert not is_open(CALLBACK_HOURS, msk(2026, 11, 17, 18, 0), MSK)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(OPERATOR_HOURS, datetime(2026, 11, 17, 12), MSK)


def test_unknown_time_zone_is_a_clear_error() -> None:
    with pytest.raises(HoursError, match="часовой пояс"):
        is_open(OPERATOR_HOURS, msk(2026, 11, 17, 12), "Europe/Nowhere")


# ---- the state calendar ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),
        date(2026, 1, 7),
        date(2026, 5, 1),
        date(2026, 11, 4),
        date(2026, 2, 23),
        date(2026, 6, 12),
    ],
)
def test_public_holidays_on_weekdays_are_closed(day: date) -> None:
    assert day.weekday() < 5
    assert day_kind(OPERATOR_HOURS, day) == "holiday"
    assert intervals_on(OPERATOR_HOURS, day) == []
    assert not is_open(OPERATOR_HOURS, datetime.combine(day, time(12), MOSCOW), MSK)


def test_victory_day_on_saturday_closes_callbacks_and_its_monday_is_off() -> None:
    # 2026-05-09 is a Saturday (callbacks normally work); the day off moves to Monday 11 May.
    assert day_kind(CALLBACK_HOURS, date(2026, 5, 9)) == "holiday"
    assert not is_open(CALLBACK_HOURS, msk(2026, 5, 9, 12), MSK)
    assert day_kind(OPERATOR_HOURS, date(2026, 5, 11)) == "holiday"
    assert not is_open(OPERATOR_HOURS, msk(2026, 5, 11, 12), MSK)


def test_transferred_day_off_from_the_package() -> None:
    # Decree for 2026: the day off of Saturday 3 January moves to Friday 9 January, and that of
    # Sunday 4 January to Thursday 31 December.
    for day in (date(2026, 1, 9), date(2026, 12, 31)):
        assert day_kind(OPERATOR_HOURS, day) == "holiday"
        assert "перенесено" in hours.plan_day(OPERATOR_HOURS, day).note


def test_working_saturday_by_government_transfer_from_the_package() -> None:
    # 2024: Saturday 27 April worked instead of Monday 29 April (a day off).
    assert day_kind(OPERATOR_HOURS, date(2024, 4, 27)) == "working"
    assert intervals_on(OPERATOR_HOURS, date(2024, 4, 27)) == [(time(8), time(20))]
    assert is_open(OPERATOR_HOURS, msk(2024, 4, 27, 10), MSK)
    assert day_kind(OPERATOR_HOURS, date(2024, 4, 29)) == "holiday"
    assert hours.public_calendar(2024).working_weekends[date(2024, 4, 27)] == date(2024, 4, 29)
    # Callbacks that Saturday work Monday's hours (08-18), not their usual Saturday (09-17).
    assert intervals_on(CALLBACK_HOURS, date(2024, 4, 27)) == [(time(8), time(18))]


def test_ignoring_the_state_calendar() -> None:
    round_the_clock = Schedule(
        WeeklySchedule.of({d: ["00:00-24:00"] for d in range(7)}),
        observe_public_holidays=False,
        shorten_pre_holiday=False,
    )
    assert day_kind(round_the_clock, date(2026, 1, 1)) == "working"
    assert is_open(round_the_clock, msk(2026, 1, 1, 3), MSK)
    assert is_open(round_the_clock, msk(2026, 1, 1, 23, 59, 59), MSK)
    assert is_open(round_the_clock, msk(2026, 1, 2, 0, 0), MSK)


# ---- art. 95: the day before a public holiday is an hour shorter ---------------------------


def test_pre_holiday_day_is_an_hour_shorter() -> None:
    # Tuesday 2026-11-03, before Unity Day (Wednesday 4 November).
    day = date(2026, 11, 3)
    assert day_kind(OPERATOR_HOURS, day) == "short"
    assert intervals_on(OPERATOR_HOURS, day) == [(time(8), time(19))]
    assert is_open(OPERATOR_HOURS, msk(2026, 11, 3, 18, 59), MSK)
    assert not is_open(OPERATOR_HOURS, msk(2026, 11, 3, 19, 0), MSK)
    assert intervals_on(CALLBACK_HOURS, day) == [(time(8), time(17))]


@pytest.mark.parametrize("day", [date(2026, 4, 30), date(2026, 5, 8), date(2026, 6, 11)])
def test_other_pre_holiday_days_of_2026(day: date) -> None:
    assert day_kind(OPERATOR_HOURS, day) == "short"


def test_friday_before_a_monday_holiday_is_not_shortened() -> None:
    # Monday 2026-02-23 is a holiday; the day before it is a Sunday, so Friday keeps its hours.
    assert day_kind(OPERATOR_HOURS, date(2026, 2, 20)) == "working"


def test_transferred_day_off_does_not_shorten_the_day_before() -> None:
    # 2026-12-31 is a day off by transfer, not a public holiday of art. 112.
    assert day_kind(OPERATOR_HOURS, date(2026, 12, 30)) == "working"


def test_shortening_can_be_switched_off() -> None:
    schedule = replace(OPERATOR_HOURS, shorten_pre_holiday=False)
    assert intervals_on(schedule, date(2026, 11, 3)) == [(time(8), time(20))]


def test_shortening_takes_the_hour_off_the_end_across_a_lunch_break() -> None:
    schedule = Schedule(WeeklySchedule.of({1: ["08:00-12:00", "13:00-13:30"]}))
    # 13:00-13:30 goes entirely, the remaining half hour comes off the morning.
    assert intervals_on(schedule, date(2026, 11, 3)) == [(time(8), time(11, 30))]


# ---- company overrides ----------------------------------------------------------------------


def test_company_day_off() -> None:
    schedule = hours.with_day_off(OPERATOR_HOURS, date(2026, 11, 17))
    assert day_kind(schedule, date(2026, 11, 17)) == "day_off"
    assert not is_open(schedule, msk(2026, 11, 17, 12), MSK)
    assert is_open(schedule, msk(2026, 11, 18, 12), MSK)


def test_company_short_day() -> None:
    schedule = hours.with_short_day(
        OPERATOR_HOURS, date(2026, 12, 30), (hours.parse_interval("08:00-17:00"),)
    )
    assert day_kind(schedule, date(2026, 12, 30)) == "short"
    assert is_open(schedule, msk(2026, 12, 30, 16, 59), MSK)
    assert not is_open(schedule, msk(2026, 12, 30, 17, 0), MSK)


def test_extra_working_saturday() -> None:
    schedule = hours.with_work_day(
        OPERATOR_HOURS, date(2026, 11, 28), (hours.parse_interval("10:00-15:00"),)
    )
    assert day_kind(schedule, date(2026, 11, 28)) == "working"
    assert not is_open(schedule, msk(2026, 11, 28, 9, 59), MSK)
    assert is_open(schedule, msk(2026, 11, 28, 10, 0), MSK)
    assert not is_open(schedule, msk(2026, 11, 28, 15, 0), MSK)


def test_an_override_beats_a_public_holiday() -> None:
    schedule = hours.with_work_day(
        OPERATOR_HOURS, date(2026, 1, 5), (hours.parse_interval("10:00-14:00"),)
    )
    assert is_open(schedule, msk(2026, 1, 5, 11), MSK)


def test_overrides_replace_each_other_and_clear() -> None:
    day = date(2026, 11, 17)
    schedule = hours.with_day_off(OPERATOR_HOURS, day)
    schedule = hours.with_short_day(schedule, day, (hours.parse_interval("08:00-12:00"),))
    assert day not in schedule.overrides.days_off
    assert day_kind(schedule, day) == "short"
    assert day_kind(hours.clear_override(schedule, day), day) == "working"


def test_conflicting_overrides_are_rejected() -> None:
    day = date(2026, 11, 17)
    with pytest.raises(HoursError, match="оставьте одно"):
        Overrides(days_off=frozenset({day}), short_days={day: ((time(8), time(12)),)})


# ---- time zones -----------------------------------------------------------------------------


def test_same_instant_open_in_moscow_closed_in_yekaterinburg() -> None:
    # 17:30 UTC = 20:30 in Moscow (closed) and 22:30 in Yekaterinburg (closed);
    # 15:30 UTC = 18:30 in Moscow (open) and 20:30 in Yekaterinburg (closed).
    instant = datetime(2026, 11, 17, 15, 30, tzinfo=UTC)
    assert is_open(OPERATOR_HOURS, instant, MSK)
    assert not is_open(OPERATOR_HOURS, instant, YEKT)
    # and the other way round in the morning: 03:30 UTC = 06:30 Moscow, 08:30 Yekaterinburg
    morning = datetime(2026, 11, 17, 3, 30, tzinfo=UTC)
    assert not is_open(OPERATOR_HOURS, morning, MSK)
    assert is_open(OPERATOR_HOURS, morning, YEKT)


def test_local_date_decides_the_day() -> None:
    # 2026-11-03 21:30 UTC is already 4 November (a holiday) in Yekaterinburg (02:30)...
    instant = datetime(2026, 11, 3, 21, 30, tzinfo=UTC)
    assert next_opening(OPERATOR_HOURS, instant, YEKT) == datetime(
        2026, 11, 5, 8, tzinfo=ZoneInfo(YEKT)
    )


def test_schedule_in_a_dst_zone() -> None:
    # Berlin switches to summer time on 2026-03-29; 08:00 local is 07:00 UTC before, 06:00 after.
    berlin = "Europe/Berlin"
    assert is_open(OPERATOR_HOURS, datetime(2026, 3, 27, 7, 0, tzinfo=UTC), berlin)
    assert not is_open(OPERATOR_HOURS, datetime(2026, 3, 27, 6, 59, tzinfo=UTC), berlin)
    assert is_open(OPERATOR_HOURS, datetime(2026, 3, 30, 6, 0, tzinfo=UTC), berlin)
    assert not is_open(OPERATOR_HOURS, datetime(2026, 3, 30, 5, 59, tzinfo=UTC), berlin)
    opening = next_opening(OPERATOR_HOURS, datetime(2026, 3, 28, 12, tzinfo=UTC), berlin)
    assert opening is not None
    assert opening.astimezone(UTC) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)


def test_opening_inside_a_dst_gap_is_a_real_instant() -> None:
    schedule = Schedule(WeeklySchedule.of({6: ["02:30-05:00"]}), observe_public_holidays=False)
    opening = next_opening(schedule, datetime(2026, 3, 28, 12, tzinfo=UTC), "Europe/Berlin")
    assert opening is not None
    assert opening.utcoffset() == timedelta(hours=2)
    assert opening.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


# ---- next opening ---------------------------------------------------------------------------


def test_next_opening_when_open_is_now() -> None:
    at = msk(2026, 11, 17, 12)
    assert next_opening(OPERATOR_HOURS, at, MSK) == at


def test_next_opening_later_today_and_tomorrow() -> None:
    assert next_opening(OPERATOR_HOURS, msk(2026, 11, 17, 6), MSK) == msk(2026, 11, 17, 8)
    assert next_opening(OPERATOR_HOURS, msk(2026, 11, 17, 20), MSK) == msk(2026, 11, 18, 8)


def test_next_opening_across_a_weekend() -> None:
    assert next_opening(OPERATOR_HOURS, msk(2026, 11, 20, 20, 0), MSK) == msk(2026, 11, 23, 8)
    assert next_opening(CALLBACK_HOURS, msk(2026, 11, 20, 18, 0), MSK) == msk(2026, 11, 21, 9)


def test_next_opening_across_a_holiday() -> None:
    # Tuesday 3 November closes at 19:00 (pre-holiday); Wednesday 4 is Unity Day.
    assert next_opening(OPERATOR_HOURS, msk(2026, 11, 3, 19, 0), MSK) == msk(2026, 11, 5, 8)
    # New Year: closed from 31 December 2025 (a day off by transfer) to 11 January 2026.
    assert next_opening(OPERATOR_HOURS, msk(2025, 12, 30, 21), MSK) == msk(2026, 1, 12, 8)


def test_next_opening_none_within_thirty_days() -> None:
    closed = Schedule(WeeklySchedule.of({}))
    assert next_opening(closed, msk(2026, 11, 17, 12), MSK) is None
    far = hours.with_work_day(closed, date(2026, 12, 31), ((time(8), time(9)),))
    assert next_opening(far, msk(2026, 11, 17, 12), MSK) is None
    near = hours.with_work_day(closed, date(2026, 12, 10), ((time(8), time(9)),))
    assert next_opening(near, msk(2026, 11, 17, 12), MSK) == msk(2026, 12, 10, 8)


# ---- JSON -----------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    schedule = hours.with_day_off(CALLBACK_HOURS, date(2026, 11, 17))
    schedule = hours.with_short_day(
        schedule, date(2026, 12, 30), ((time(8), time(12)), (time(13), time(17)))
    )
    schedule = hours.with_work_day(schedule, date(2026, 11, 28), ((time(10), time(15)),))
    schedule = replace(schedule, shorten_pre_holiday=False)
    doc = to_json(schedule)
    assert doc["weekly"]["sat"] == ["09:00-17:00"]
    assert doc["short_days"] == {"2026-12-30": ["08:00-12:00", "13:00-17:00"]}
    assert from_json(doc) == schedule
    assert from_json(to_json(OPERATOR_HOURS)) == OPERATOR_HOURS


def test_json_end_of_day() -> None:
    schedule = from_json({"weekly": {"mon": ["00:00-24:00"]}})
    assert to_json(schedule)["weekly"]["mon"] == ["00:00-24:00"]
    assert is_open(schedule, msk(2026, 11, 16, 23, 59, 59), MSK)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"weekly": {"mon": ["08:00-25:00"]}}, "понедельник: «08:00-25:00»: время 25:00 вне суток"),
        ({"weekly": {"tue": ["08:60-12:00"]}}, "вне суток"),
        ({"weekly": {"mon": ["8-20"]}}, "ожидается интервал вида 08:00-20:00"),
        ({"weekly": {"mon": ["20:00-08:00"]}}, "начало должно быть раньше конца"),
        ({"weekly": {"mon": ["24:00-24:00"]}}, "только концом"),
        (
            {"weekly": {"fri": ["08:00-13:00", "12:00-20:00"]}},
            "пятница: интервалы 08:00-13:00 и 12:00-20:00 пересекаются",
        ),
        ({"weekly": {"monday": ["08:00-20:00"]}}, "неизвестные дни monday"),
        ({"weekly": {}, "holidays": True}, "неизвестные поля: holidays"),
        ({}, "weekly: ожидается объект"),
        ({"weekly": {}, "version": 2}, "версия 2 не поддерживается"),
        ({"weekly": {}, "days_off": ["2026-02-30"]}, "ожидается дата"),
        (
            {"weekly": {}, "short_days": {"2026-12-30": ["17:00-08:00"]}},
            "2026-12-30: «17:00-08:00»",
        ),
        ({"weekly": {}, "observe_public_holidays": "yes"}, "ожидается true или false"),
        (
            {
                "weekly": {},
                "days_off": ["2026-05-04"],
                "work_days": {"2026-05-04": ["10:00-15:00"]},
            },
            "оставьте одно",
        ),
    ],
)
def test_json_validation_errors(doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(HoursError) as error:
        from_json(doc)
    assert message in str(error.value)


def test_touching_intervals_are_fine() -> None:
    schedule = from_json({"weekly": {"mon": ["13:00-20:00", "08:00-13:00"]}})
    assert schedule.weekly.on(0) == ((time(8), time(13)), (time(13), time(20)))
    assert is_open(schedule, msk(2026, 11, 16, 13, 0), MSK)


def test_parse_date_accepts_russian_form() -> None:
    assert hours.parse_date("04.05.2026") == date(2026, 5, 4)
    assert hours.parse_date("2026-05-04") == date(2026, 5, 4)
