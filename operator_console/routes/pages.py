"""GET /: the console's page: the latest calls, refreshed live; staff only.

Operators' and supervisors' tools come with the console issue (10).

A browser is asked for the staff token as the password of HTTP Basic auth, and sends it
again with the page's own requests to ``api/calls``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from operator_console import service
from base.web import NowDep, SessionDep, SettingsDep, StaffOnly, TimeZoneDep
from operator_console.exceptions import DatabaseUnavailable
from operator_console.routes.calls import DEFAULT_LIMIT

router = APIRouter(tags=["pages"], dependencies=[StaffOnly])

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")

REFRESH_SECONDS = 5


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, tz: TimeZoneDep
) -> HTMLResponse:
    error = None
    calls = []
    try:
        calls = service.latest_calls(session, DEFAULT_LIMIT, now, tz)
    except SQLAlchemyError:
        error = DatabaseUnavailable.message
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "calls": calls,
            "error": error,
            "limit": DEFAULT_LIMIT,
            "refresh_ms": REFRESH_SECONDS * 1000,
            "time_zone": settings.timezone,
        },
        status_code=503 if error else 200,
    )
