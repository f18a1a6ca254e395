"""GET /api/readings: meter readings taken by the hotline, for the billing system.

Billing pulls with a cursor (`?cursor=<next_cursor from the last page>`) and gets readings
added since, oldest first; a bearer token (HOTLINE_BILLING_API_TOKEN) guards it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel

from accounts.service import readings_since
from base.web import SessionDep, SettingsDep
from operator_console.exceptions import ApiError

router = APIRouter(prefix="/api/readings", tags=["readings"])


class NotAuthorized(ApiError):
    status_code = 401
    error_id = "not-authorized"
    message = "Нужен действительный токен доступа (Authorization: Bearer ...)."


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
    next_cursor: int


@router.get("", response_model=ReadingsPage)
def list_readings(
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> ReadingsPage:
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(token, settings.billing_api_token):
        raise NotAuthorized()
    rows, next_cursor = readings_since(session, cursor, limit)
    return ReadingsPage(
        items=[ReadingOut(id=r.id, account_number=r.account_number, meter_serial=r.meter_serial, zone=r.zone,
                          value=str(r.value), taken_on=r.taken_on.isoformat(), source=r.source,
                          submitted_by=r.submitted_by, call_id=r.call_id, created_at=r.created_at.isoformat())
               for r in rows],
        next_cursor=next_cursor,
    )
