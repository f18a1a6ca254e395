"""`hotline hours …`: the admin's view and edits of the operators' and callbacks' hours.

Edits are written to the runtime config documents (``hours.operators``, ``hours.callbacks``)
with the admin's name; the running controller picks them up within its config cache's
lifetime (a few seconds), without a restart. All the logic is in :mod:`hours.service`; this
module only reads, writes and prints.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session

from base import config_store
from base.settings import Settings
from hours import service as hours

hours_app = typer.Typer(
    no_args_is_help=True,
    help="Working hours of operators and callbacks: weekly hours, holidays, company exceptions.",
)


class Kind(StrEnum):
    operators = "operators"
    callbacks = "callbacks"


TITLES = {Kind.operators: "Часы работы операторов", Kind.callbacks: "Часы обратных звонков"}
KIND_LABELS: dict[hours.DayKind, str] = {
    "working": "рабочий",
    "short": "сокращённый",
    "weekend": "выходной",
    "holiday": "праздник",
    "day_off": "выходной компании",
}
WEEKDAY_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
DAYS_AHEAD = 14

KindArg = Annotated[Kind, typer.Argument(help="operators or callbacks", case_sensitive=False)]
DateArg = Annotated[str, typer.Argument(help="The date: 2026-05-04 or 04.05.2026")]
HoursArg = Annotated[str, typer.Argument(help="Hours: 08:00-17:00, or 08:00-12:00,13:00-17:00")]


def _fail(message: str) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli:unknown"


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from hotline.db import migrated_session

    with migrated_session(settings.db_url) as session:
        yield session


def _load(session: Session, kind: Kind) -> hours.Schedule:
    key = hours.DOCUMENT_KEYS[kind.value]
    doc = config_store.read(session, key)
    if doc is None:
        return hours.DEFAULTS[kind.value]
    try:
        return hours.from_json(doc)
    except hours.HoursError as error:
        _fail(
            f"{key}: сохранённое расписание неверно ({error}); `hotline hours reset {kind.value}` "
            "вернёт значения по умолчанию"
        )


def _edit(kind: Kind, change: Callable[[hours.Schedule], hours.Schedule], done: str) -> None:
    settings = Settings()
    try:
        with _session(settings) as session:
            schedule = change(_load(session, kind))
            config_store.write(
                session, hours.DOCUMENT_KEYS[kind.value], hours.to_json(schedule), actor=_actor()
            )
    except hours.HoursError as error:
        _fail(str(error))
    typer.echo(
        f"{TITLES[kind]}: {done}. Изменение вступит в силу в течение нескольких секунд, "
        "без перезапуска."
    )


def _parse_date(text: str) -> date:
    try:
        return hours.parse_date(text)
    except hours.HoursError as error:
        _fail(str(error))


# ---- show -----------------------------------------------------------------------------------


def render(kind: Kind, schedule: hours.Schedule, today: date, tz: str, source: str) -> list[str]:
    """The Russian-readable table `show` prints (pure, for tests)."""
    lines = [f"{TITLES[kind]} ({source}), часовой пояс {tz}", "Неделя:"]
    for weekday, label in enumerate(WEEKDAY_SHORT):
        intervals = schedule.weekly.on(weekday)
        lines.append(f"  {label}  {hours.format_intervals(intervals) if intervals else 'выходной'}")
    lines.append(
        "Государственные праздники и переносы: "
        + ("учитываются" if schedule.observe_public_holidays else "не учитываются")
        + "; предпраздничный день: "
        + ("на час короче" if schedule.shorten_pre_holiday else "не сокращается")
    )
    ov = schedule.overrides
    if ov.dates():
        lines.append("Исключения компании:")
        for d in ov.dates():
            if d in ov.days_off:
                what = "выходной"
            elif d in ov.short_days:
                what = f"сокращённый день {hours.format_intervals(ov.short_days[d])}"
            else:
                what = f"рабочий день {hours.format_intervals(ov.work_days[d])}"
            lines.append(f"  {d.strftime('%d.%m.%Y')} {WEEKDAY_SHORT[d.weekday()]}  {what}")
    lines.append(f"Ближайшие {DAYS_AHEAD} дней:")
    for offset in range(DAYS_AHEAD):
        d = today + timedelta(days=offset)
        plan = hours.plan_day(schedule, d)
        span = hours.format_intervals(plan.intervals) if plan.intervals else "закрыто"
        note = f"  {plan.note}" if plan.note else ""
        lines.append(
            f"  {d.strftime('%d.%m.%Y')} {WEEKDAY_SHORT[d.weekday()]}  "
            f"{KIND_LABELS[plan.kind]:<18}{span:<14}{note}".rstrip()
        )
    return lines


@hours_app.command("show")
def show(
    kind: Annotated[
        Kind | None,
        typer.Argument(help="operators or callbacks (both if omitted)", case_sensitive=False),
    ] = None,
    tz: Annotated[
        str | None, typer.Option(help="Region time zone (default: HOTLINE_TIMEZONE)")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day of the outlook (default: today)")
    ] = None,
) -> None:
    """The week's hours, the company's exceptions and the next 14 days."""
    settings = Settings()
    zone = tz or settings.timezone
    try:
        today = (
            hours.parse_date(start)
            if start
            else datetime.now(UTC).astimezone(hours.zone_of(zone)).date()
        )
    except hours.HoursError as error:
        _fail(str(error))
    blocks: list[list[str]] = []
    with _session(settings) as session:
        for k in [kind] if kind else list(Kind):
            entry = session.get(config_store.ConfigEntry, hours.DOCUMENT_KEYS[k.value])
            source = (
                "по умолчанию"
                if entry is None
                else f"изменено {entry.updated_by}, {entry.updated_at:%d.%m.%Y %H:%M} UTC"
            )
            blocks.append(render(k, _load(session, k), today, zone, source))
    typer.echo("\n\n".join("\n".join(block) for block in blocks))


# ---- edits ----------------------------------------------------------------------------------


def _day_option(name: str) -> object:
    return typer.Option(
        f"--{name}", help=f"{name.capitalize()} hours, e.g. 08:00-20:00; '-' for closed"
    )


@hours_app.command("set")
def set_week(
    kind: KindArg,
    mon: Annotated[str | None, _day_option("mon")] = None,
    tue: Annotated[str | None, _day_option("tue")] = None,
    wed: Annotated[str | None, _day_option("wed")] = None,
    thu: Annotated[str | None, _day_option("thu")] = None,
    fri: Annotated[str | None, _day_option("fri")] = None,
    sat: Annotated[str | None, _day_option("sat")] = None,
    sun: Annotated[str | None, _day_option("sun")] = None,
    holidays_: Annotated[
        bool | None,
        typer.Option(
            "--holidays/--no-holidays",
            help="Close on public holidays and follow the state's transfers",
        ),
    ] = None,
    pre_holiday: Annotated[
        bool | None,
        typer.Option(
            "--pre-holiday/--no-pre-holiday", help="Close an hour earlier before a public holiday"
        ),
    ] = None,
) -> None:
    """Change the weekly hours (days not given keep theirs)."""
    given = dict(enumerate((mon, tue, wed, thu, fri, sat, sun)))
    try:
        changes = {
            weekday: hours.parse_intervals(text, hours.WEEKDAY_NAMES_RU[weekday])
            for weekday, text in given.items()
            if text is not None
        }
    except hours.HoursError as error:
        _fail(str(error))
    if not changes and holidays_ is None and pre_holiday is None:
        _fail(
            "нечего менять: укажите дни (--mon 08:00-20:00 … --sun -) или --holidays/--pre-holiday"
        )

    def change(schedule: hours.Schedule) -> hours.Schedule:
        from dataclasses import replace

        schedule = hours.with_weekly(schedule, changes)
        if holidays_ is not None:
            schedule = replace(schedule, observe_public_holidays=holidays_)
        if pre_holiday is not None:
            schedule = replace(schedule, shorten_pre_holiday=pre_holiday)
        return schedule

    _edit(kind, change, "недельное расписание изменено")


@hours_app.command("day-off")
def day_off(kind: KindArg, day: DateArg) -> None:
    """Make DATE a company day off (closed all day)."""
    d = _parse_date(day)
    _edit(kind, lambda s: hours.with_day_off(s, d), f"{d:%d.%m.%Y} — выходной")


@hours_app.command("short-day")
def short_day(kind: KindArg, day: DateArg, span: HoursArg) -> None:
    """Shortened or changed hours on DATE."""
    d = _parse_date(day)
    try:
        intervals = hours.parse_intervals(span, d.isoformat())
    except hours.HoursError as error:
        _fail(str(error))
    if not intervals:
        _fail(f"{d.isoformat()}: укажите часы работы; чтобы закрыть день целиком — day-off")
    _edit(
        kind,
        lambda s: hours.with_short_day(s, d, intervals),
        f"{d:%d.%m.%Y} — {hours.format_intervals(intervals)}",
    )


@hours_app.command("work-day")
def work_day(kind: KindArg, day: DateArg, span: HoursArg) -> None:
    """Make DATE an extra working day with these hours (e.g. a Saturday worked by transfer)."""
    d = _parse_date(day)
    try:
        intervals = hours.parse_intervals(span, d.isoformat())
    except hours.HoursError as error:
        _fail(str(error))
    if not intervals:
        _fail(f"{d.isoformat()}: укажите часы работы, например 10:00-15:00")
    _edit(
        kind,
        lambda s: hours.with_work_day(s, d, intervals),
        f"{d:%d.%m.%Y} — рабочий день {hours.format_intervals(intervals)}",
    )


@hours_app.command("clear")
def clear(kind: KindArg, day: DateArg) -> None:
    """Remove the company's exception for DATE (the usual rules apply again)."""
    d = _parse_date(day)
    _edit(kind, lambda s: hours.clear_override(s, d), f"исключение на {d:%d.%m.%Y} снято")


@hours_app.command("reset")
def reset(kind: KindArg) -> None:
    """Back to the default hours (drops the weekly changes and every exception)."""
    _edit(kind, lambda _: hours.DEFAULTS[kind.value], "восстановлены часы по умолчанию")
