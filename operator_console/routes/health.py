"""GET /api/health: is the console up, and does its database answer."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from operator_console import service
from base.web import SessionDep
from operator_console.schemas import Health

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get("", response_model=Health, responses={503: {"model": Health}})
def health(session: SessionDep) -> JSONResponse:
    database = service.database_status(session)
    ok = database == "ok"
    body = Health(status="ok" if ok else "degraded", database=database)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
