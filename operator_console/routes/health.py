"""GET /api/health: is the console up, and does its database answer (public, minimal).

It says "ok" or "unavailable" and nothing more: no database host, user, URL or driver
message (those go to the console's log, without the password).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from operator_console import service
from base.web import SessionDep
from operator_console.schemas import Health

router = APIRouter(prefix="/api/health", tags=["health"])

log = logging.getLogger("operator_console.health")


@router.get("", response_model=Health, responses={503: {"model": Health}})
def health(session: SessionDep) -> JSONResponse:
    status = service.database_status(session)
    ok = status == "ok"
    if not ok:
        log.warning("health: database %s", status)
    body = Health(status="ok" if ok else "degraded", database="ok" if ok else "unavailable")
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
