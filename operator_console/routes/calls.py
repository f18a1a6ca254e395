"""GET /api/calls: the latest calls, numbers masked (staff only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.exc import SQLAlchemyError

from operator_console import service
from base.web import NowDep, SessionDep, StaffOnly, TimeZoneDep
from operator_console.exceptions import DatabaseUnavailable
from operator_console.schemas import CallSummary

router = APIRouter(prefix="/api/calls", tags=["calls"], dependencies=[StaffOnly])

DEFAULT_LIMIT = 20
MAX_LIMIT = 200


@router.get("", response_model=list[CallSummary])
def list_calls(
    session: SessionDep,
    now: NowDep,
    tz: TimeZoneDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> list[CallSummary]:
    try:
        return service.latest_calls(session, limit, now, tz)
    except SQLAlchemyError as error:
        raise DatabaseUnavailable(details={"error": service.describe_error(error)}) from error
