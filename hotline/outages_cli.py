"""`hotline outages`: import the grid company's planned outages and list them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.orm import Session

from base.clock import Clock, OffsetClock, SystemClock
from base.settings import Settings

outages_app = typer.Typer(no_args_is_help=True,
                          help="Planned outages (the grid company's or the retailer's files).")


def _clock(settings: Settings) -> Clock:
    offset = settings.clock_offset_seconds
    return OffsetClock(offset) if offset else SystemClock()


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from hotline.db import migrated_session

    with migrated_session(settings.db_url) as session:
        yield session


@outages_app.command("import")
def import_(
    path: Path,
    source: Annotated[str, typer.Option(help="Whose list it is; a file replaces the earlier "
                                             "list of the same source")] = "grid",
) -> None:
    """Import planned outages from a CSV or XLSX file (times in the region's local time)."""
    from outages.adapters import SourceError
    from outages.service import import_file

    settings = Settings()
    try:
        with _session(settings) as session:
            report = import_file(session, path, source=source, tz=settings.timezone,
                                 now=_clock(settings).now())
    except (SourceError, ValueError) as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    for error in report.rejected:
        typer.echo(str(error), err=True)
    typer.echo(report.summary())
    if report.rejected:
        raise typer.Exit(2)


@outages_app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Also outages already over")] = False,
) -> None:
    """The planned outages still to come, and when each source's data was loaded."""
    from sqlalchemy import select

    from outages.models import Outage, OutageDataset
    from outages.service import data_state, upcoming

    settings = Settings()
    now = _clock(settings).now()
    zone = ZoneInfo(settings.timezone)
    with _session(settings) as session:
        for dataset in session.scalars(select(OutageDataset).order_by(OutageDataset.source)):
            typer.echo(f"источник {dataset.source}: загружено "
                       f"{dataset.loaded_at.astimezone(zone):%d.%m.%Y %H:%M} "
                       f"({dataset.file_name or 'вручную'}), строк {dataset.rows}, "
                       f"отклонено {dataset.rejected}")
        state = data_state(session, now)
        typer.echo(f"данные {'актуальны' if state.current else 'НЕ актуальны'} ({state.reason})")
        outages = (session.scalars(select(Outage).order_by(Outage.starts_at)).all() if all_
                   else upcoming(session, now))
        for o in outages:
            where = ", ".join(p for p in (o.locality, o.street, o.houses or "все дома") if p)
            typer.echo(f"{o.id}\t{o.starts_at.astimezone(zone):%d.%m.%Y %H:%M} – "
                       f"{o.ends_at.astimezone(zone):%d.%m.%Y %H:%M}\t{where}\t{o.reason or ''}")
