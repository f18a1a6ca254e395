"""The operators' open windows the controller tells the PBX (hours.service.open_windows,
hours.handlers): what the dialplan routes by when the controller is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from base.clock import FixedClock
from hours.handlers import WINDOWS_VARIABLE, OpenWindowsPublisher, format_windows
from hours.service import (
    OPERATOR_HOURS,
    HoursError,
    Schedule,
    WeeklySchedule,
    open_windows,
    with_day_off,
)

MSK = ZoneInfo("Europe/Moscow")


def msk(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=MSK)


def test_weekday_hours_for_a_week_from_a_wednesday_evening() -> None:
    # Wednesday 2027-03-10 19:00 MSK: open now until 20:00, then Thu, Fri, the next Mon-Wed.
    spans = open_windows(OPERATOR_HOURS, msk(2027, 3, 10, 19), "Europe/Moscow", 7)
    assert spans[0] == (msk(2027, 3, 10, 19).astimezone(UTC), msk(2027, 3, 10, 20).astimezone(UTC))
    assert [s.astimezone(MSK).date().day for s, _ in spans] == [10, 11, 12, 15, 16, 17]
    assert spans[-1][1] == msk(2027, 3, 17, 19).astimezone(UTC)  # cut at the 7-day horizon
    assert all(s.tzinfo is not None and e > s for s, e in spans)


def test_public_holidays_and_days_off_are_closed() -> None:
    # 2027-03-08 (Monday) is International Women's Day; the company adds 2027-03-09 off.
    schedule = with_day_off(OPERATOR_HOURS, msk(2027, 3, 9).date())
    spans = open_windows(schedule, msk(2027, 3, 6, 12), "Europe/Moscow", 5)  # Sat noon to Thu noon
    assert [(s.astimezone(MSK), e.astimezone(MSK)) for s, e in spans] == [
        (msk(2027, 3, 10, 8), msk(2027, 3, 10, 20)), (msk(2027, 3, 11, 8), msk(2027, 3, 11, 12))]


def test_an_all_day_schedule_is_one_span_across_midnights() -> None:
    all_day = Schedule(WeeklySchedule.of({d: ["00:00-24:00"] for d in range(7)}),
                       observe_public_holidays=False, shorten_pre_holiday=False)
    at = msk(2027, 3, 10, 15, 30)
    assert open_windows(all_day, at, "Europe/Moscow", 3) == [(at.astimezone(UTC), (at + timedelta(days=3)).astimezone(UTC))]


def test_never_open_is_no_window() -> None:
    closed = Schedule(WeeklySchedule.of({}))
    assert open_windows(closed, msk(2027, 3, 10), "Europe/Moscow", 7) == []
    assert format_windows([]) == ""


def test_the_wire_format_is_epoch_seconds() -> None:
    start = datetime(2027, 3, 10, 5, 0, tzinfo=UTC)
    assert format_windows([(start, start + timedelta(hours=12))]) == "1804654800-1804698000"
    # Never widened: a start inside a second is rounded up, an end down; nothing left, dropped.
    assert format_windows([(start + timedelta(microseconds=5), start + timedelta(seconds=2, microseconds=9)),
                           (start + timedelta(seconds=5, microseconds=1), start + timedelta(seconds=5, microseconds=9))]
                          ) == "1804654801-1804654802"


class Ami:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def action(self, name: str, **fields: Any) -> None:
        self.sent.append((name, fields))


async def test_the_publisher_sets_the_pbx_global_with_the_injected_clock() -> None:
    clock = FixedClock(msk(2027, 3, 10, 19))
    publisher = OpenWindowsPublisher(lambda: OPERATOR_HOURS, "Europe/Moscow", clock, days=1)
    ami = Ami()
    await publisher.publish(ami)
    start, end = int(msk(2027, 3, 10, 19).timestamp()), int(msk(2027, 3, 10, 20).timestamp())
    tomorrow = f"{int(msk(2027, 3, 11, 8).timestamp())}-{int(msk(2027, 3, 11, 19).timestamp())}"
    assert ami.sent == [("Setvar", {"Variable": WINDOWS_VARIABLE, "Value": f"{start}-{end}/{tomorrow}"})]
    clock.advance(hours=2)  # 21:00: closed now; tomorrow to the horizon
    await publisher.publish(ami)
    tomorrow = f"{int(msk(2027, 3, 11, 8).timestamp())}-{int(msk(2027, 3, 11, 20).timestamp())}"
    assert ami.sent[-1][1]["Value"] == tomorrow


async def test_unknown_hours_are_published_as_closed() -> None:
    def broken() -> Schedule:
        raise HoursError("неизвестный часовой пояс")

    publisher = OpenWindowsPublisher(broken, "Europe/Moscow", FixedClock(msk(2027, 3, 10, 12)))
    ami = Ami()
    await publisher.publish(ami)
    assert ami.sent == [("Setvar", {"Variable": WINDOWS_VARIABLE, "Value": ""})]
