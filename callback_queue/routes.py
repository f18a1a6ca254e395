"""HTTP API of callback orders, mounted by the console under ``/api/callbacks``.

``POST /api/callbacks`` is the website's "Обратный звонок" form (004 §8.4, Annex 1). It is
public by nature: anyone on the internet can send it, which is why its body is capped
(``web_max_body_bytes``, 413), it takes only Russian mobile and fixed-line numbers and
preferred times within ``web_max_days_ahead`` days that meet the callback hours, it is
rate-limited per client address, per phone number and for all requests together (in Redis,
and in this process when Redis does not answer), idempotent (``Idempotency-Key`` header),
and it answers with the phone number masked. Behind a reverse proxy, run uvicorn with the
proxy's address trusted (``--forwarded-allow-ips``) so the limit counts customers, not the
proxy.

``GET /api/callbacks/{id}`` is for staff (the order's state and its trail): ``staff_router``
carries the staff guard of :mod:`base.web` for every route on it. ``router`` is the public
surface and holds the form alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from collections.abc import Callable
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from callback_queue import service
from callback_queue.exceptions import (
    CallbackError,
    InvalidPhone,
    InvalidRequest,
    InvalidWindow,
    PayloadTooLarge,
    RateLimited,
)
from callback_queue.lifecycle import STATE_TEXT
from callback_queue.models import CallbackOrder, CallbackSource
from callback_queue.queue import CallbackQueue
from callback_queue.ratelimit import FixedWindowLimiter, MemoryLimiter, hashed
from callback_queue.schemas import CallbackAccepted, CallbackDetail, CallbackRequest, TransitionOut
from callback_queue.settings import CallbackSettings
from base import config_store
from base.clock import FixedClock
from hours.service import HoursService
from base.privacy import mask_phone
from base.web import NowDep, SessionDep, SettingsDep, StaffOnly, TimeZoneDep

__all__ = ["get_callback_settings", "get_redis", "router", "staff_router"]

log = logging.getLogger("callback_queue.api")

router = APIRouter(prefix="/api/callbacks", tags=["callbacks"])  # public: the website's form
staff_router = APIRouter(prefix="/api/callbacks", tags=["callbacks"], dependencies=[StaffOnly])

WEB_ACTOR = "web"

_FIELD_NAMES = {
    "phone": "номер телефона",
    "name": "имя",
    "comment": "комментарий",
    "preferred_from": "удобное время «с»",
    "preferred_to": "удобное время «до»",
}


@lru_cache(maxsize=1)
def get_callback_settings() -> CallbackSettings:
    return CallbackSettings()


def get_redis(request: Request) -> aioredis.Redis | None:
    """The console's Redis client (``app.state.redis``); None: no rate limits, no live queue."""
    return getattr(request.app.state, "redis", None)


CallbackSettingsDep = Annotated[CallbackSettings, Depends(get_callback_settings)]
RedisDep = Annotated[aioredis.Redis | None, Depends(get_redis)]


def _error(error: CallbackError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.status_code, headers=headers)


def _form_error(error: ValidationError) -> CallbackError:
    problems: list[str] = []
    fields: list[str] = []
    for item in error.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc else ""
        what = _FIELD_NAMES.get(field, field or "форма")
        kind = item.get("type", "")
        if kind in ("json_invalid", "json_type", "model_type", "model_attributes_type", "dict_type"):
            problem = "форма не прочитана: ожидается JSON-объект"
        elif kind == "missing":
            problem = f"{what}: обязательное поле"
        elif kind == "string_too_long":
            problem = f"{what}: слишком длинно"
        elif kind.startswith(("datetime", "date")):
            problem = f"{what}: нужна дата и время, например 2026-11-24T10:00"
        else:
            problem = f"{what}: неверное значение"
        if problem not in problems:
            problems.append(problem)
        if field:
            fields.append(field)
    return InvalidRequest("Проверьте заявку: " + "; ".join(problems) + ".", {"fields": fields})


def _local(value: datetime | None, tz: tzinfo) -> datetime | None:
    """A time from the form: without an offset it is the region's local time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz)


def get_memory_limiter(request: Request) -> MemoryLimiter:
    """This process's counters (one per app): they decide when Redis does not answer."""
    limiter: MemoryLimiter | None = getattr(request.app.state, "callback_memory_limiter", None)
    if limiter is None:
        limiter = request.app.state.callback_memory_limiter = MemoryLimiter()
    return limiter


MemoryLimiterDep = Annotated[MemoryLimiter, Depends(get_memory_limiter)]


class _Limits:
    """Counts a request in Redis and in this process; Redis decides while it answers."""

    def __init__(
        self, redis: FixedWindowLimiter | None, memory: MemoryLimiter, now: datetime
    ) -> None:
        self.redis = redis
        self.memory = memory
        self.now = now.timestamp()

    async def hit(self, scope: str, key: str, limit: int, window_s: int) -> RateLimited | None:
        if limit <= 0:
            return None
        retry_after = self.memory.hit(scope, key, limit, window_s, self.now)
        if self.redis is not None:
            try:
                retry_after = await self.redis.hit(scope, key, limit, window_s, self.now)
            except Exception as error:  # noqa: BLE001 - Redis away: this process's counts decide
                log.warning("rate limit counted in this process only, Redis unavailable: %s",
                            type(error).__name__)
        return None if retry_after is None else RateLimited(retry_after, scope)


async def _read_body(request: Request, max_bytes: int) -> bytes | None:
    """The request body, or None when it is larger than ``max_bytes`` (read no further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    return bytes(body)


def check_web_window(
    preferred_from: datetime | None,
    preferred_to: datetime | None,
    now: datetime,
    opening: Callable[[datetime], datetime | None],
    *,
    max_days_ahead: int,
    past_grace: timedelta,
) -> None:
    """The form's preferred times: not past, not too far ahead, meeting the callback hours
    (``opening(at)``: the first open moment at or after ``at``). Raises :class:`InvalidWindow`."""
    if preferred_from is None and preferred_to is None:
        return
    if preferred_from is not None and preferred_to is not None and preferred_from > preferred_to:
        raise InvalidWindow()
    if preferred_to is not None and preferred_to <= now:
        raise InvalidWindow(
            "Удобное время звонка уже прошло: укажите время в будущем или оставьте поле пустым."
        )
    if preferred_from is not None and preferred_from < now - past_grace:
        raise InvalidWindow(
            "Удобное время «с» уже прошло: укажите время в будущем или оставьте поле пустым."
        )
    latest = now + timedelta(days=max_days_ahead)
    if any(t is not None and t > latest for t in (preferred_from, preferred_to)):
        raise InvalidWindow(
            f"Обратный звонок можно заказать не больше чем на {max_days_ahead} "
            f"{_days_word(max_days_ahead)} вперёд: "
            "выберите более близкое время."
        )
    start = max(preferred_from or now, now)
    first = opening(start)
    if first is None or (preferred_to is not None and first >= preferred_to):
        hint = f" Ближайшее время для звонка: {first:%d.%m %H:%M}." if first is not None else ""
        raise InvalidWindow(
            "В это время мы не перезваниваем: выберите время в часы работы обратных звонков."
            + hint,
            {"next_opening": first.isoformat() if first is not None else None},
        )
    # A start just past (a form left open) means "as soon as possible": no hours check for it.
    if preferred_to is None and preferred_from is not None and now < preferred_from < first:
        raise InvalidWindow(
            f"В {preferred_from.astimezone(first.tzinfo):%d.%m %H:%M} мы не перезваниваем: "
            f"ближайшее время для звонка — {first:%d.%m %H:%M}.",
            {"next_opening": first.isoformat()},
        )


def _days_word(n: int) -> str:
    """день / дня / дней, agreeing with ``n``."""
    if n % 10 == 1 and n % 100 != 11:
        return "день"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "дня"
    return "дней"


def _check_window(session: Session, form: CallbackRequest, tz: tzinfo, now: datetime,
                  tz_name: str, callbacks: CallbackSettings) -> None:
    hours = HoursService(_SessionConfig(session), FixedClock(now))
    check_web_window(
        _local(form.preferred_from, tz),
        _local(form.preferred_to, tz),
        now,
        lambda at: hours.next_opening("callbacks", tz_name, at),
        max_days_ahead=callbacks.web_max_days_ahead,
        past_grace=timedelta(minutes=callbacks.web_past_grace_minutes),
    )


class _SessionConfig:
    """Admin documents read through the request's session (for :class:`HoursService`)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, key: str) -> dict[str, Any] | None:
        return config_store.read(self.session, key)


_WEEKDAYS_ON = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу",
                "в субботу", "в воскресенье")


def when_text(session: Session, due_at: datetime, now: datetime, tz_name: str) -> str:
    """When the customer can expect the call, in words: callback hours and holidays counted."""
    hours = HoursService(_SessionConfig(session), FixedClock(now))
    opening = hours.next_opening("callbacks", tz_name, max(due_at, now))
    if opening is None:
        return "Специалист перезвонит вам в рабочее время."
    local_now = now.astimezone(opening.tzinfo)
    if opening - local_now < timedelta(minutes=5):
        return "Специалист перезвонит вам в ближайшее время."
    days = (opening.date() - local_now.date()).days
    day = ("сегодня" if days == 0 else "завтра" if days == 1
           else f"{_WEEKDAYS_ON[opening.weekday()]}, {opening:%d.%m},")
    return f"Специалист перезвонит вам {day} после {opening:%H:%M}."


def _accepted(order: CallbackOrder, created: bool, when: str, first: str | None = None) -> CallbackAccepted:
    if first is None:
        first = "Заявка принята." if created else "Заявка на этот номер уже есть, мы её обновили."
    return CallbackAccepted(
        id=order.id,
        state=order.state.value,
        state_text=STATE_TEXT[order.state],
        phone=mask_phone(order.phone),
        due_at=order.due_at,
        preferred_from=order.preferred_from,
        preferred_to=order.preferred_to,
        created=created,
        message=f"{first} {when}" if order.is_open else first,
    )


def _register(session: Session, form: CallbackRequest, key: str | None, now: datetime,
              tz: tzinfo, tz_name: str) -> tuple[CallbackAccepted, bool]:
    order, created = service.request_callback(
        session,
        form.phone,
        CallbackSource.WEB,
        WEB_ACTOR,
        preferred_from=_local(form.preferred_from, tz),
        preferred_to=_local(form.preferred_to, tz),
        comment=form.comment,
        name=form.name,
        idempotency_key=key,
        now=now,
    )
    session.commit()
    return _accepted(order, created, when_text(session, order.due_at, now, tz_name)), created


def _seen_key(session: Session, key: str, phone: str, now: datetime,
              tz_name: str) -> CallbackAccepted | None:
    """The order an earlier request with this key created, if it was for this number."""
    order = session.scalar(select(CallbackOrder).where(CallbackOrder.idempotency_key == key))
    if order is None or order.phone != phone:
        return None  # unseen; or another number's key, which the service refuses (409)
    return _accepted(order, False, when_text(session, order.due_at, now, tz_name),
                     "Заявка уже принята.")


_REQUEST_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": CallbackRequest.model_json_schema()}},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=CallbackAccepted,
    responses={200: {"model": CallbackAccepted, "description": "the same order again"},
               409: {}, 413: {}, 422: {}, 429: {}},
    openapi_extra=_REQUEST_SCHEMA,
)
async def request_callback(
    request: Request,
    session: SessionDep,
    now: NowDep,
    tz: TimeZoneDep,
    settings: SettingsDep,
    callbacks: CallbackSettingsDep,
    redis: RedisDep,
    memory: MemoryLimiterDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> JSONResponse:
    """A callback request from the website (public: capped, validated, rate-limited, idempotent)."""
    shared = FixedWindowLimiter(redis, settings.redis_prefix) if redis is not None else None
    limits = _Limits(shared, memory, now)
    secret = settings.console_secret_key
    client = request.client.host if request.client else "unknown"
    limited = await limits.hit("ip", hashed(client, secret), callbacks.web_per_ip_per_minute, 60)
    if limited is not None:
        return _error(limited, {"Retry-After": str(limited.retry_after)})
    raw = await _read_body(request, callbacks.web_max_body_bytes)
    if raw is None:
        return _error(PayloadTooLarge(details={"max_bytes": callbacks.web_max_body_bytes}))
    try:
        form = CallbackRequest.model_validate_json(raw)
    except ValidationError as error:
        return _error(_form_error(error))
    try:
        phone = service.callable_phone(form.phone)
        await run_in_threadpool(_check_window, session, form, tz, now, settings.timezone, callbacks)
    except (InvalidPhone, InvalidWindow) as error:
        return _error(error)
    if idempotency_key:
        seen = await run_in_threadpool(_seen_key, session, idempotency_key, phone, now,
                                       settings.timezone)
        if seen is not None:
            return JSONResponse(seen.model_dump(mode="json"), status_code=200)
    limited = await limits.hit("phone", hashed(phone, secret), callbacks.web_per_phone_per_hour,
                               3600)
    if limited is None:
        limited = await limits.hit("all", "web", callbacks.web_all_per_minute, 60)
    if limited is not None:
        return _error(limited, {"Retry-After": str(limited.retry_after)})
    try:
        body, created = await run_in_threadpool(_register, session, form, idempotency_key or None, now, tz,
                                              settings.timezone)
    except CallbackError as error:
        await run_in_threadpool(session.rollback)
        return _error(error)
    if redis is not None and body.state == "scheduled":
        try:
            await CallbackQueue(redis, settings.redis_prefix).add(body.id, body.due_at)
        except Exception as error:  # noqa: BLE001 - the dialer rebuilds the queue anyway
            log.warning("callback order %s not put in the live queue: %s", body.id, error)
    return JSONResponse(body.model_dump(mode="json"), status_code=201 if created else 200)


@staff_router.get("/{order_id}", response_model=CallbackDetail, responses={401: {}, 404: {}})
def get_callback(order_id: int, session: SessionDep) -> Any:
    """An order's state and every transition it went through (staff)."""
    try:
        order = service.get_order(session, order_id)
    except CallbackError as error:
        return _error(error)
    return CallbackDetail(
        id=order.id,
        state=order.state.value,
        state_text=STATE_TEXT[order.state],
        source=order.source.value,
        phone=mask_phone(order.phone),
        attempts=order.attempts,
        max_attempts=order.max_attempts,
        due_at=order.due_at,
        preferred_from=order.preferred_from,
        preferred_to=order.preferred_to,
        created_at=order.created_at,
        updated_at=order.updated_at,
        last_call_id=order.last_call_id,
        origin_call_id=order.origin_call_id,
        transitions=[
            TransitionOut(
                at=t.at,
                from_state=t.from_state.value if t.from_state is not None else None,
                to_state=t.to_state.value,
                actor=t.actor,
                reason=t.reason,
            )
            for t in order.transitions
        ],
    )
