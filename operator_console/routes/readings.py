"""GET /api/readings: meter readings taken by the hotline, for the billing system.

Billing pulls with a cursor (`?cursor=<next_cursor from the last page>`) and gets readings
added since, in feed order (see :func:`accounts.service.readings_since`: on PostgreSQL a
reading whose transaction may still be in flight is held back, so none is skipped). The
billing token (HOTLINE_BILLING_API_TOKEN) or the staff token guards it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from accounts.service import ReadingCursor, readings_since
from base.web import BillingOrStaff, SessionDep
from operator_console.exceptions import ApiError

router = APIRouter(prefix="/api/readings", tags=["readings"], dependencies=[BillingOrStaff])


class InvalidCursor(ApiError):
    status_code = 422
    error_id = "invalid-cursor"
    message = "Неверный курсор: передайте next_cursor из предыдущего ответа или 0 для начала."


class ReadingOut(BaseModel):
    id: int
    account_number: str
    meter_serial: str
    zone: str
    value: str
    taken_on: str
    source: str
    submitted_by: str | None
    call_id: int | None
    created_at: str


class ReadingsPage(BaseModel):
    items: list[ReadingOut]
    next_cursor: str


@router.get("", response_model=ReadingsPage, responses={401: {}, 422: {}})
def list_readings(
    session: SessionDep,
    cursor: Annotated[str, Query(max_length=64)] = "0",
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> ReadingsPage:
    try:
        after = ReadingCursor.parse(cursor)
    except ValueError:
        raise InvalidCursor(details={"cursor": cursor[:64]}) from None
    rows, next_cursor = readings_since(session, after, limit)
    return ReadingsPage(
        items=[ReadingOut(id=r.id, account_number=r.account_number, meter_serial=r.meter_serial, zone=r.zone,
                          value=str(r.value), taken_on=r.taken_on.isoformat(), source=r.source,
                          submitted_by=r.submitted_by, call_id=r.call_id, created_at=r.created_at.isoformat())
               for r in rows],
        next_cursor=str(next_cursor),
    )
