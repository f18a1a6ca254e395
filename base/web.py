"""Dependencies of the console's routes, as ``Annotated`` aliases.

Everything comes from ``app.state``, which :func:`operator_console.app.create_app` fills in
one place: the settings, the session factory, the clock and the region's time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from base.clock import Clock
from base.settings import Settings

__all__ = ["NowDep", "SessionDep", "SettingsDep", "TimeZoneDep"]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


def get_time_zone(request: Request) -> tzinfo:
    tz: tzinfo = request.app.state.time_zone
    return tz


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(get_now)]
TimeZoneDep = Annotated[tzinfo, Depends(get_time_zone)]
