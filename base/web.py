"""Dependencies of the console's routes, as ``Annotated`` aliases.

Everything comes from ``app.state``, which :func:`operator_console.app.create_app` fills in
one place: the settings, the session factory, the clock and the region's time zone.

Who may call a staff route is decided by one dependency, :func:`require_staff` (a router
adds ``dependencies=[StaffOnly]``). For now it checks one shared staff token
(``HOTLINE_STAFF_API_TOKEN``), sent as ``Authorization: Bearer <token>`` by programs or as
the password of HTTP Basic auth by a browser; the console issue replaces it with users and
roles without touching the routes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from base.clock import Clock
from base.errors import ServiceError
from base.settings import Settings

__all__ = [
    "BillingOrStaff",
    "NotAuthenticated",
    "NowDep",
    "Principal",
    "SessionDep",
    "SettingsDep",
    "StaffOnly",
    "TimeZoneDep",
    "presented_token",
    "require_billing_or_staff",
    "require_staff",
    "token_matches",
]


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


# ---- who is calling ---------------------------------------------------------------------

AUTH_REALM = "hotline"


class NotAuthenticated(ServiceError):
    status_code = 401
    error_id = "not-authenticated"
    message = (
        "Доступ только для сотрудников: нужен действительный токен "
        "(заголовок Authorization: Bearer ...)."
    )
    # One WWW-Authenticate line each; Basic first: a browser opening the console asks for the
    # token as a password.
    challenges = (f'Basic realm="{AUTH_REALM}", charset="UTF-8"', f'Bearer realm="{AUTH_REALM}"')


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: ``"staff"`` or ``"billing"`` (users and roles come later)."""

    role: str


def presented_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization`` header: Bearer's value, or Basic's password."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, colon, password = decoded.partition(":")
        return password if colon and password else None
    return None


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; an empty expected token matches nothing."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def _principal(request: Request, roles: dict[str, str]) -> Principal:
    token = presented_token(request.headers.get("authorization"))
    matched = [role for role, expected in roles.items() if token_matches(token, expected)]
    if not matched:
        raise NotAuthenticated()
    return Principal(matched[0])


def require_staff(request: Request) -> Principal:
    """The staff routes' guard: the staff token, or 401."""
    settings = get_settings(request)
    return _principal(request, {"staff": settings.staff_api_token})


def require_billing_or_staff(request: Request) -> Principal:
    """Readings for billing: the billing system's token or the staff token, or 401."""
    settings = get_settings(request)
    return _principal(
        request, {"billing": settings.billing_api_token, "staff": settings.staff_api_token}
    )


StaffOnly: Any = Depends(require_staff)
BillingOrStaff: Any = Depends(require_billing_or_staff)
