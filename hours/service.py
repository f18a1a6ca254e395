"""Working hours: a weekly schedule, Russian public holidays and company overrides, per region.

The rules this module keeps, in the order they are applied to one local calendar day:

1. A company override for that date wins over everything: an extra day off (closed), a
   shortened or changed day (exactly the hours given) or an extra working day (exactly the
   hours given). Overrides are taken literally: no pre-holiday hour is taken off them.
2. With ``observe_public_holidays``: a day the state calendar makes non-working is closed —
   the public holidays of Labour Code art. 112, a holiday's observed day off, and the days
   off the government moved by decree. A Saturday or Sunday the government made a working
   day works the hours of the weekday whose day off it gave (2024-04-27 works as Monday
   2024-04-29).
3. Otherwise the weekly schedule of that weekday; no hours is a weekend.
4. With ``shorten_pre_holiday`` (Labour Code art. 95): a working day whose next calendar day
   is a public holiday of art. 112 closes one hour earlier.

The state calendar comes from the ``holidays`` package (``holidays.RU``): the fixed public
holidays of art. 112, observed days off, and — for the years its data covers (through 2027 in
0.109) — the government's transfers: the days off (``Выходной (перенесено с …)``) and the
weekend days made working (``weekend_workdays``). What it does not know the company overrides
cover: a decree published after the package release, or the years beyond its data (add the
transferred days off with ``day-off`` and the working Saturdays with ``work-day``); and the
working Saturday that precedes a holiday run (as 2024-04-27, 2024-11-02, 2024-12-28 in the
official production calendar), which rule 4 does not shorten — add it with ``short-day``.

Everything here is pure: times come in as arguments, the calendar is computed, nothing is
read or written. :class:`HoursService` is the thin edge that reads the admin's documents.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final, Literal, Protocol, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from base.clock import Clock

log = logging.getLogger("hours.service")

__all__ = [
    "CALLBACK_HOURS",
    "DEFAULTS",
    "DOCUMENT_KEYS",
    "END_OF_DAY",
    "OPERATOR_HOURS",
    "WEEKDAY_KEYS",
    "WEEKDAY_NAMES_RU",
    "ConfigSource",
    "DayKind",
    "DayPlan",
    "HoursError",
    "HoursService",
    "Interval",
    "Intervals",
    "Overrides",
    "PublicCalendar",
    "Schedule",
    "ScheduleKind",
    "WeeklySchedule",
    "clear_override",
    "day_kind",
    "format_interval",
    "format_intervals",
    "from_json",
    "intervals_on",
    "is_open",
    "next_opening",
    "open_windows",
    "parse_date",
    "parse_interval",
    "parse_intervals",
    "plan_day",
    "public_calendar",
    "to_json",
    "with_day_off",
    "with_short_day",
    "with_weekly",
    "with_work_day",
    "zone_of",
]

Interval = tuple[time, time]
Intervals = tuple[Interval, ...]
DayKind = Literal["working", "weekend", "holiday", "day_off", "short"]
ScheduleKind = Literal["operators", "callbacks"]

# "24:00" as the end of an interval: the last instant of the day counts as open.
END_OF_DAY: Final = time.max
WEEKDAY_KEYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES_RU: Final = (
    "понедельник",
    "вторник",
    "среда",
    "четверг",
    "пятница",
    "суббота",
    "воскресенье",
)
NEXT_OPENING_HORIZON: Final = timedelta(days=30)
PRE_HOLIDAY_SHORTENING: Final = timedelta(hours=1)
JSON_VERSION: Final = 1

_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})\s*$")


class HoursError(ValueError):
    """A schedule or a part of it is invalid. The message is for an admin, in Russian."""


# ---- intervals ------------------------------------------------------------------------------


def _time_of(hours: int, minutes: int, text: str) -> time:
    if hours == 24 and minutes == 0:
        return END_OF_DAY
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise HoursError(
            f"«{text}»: время {hours:02d}:{minutes:02d} вне суток "
            "(часы от 00 до 23, минуты от 00 до 59; 24:00 — только как конец)"
        )
    return time(hours, minutes)


def parse_interval(text: str) -> Interval:
    """``"08:00-20:00"`` -> ``(time(8), time(20))``; ``24:00`` is allowed as the end."""
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise HoursError(f"«{text}»: ожидается интервал вида 08:00-20:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start = _time_of(h1, m1, text)
    if start == END_OF_DAY:
        raise HoursError(f"«{text}»: 24:00 может быть только концом интервала")
    end = _time_of(h2, m2, text)
    if end <= start:
        raise HoursError(f"«{text}»: начало должно быть раньше конца")
    return start, end


def _format_time(t: time) -> str:
    return "24:00" if t == END_OF_DAY else t.strftime("%H:%M")


def format_interval(interval: Interval) -> str:
    return f"{_format_time(interval[0])}-{_format_time(interval[1])}"


def format_intervals(intervals: Sequence[Interval]) -> str:
    """``"08:00-12:00,13:00-20:00"``; ``"-"`` for none (closed)."""
    return ",".join(format_interval(i) for i in intervals) or "-"


def _checked(intervals: Iterable[Interval], where: str) -> Intervals:
    """Sorted, each start before its end, none overlapping (touching is fine)."""
    items = list(intervals)
    for item in items:
        if not (len(item) == 2 and all(isinstance(t, time) for t in item)):
            raise HoursError(f"{where}: интервал должен состоять из двух значений времени")
    result: list[Interval] = []
    for start, end in sorted(items):
        if end <= start:
            raise HoursError(
                f"{where}: «{format_interval((start, end))}» — начало должно быть раньше конца"
            )
        if result and start < result[-1][1]:
            raise HoursError(
                f"{where}: интервалы {format_interval(result[-1])} и "
                f"{format_interval((start, end))} пересекаются"
            )
        result.append((start, end))
    return tuple(result)


def parse_intervals(text: str, where: str = "интервалы") -> Intervals:
    """``"08:00-12:00,13:00-20:00"``; ``"-"``, ``""`` or ``"closed"`` is no hours (closed)."""
    text = text.strip()
    if text in ("", "-", "closed", "выходной"):
        return ()
    try:
        return _checked((parse_interval(part) for part in text.split(",")), where)
    except HoursError as error:
        message = str(error)
        raise HoursError(message if message.startswith(where) else f"{where}: {message}") from None


def parse_date(text: str) -> date:
    """``2026-05-04`` or ``04.05.2026``."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
            day, month, year = (int(p) for p in text.split("."))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise HoursError(f"«{text}»: ожидается дата вида 2026-05-04 или 04.05.2026") from None


# ---- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySchedule:
    """Hours per weekday (index 0 is Monday), in the region's local time."""

    days: tuple[Intervals, Intervals, Intervals, Intervals, Intervals, Intervals, Intervals]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise HoursError("недельное расписание должно содержать 7 дней")
        checked = tuple(_checked(day, WEEKDAY_NAMES_RU[i]) for i, day in enumerate(self.days))
        object.__setattr__(self, "days", checked)

    def on(self, weekday: int) -> Intervals:
        return self.days[weekday]

    @classmethod
    def of(cls, by_weekday: Mapping[int, Sequence[Interval | str]]) -> WeeklySchedule:
        """From ``{0: ["08:00-20:00"], ...}``; missing weekdays are closed."""
        days: list[Intervals] = []
        for weekday in range(7):
            items = by_weekday.get(weekday, ())
            days.append(tuple(parse_interval(i) if isinstance(i, str) else i for i in items))
        return cls(tuple(days))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Overrides:
    """The company's exceptions to the weekly schedule and the state calendar, by date."""

    days_off: frozenset[date] = frozenset()
    short_days: Mapping[date, Intervals] = field(default_factory=dict)  # shortened/changed hours
    work_days: Mapping[date, Intervals] = field(default_factory=dict)  # extra working days

    def __post_init__(self) -> None:
        object.__setattr__(self, "days_off", frozenset(self.days_off))
        for name in ("short_days", "work_days"):
            mapping: Mapping[date, Intervals] = getattr(self, name)
            checked = {d: _checked(v, d.isoformat()) for d, v in sorted(mapping.items())}
            for d, intervals in checked.items():
                if not intervals:
                    raise HoursError(
                        f"{d.isoformat()}: не заданы часы работы (для выходного — day-off)"
                    )
            object.__setattr__(self, name, checked)
        seen: dict[date, str] = {}
        for label, dates in (
            ("выходной", self.days_off),
            ("сокращённый день", self.short_days),
            ("рабочий день", self.work_days),
        ):
            for d in dates:
                if d in seen:
                    raise HoursError(
                        f"{d.isoformat()}: задан и как «{seen[d]}», и как «{label}» — оставьте одно"
                    )
                seen[d] = label

    def dates(self) -> list[date]:
        return sorted({*self.days_off, *self.short_days, *self.work_days})


@dataclass(frozen=True)
class Schedule:
    weekly: WeeklySchedule
    overrides: Overrides = field(default_factory=Overrides)
    observe_public_holidays: bool = True
    shorten_pre_holiday: bool = True  # Labour Code art. 95


def _weekdays(hours: str, *weekdays: int, **more: str) -> WeeklySchedule:
    days: dict[int, list[str]] = {d: [hours] for d in weekdays}
    for key, value in more.items():
        days[WEEKDAY_KEYS.index(key)] = [value]
    return WeeklySchedule.of(days)


# Operators take calls Mon–Fri 08:00–20:00 local (002 §5.1.1: at least 8 hours on weekdays).
OPERATOR_HOURS: Final = Schedule(_weekdays("08:00-20:00", 0, 1, 2, 3, 4))
# Callbacks are executed Mon–Fri 08:00–18:00 and Sat 09:00–17:00 local (004 Annex 1).
CALLBACK_HOURS: Final = Schedule(_weekdays("08:00-18:00", 0, 1, 2, 3, 4, sat="09:00-17:00"))


# ---- the state calendar ---------------------------------------------------------------------


@dataclass(frozen=True)
class PublicCalendar:
    """One year of Russia's state calendar, from the ``holidays`` package."""

    days_off: Mapping[date, str]  # every non-working day by law or decree -> its name (Russian)
    holidays: frozenset[date]  # the public holidays of art. 112 themselves (what art. 95 counts)
    # A Saturday/Sunday made working -> the day off it gave (None when the package's data
    # does not say; the day then works Monday's hours).
    working_weekends: Mapping[date, date | None]


def _transfers(year: int) -> dict[date, date]:
    """The government's transfers for ``year``: the day off -> the day it was moved from.

    Read from the package's data table for Russia (``RussiaStaticHolidays``); an empty
    mapping when the package has none for the year.
    """
    try:
        from holidays.countries.russia import RussiaStaticHolidays
    except ImportError:  # pragma: no cover - a future package layout
        return {}
    entries: Any = getattr(RussiaStaticHolidays, "special_public_holidays", {}).get(year, ())
    if entries and isinstance(entries[0], int):
        entries = (entries,)
    result: dict[date, date] = {}
    for entry in entries:
        if len(entry) >= 4 and all(isinstance(v, int) for v in entry[:4]):
            from_year = entry[4] if len(entry) > 4 and isinstance(entry[4], int) else year
            result[date(year, entry[0], entry[1])] = date(from_year, entry[2], entry[3])
    return result


@lru_cache(maxsize=64)
def public_calendar(year: int) -> PublicCalendar:
    observed = holidays.country_holidays("RU", years=year, language="ru")
    proper = holidays.country_holidays("RU", years=year, observed=False, language="ru")
    transfers = _transfers(year)
    working_weekends: dict[date, date | None] = {
        moved_from: day_off
        for day_off, moved_from in transfers.items()
        if moved_from in observed.weekend_workdays
    }
    for workday in observed.weekend_workdays:
        working_weekends.setdefault(workday, None)
    return PublicCalendar(
        days_off={d: name for d, name in sorted(observed.items())},
        holidays=frozenset(d for d in proper if d not in transfers),
        working_weekends=dict(sorted(working_weekends.items())),
    )


def _working_weekend(day: date) -> tuple[bool, date | None]:
    """Did the government make this Saturday/Sunday a working day, and for which day off?"""
    for year in (day.year, day.year + 1):  # a transfer may be decreed in the next year's table
        working = public_calendar(year).working_weekends
        if day in working:
            return True, working[day]
    return False, None


# ---- a day ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayPlan:
    kind: DayKind
    intervals: Intervals
    note: str = ""  # why (Russian): a holiday's name, "перенос", "предпраздничный день", …


def _shortened(intervals: Intervals, by: timedelta) -> Intervals:
    """Take ``by`` off the end of the day's hours (dropping intervals that vanish)."""
    remaining = by
    result = list(intervals)
    while result and remaining > timedelta(0):
        start, end = result[-1]
        end_at = datetime.combine(date.min, end) + (
            timedelta(microseconds=1) if end == END_OF_DAY else timedelta(0)
        )
        start_at = datetime.combine(date.min, start)
        length = end_at - start_at
        if length > remaining:
            result[-1] = (start, (end_at - remaining).time())
            remaining = timedelta(0)
        else:
            result.pop()
            remaining -= length
    return tuple(result)


def plan_day(schedule: Schedule, day: date) -> DayPlan:
    """What ``day`` is and its hours (local), after overrides, holidays and art. 95."""
    ov = schedule.overrides
    if day in ov.days_off:
        return DayPlan("day_off", (), "выходной день компании")
    if day in ov.work_days:
        return DayPlan("working", ov.work_days[day], "рабочий день по решению компании")
    if day in ov.short_days:
        return DayPlan("short", ov.short_days[day], "часы изменены компанией")

    note = ""
    weekday = day.weekday()
    if schedule.observe_public_holidays:
        name = public_calendar(day.year).days_off.get(day)
        if name is not None:
            return DayPlan("holiday", (), name)
        working, stand_in = _working_weekend(day)
        if working:
            weekday = stand_in.weekday() if stand_in is not None else 0
            note = "рабочий день по переносу" + (
                f" (вместо {stand_in.strftime('%d.%m.%Y')})" if stand_in is not None else ""
            )

    intervals = schedule.weekly.on(weekday)
    if not intervals:
        return DayPlan("weekend", (), "")

    tomorrow = day + timedelta(days=1)
    if schedule.shorten_pre_holiday and tomorrow in public_calendar(tomorrow.year).holidays:
        shortened = _shortened(intervals, PRE_HOLIDAY_SHORTENING)
        pre = "предпраздничный день, на час короче"
        return DayPlan("short", shortened, f"{note}; {pre}" if note else pre)
    return DayPlan("working", intervals, note)


def intervals_on(schedule: Schedule, day: date) -> list[Interval]:
    """The local opening hours on ``day`` (empty when closed all day)."""
    return list(plan_day(schedule, day).intervals)


def day_kind(schedule: Schedule, day: date) -> DayKind:
    """'working', 'short' (shortened or changed hours), 'weekend', 'holiday' (state calendar)
    or 'day_off' (the company's own)."""
    return plan_day(schedule, day).kind


# ---- a moment -------------------------------------------------------------------------------


def zone_of(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"неизвестный часовой пояс «{tz}» (пример: Europe/Moscow)") from None


def _local(at: datetime, tz: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("hours: a timezone-aware datetime is needed")
    return at.astimezone(zone_of(tz))


def _inside(t: time, interval: Interval) -> bool:
    start, end = interval
    return start <= t and (t < end or end == END_OF_DAY)


def is_open(schedule: Schedule, at: datetime, tz: str) -> bool:
    """Is ``at`` (any aware datetime) within the hours, in the region's time zone ``tz``?"""
    local = _local(at, tz)
    t = local.time().replace(tzinfo=None)
    return any(_inside(t, i) for i in plan_day(schedule, local.date()).intervals)


def next_opening(schedule: Schedule, at: datetime, tz: str) -> datetime | None:
    """The first moment at or after ``at`` when it is open, in ``tz`` (``at`` itself when open
    now); ``None`` when closed for the next 30 days."""
    local = _local(at, tz)
    zone = zone_of(tz)
    t = local.time().replace(tzinfo=None)
    today = local.date()
    for offset in range(NEXT_OPENING_HORIZON.days + 1):
        day = today + timedelta(days=offset)
        for interval in plan_day(schedule, day).intervals:
            if offset == 0 and _inside(t, interval):
                return local
            if offset == 0 and interval[0] <= t:
                continue
            # Through UTC: a start inside a DST gap becomes the real instant after it.
            opening = (
                datetime.combine(day, interval[0], tzinfo=zone).astimezone(UTC).astimezone(zone)
            )
            return opening if opening - local <= NEXT_OPENING_HORIZON else None
    return None


def open_windows(schedule: Schedule, at: datetime, tz: str, days: int) -> list[tuple[datetime, datetime]]:
    """The open spans (UTC, start inclusive, end exclusive) from ``at`` for ``days`` local days,
    joined where one ends as the next starts (midnight in an all-day schedule); a span open at
    ``at`` starts at ``at``. What the PBX is told when it must decide without the controller."""
    local = _local(at, tz)
    zone = zone_of(tz)
    spans: list[tuple[datetime, datetime]] = []
    for offset in range(days + 1):
        day = local.date() + timedelta(days=offset)
        for start, end in plan_day(schedule, day).intervals:
            begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            if end == END_OF_DAY:
                finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
            else:
                finish = datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
            begin = max(begin, at.astimezone(UTC))
            if finish <= begin:
                continue
            if spans and spans[-1][1] >= begin:
                spans[-1] = (spans[-1][0], max(spans[-1][1], finish))
            else:
                spans.append((begin, finish))
    horizon = at.astimezone(UTC) + timedelta(days=days)
    return [(b, min(f, horizon)) for b, f in spans if b < horizon]


# ---- JSON -----------------------------------------------------------------------------------

_TOP_KEYS = {
    "version",
    "weekly",
    "days_off",
    "short_days",
    "work_days",
    "observe_public_holidays",
    "shorten_pre_holiday",
}


def to_json(schedule: Schedule) -> dict[str, Any]:
    """The document stored under ``hours.operators`` / ``hours.callbacks``."""
    ov = schedule.overrides
    return {
        "version": JSON_VERSION,
        "weekly": {
            key: [format_interval(i) for i in schedule.weekly.on(n)]
            for n, key in enumerate(WEEKDAY_KEYS)
        },
        "days_off": [d.isoformat() for d in sorted(ov.days_off)],
        "short_days": {
            d.isoformat(): [format_interval(i) for i in v] for d, v in ov.short_days.items()
        },
        "work_days": {
            d.isoformat(): [format_interval(i) for i in v] for d, v in ov.work_days.items()
        },
        "observe_public_holidays": schedule.observe_public_holidays,
        "shorten_pre_holiday": schedule.shorten_pre_holiday,
    }


def _intervals_json(value: Any, where: str) -> Intervals:
    if isinstance(value, str):
        return parse_intervals(value, where)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HoursError(f'{where}: ожидается список интервалов, например ["08:00-20:00"]')
    try:
        return _checked((parse_interval(v) for v in value), where)
    except HoursError as error:
        message = str(error)
        raise HoursError(message if message.startswith(where) else f"{where}: {message}") from None


def _dated(value: Any, name: str) -> dict[date, Intervals]:
    if not isinstance(value, dict):
        raise HoursError(f'{name}: ожидается объект {{"2026-05-04": ["08:00-17:00"]}}')
    return {parse_date(k): _intervals_json(v, k) for k, v in value.items()}


def from_json(doc: Mapping[str, Any]) -> Schedule:
    """A schedule from its document; :class:`HoursError` (Russian) says what is wrong."""
    if not isinstance(doc, Mapping):
        raise HoursError("расписание должно быть объектом JSON")
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise HoursError(
            f"неизвестные поля: {', '.join(unknown)} (допустимы: {', '.join(sorted(_TOP_KEYS))})"
        )
    if doc.get("version", JSON_VERSION) != JSON_VERSION:
        raise HoursError(
            f"версия {doc.get('version')!r} не поддерживается (ожидается {JSON_VERSION})"
        )
    weekly_doc = doc.get("weekly")
    if not isinstance(weekly_doc, Mapping):
        raise HoursError('weekly: ожидается объект {"mon": ["08:00-20:00"], …}')
    bad_days = sorted(set(weekly_doc) - set(WEEKDAY_KEYS))
    if bad_days:
        raise HoursError(
            f"weekly: неизвестные дни {', '.join(bad_days)} (допустимы: {', '.join(WEEKDAY_KEYS)})"
        )
    weekly = WeeklySchedule(
        tuple(  # type: ignore[arg-type]
            _intervals_json(weekly_doc.get(key, []), WEEKDAY_NAMES_RU[n])
            for n, key in enumerate(WEEKDAY_KEYS)
        )
    )
    days_off_doc = doc.get("days_off", [])
    if not isinstance(days_off_doc, list):
        raise HoursError('days_off: ожидается список дат ["2026-05-04"]')
    flags: dict[str, bool] = {}
    for flag in ("observe_public_holidays", "shorten_pre_holiday"):
        value = doc.get(flag, True)
        if not isinstance(value, bool):
            raise HoursError(f"{flag}: ожидается true или false")
        flags[flag] = value
    overrides = Overrides(
        days_off=frozenset(parse_date(str(d)) for d in days_off_doc),
        short_days=_dated(doc.get("short_days", {}), "short_days"),
        work_days=_dated(doc.get("work_days", {}), "work_days"),
    )
    return Schedule(weekly, overrides, **flags)


# ---- edits (pure: a schedule in, a new schedule out) ----------------------------------------


def clear_override(schedule: Schedule, day: date) -> Schedule:
    ov = schedule.overrides
    return replace(
        schedule,
        overrides=Overrides(
            days_off=ov.days_off - {day},
            short_days={d: v for d, v in ov.short_days.items() if d != day},
            work_days={d: v for d, v in ov.work_days.items() if d != day},
        ),
    )


def with_day_off(schedule: Schedule, day: date) -> Schedule:
    cleared = clear_override(schedule, day)
    return replace(
        cleared, overrides=replace(cleared.overrides, days_off=cleared.overrides.days_off | {day})
    )


def with_short_day(schedule: Schedule, day: date, intervals: Intervals) -> Schedule:
    cleared = clear_override(schedule, day)
    short = {**cleared.overrides.short_days, day: intervals}
    return replace(cleared, overrides=replace(cleared.overrides, short_days=short))


def with_work_day(schedule: Schedule, day: date, intervals: Intervals) -> Schedule:
    cleared = clear_override(schedule, day)
    work = {**cleared.overrides.work_days, day: intervals}
    return replace(cleared, overrides=replace(cleared.overrides, work_days=work))


def with_weekly(schedule: Schedule, changes: Mapping[int, Intervals]) -> Schedule:
    """Replace the hours of the given weekdays (0 is Monday), keeping the others."""
    days = list(schedule.weekly.days)
    for weekday, intervals in changes.items():
        days[weekday] = intervals
    return replace(schedule, weekly=WeeklySchedule(tuple(days)))  # type: ignore[arg-type]


# ---- the service: the admin's documents, read through the config cache ---------------------

DOCUMENT_KEYS: Final[dict[ScheduleKind, str]] = {
    "operators": "hours.operators",
    "callbacks": "hours.callbacks",
}
DEFAULTS: Final[dict[ScheduleKind, Schedule]] = {
    "operators": OPERATOR_HOURS,
    "callbacks": CALLBACK_HOURS,
}


class ConfigSource(Protocol):
    """What the service reads documents through: :class:`base.config_store.CachedConfig`."""

    def get(self, key: str) -> dict[str, Any] | None: ...  # noqa: E704


class HoursService:
    """Operators' and callbacks' hours as the admin last set them (within the cache's TTL).

    A missing document means the defaults. An invalid one (edited by hand past the CLI's
    checks) fails closed: :meth:`schedule` raises :class:`HoursError` (logged), and
    :meth:`is_open` answers closed — as does any error while checking — so a broken schedule
    never keeps the hotline "always open"; :meth:`next_opening` answers None (not known).
    """

    def __init__(self, config: ConfigSource, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._parsed: dict[str, tuple[dict[str, Any], Schedule]] = {}

    def schedule(self, kind: ScheduleKind) -> Schedule:
        if kind not in DOCUMENT_KEYS:
            raise ValueError(
                f"unknown schedule {kind!r}; one of {', '.join(get_args(ScheduleKind))}"
            )
        key = DOCUMENT_KEYS[kind]
        doc = self.config.get(key)
        if doc is None:
            return DEFAULTS[kind]
        hit = self._parsed.get(key)
        if hit is not None and hit[0] == doc:
            return hit[1]
        try:
            schedule = from_json(doc)
        except HoursError as error:
            log.error("config %s is invalid, taken as closed until it is fixed: %s", key, error)
            raise
        self._parsed[key] = (doc, schedule)
        return schedule

    def _at(self, at: datetime | None) -> datetime:
        return self.clock.now() if at is None else at

    def is_open(self, kind: ScheduleKind, tz: str, at: datetime | None = None) -> bool:
        """Open now (or at ``at``)? Closed on any error: fail closed, logged."""
        try:
            return is_open(self.schedule(kind), self._at(at), tz)
        except Exception:  # noqa: BLE001 - a broken schedule or time zone means closed
            log.exception("%s hours could not be checked: closed", kind)
            return False

    def operators_open(self, tz: str, at: datetime | None = None) -> bool:
        return self.is_open("operators", tz, at)

    def callbacks_open(self, tz: str, at: datetime | None = None) -> bool:
        return self.is_open("callbacks", tz, at)

    def next_opening(
        self, kind: ScheduleKind, tz: str, at: datetime | None = None
    ) -> datetime | None:
        try:
            return next_opening(self.schedule(kind), self._at(at), tz)
        except Exception:  # noqa: BLE001 - unknown, said as such by the callers
            log.exception("%s hours: next opening not known", kind)
            return None
