"""The operator console: a FastAPI application, wired together in this one place.

``create_app(settings)`` builds the app (the CLI's ``hotline console`` runs it through
:func:`hotline.console.serve`). It serves a Russian page of the latest calls (staff only) and the
JSON API behind it. Routes live in ``operator_console.routes`` (one module per resource),
their dependencies in ``deps``, the queries in ``service``, the response shapes in ``schemas``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from callback_queue.routes import router as callbacks_router
from callback_queue.routes import staff_router as callbacks_staff_router
from base.clock import Clock, SystemClock
from base.db import make_engine, make_session_factory
from base.errors import ServiceError
from base.settings import Settings
from base.web import StaffOnly
from operator_console.routes import calls, health, pages, readings

__all__ = ["create_app"]

log = logging.getLogger("operator_console")


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The console for ``settings``; ``clock`` gives the current time (tests pass a FixedClock).

    The database is expected to be migrated already (:func:`hotline.console.serve` does it).
    """
    engine = make_engine(settings.db_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.redis.aclose()
        engine.dispose()

    app = FastAPI(
        title="Горячая линия — консоль оператора",
        version="0.1.0",
        lifespan=lifespan,
        # The API description is for staff: served below behind the staff guard.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    app.state.time_zone = _time_zone(settings.timezone)
    app.state.redis = aioredis.from_url(settings.redis_dsn, socket_timeout=2, socket_connect_timeout=2)

    @app.exception_handler(ServiceError)
    async def api_error(request: Request, error: ServiceError) -> JSONResponse:
        response = JSONResponse(error.to_json(), status_code=error.status_code)
        for challenge in getattr(error, "challenges", ()):
            response.headers.append("WWW-Authenticate", challenge)
        return response

    _staff_docs(app)
    app.include_router(pages.router)
    app.include_router(health.router)
    app.include_router(calls.router)
    app.include_router(callbacks_router)
    app.include_router(callbacks_staff_router)
    app.include_router(readings.router)
    return app


def _staff_docs(app: FastAPI) -> None:
    """``/openapi.json``, ``/docs`` and ``/redoc``, for staff only."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[StaffOnly])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[StaffOnly])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=app.title)

    @app.get("/redoc", include_in_schema=False, dependencies=[StaffOnly])
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=app.title)


def _time_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r (HOTLINE_TIMEZONE); showing times in UTC", name)
        return UTC
