"""Callback orders in the database: requests, the lifecycle, and what the dialer asks for.

Synchronous SQLAlchemy; the caller owns the session and the transaction: functions here
flush, never commit. Time is passed in (``now``), so the rules are tested at any date.

The rules (see also :mod:`callback_queue.lifecycle`):
- A request for a number with an open order updates that order (preferred time, comment,
  name, account) and creates nothing; a request repeated with the same idempotency key
  returns the order it created the first time.
- A new order is registered (new) and queued at once (scheduled), due at the start of the
  customer's preferred window or now.
- The dialer claims a due order with a conditional UPDATE (``... WHERE state = 'scheduled'``),
  so of two dialers racing for one order exactly one gets it, with or without Redis.
- The customer not answering counts an attempt: the order is queued again after the retry
  delay, or failed after ``max_attempts``. No operator free or reached counts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.parsing import normalize_phone as _normalize_phone
from callback_queue.exceptions import (
    IdempotencyConflict,
    InvalidPhone,
    InvalidTransition,
    InvalidWindow,
    OrderNotFound,
)
from callback_queue.lifecycle import can_move
from callback_queue.models import (
    OPEN_STATES,
    CallbackOrder,
    CallbackSource,
    CallbackState,
    CallbackTransition,
)
from base.privacy import mask_phone

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_OPERATOR_RETRY_DELAY",
    "DEFAULT_RETRY_DELAY",
    "cancel",
    "claim",
    "callable_phone",
    "due_orders",
    "get_order",
    "link_call",
    "normalize_phone",
    "open_order_for",
    "record_answered",
    "record_not_answered",
    "request_callback",
    "requeue",
    "scheduled_orders",
    "stale_dialing",
    "transition",
]

log = logging.getLogger("callback_queue")

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_DELAY = timedelta(minutes=30)  # after the customer did not answer
DEFAULT_OPERATOR_RETRY_DELAY = timedelta(minutes=1)  # after no operator was free or reached

S = CallbackState

_CREATED_REASON: dict[CallbackSource, str] = {
    CallbackSource.IVR_MENU: "заявка из голосового меню (пункт 4)",
    CallbackSource.IVR_QUEUE: "заявка вместо ожидания в очереди",
    CallbackSource.IVR_AFTER_HOURS: "заявка в нерабочее время",
    CallbackSource.WEB: "заявка с сайта",
    CallbackSource.OPERATOR: "заявка, оформленная оператором",
}


# ---- phones and times ---------------------------------------------------------------------


def normalize_phone(raw: str) -> str:
    """A Russian phone number in E.164 (``+79991234567``), or :class:`InvalidPhone`.

    Accepts what people and Asterisk write: ``8 (999) 123-45-67``, ``+7 999 1234567``,
    ``79991234567``, ``9991234567``, a city number with its code.
    """
    try:
        phone = _normalize_phone(raw)
    except ValueError as error:
        raise InvalidPhone(details={"reason": str(error)}) from None
    if phonenumbers.region_code_for_number(phonenumbers.parse(phone)) != "RU":
        raise InvalidPhone(
            "Обратный звонок возможен только на российский номер: проверьте номер телефона.",
            {"reason": "not a Russian number"},
        )
    return phone


_CALLABLE_TYPES = frozenset({
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
})
_NOT_CALLABLE_TEXT = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: (
        "На платные номера (8-809) мы не перезваниваем: укажите мобильный или городской номер."
    ),
    phonenumbers.PhoneNumberType.TOLL_FREE: (
        "На бесплатные номера (8-800, 8-804) мы не перезваниваем: укажите мобильный или "
        "городской номер."
    ),
}


def callable_phone(raw: str) -> str:
    """:func:`normalize_phone`, and only a mobile or fixed-line number: what the website's
    form accepts (no premium-rate 8-809, toll-free, shared-cost or service numbers)."""
    phone = normalize_phone(raw)
    kind = phonenumbers.number_type(phonenumbers.parse(phone))
    if kind not in _CALLABLE_TYPES:
        raise InvalidPhone(
            _NOT_CALLABLE_TEXT.get(kind, "Укажите мобильный или городской номер телефона."),
            {"reason": f"number type {kind} is not mobile or fixed-line"},
        )
    return phone


def _aware(value: datetime | None, name: str) -> datetime | None:
    """``value`` in UTC; naive values are refused (local or UTC cannot be told apart)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


def _check_window(
    preferred_from: datetime | None, preferred_to: datetime | None, now: datetime
) -> None:
    if preferred_from is not None and preferred_to is not None and preferred_from > preferred_to:
        raise InvalidWindow()
    if preferred_to is not None and preferred_to <= now:
        raise InvalidWindow(
            "Удобное время звонка уже прошло: укажите время в будущем или оставьте поле пустым."
        )


def _first_due(preferred_from: datetime | None, now: datetime) -> datetime:
    return max(now, preferred_from) if preferred_from is not None else now


# ---- requests -----------------------------------------------------------------------------


def open_order_for(session: Session, phone: str, *, lock: bool = False) -> CallbackOrder | None:
    """The open order for an (already normalised) number, if any."""
    query = select(CallbackOrder).where(
        CallbackOrder.phone == phone, CallbackOrder.state.in_(OPEN_STATES)
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def _by_key(session: Session, key: str) -> CallbackOrder | None:
    return session.scalar(select(CallbackOrder).where(CallbackOrder.idempotency_key == key))


def request_callback(
    session: Session,
    phone: str,
    source: CallbackSource | str,
    actor: str,
    *,
    account_id: int | None = None,
    preferred_from: datetime | None = None,
    preferred_to: datetime | None = None,
    comment: str | None = None,
    name: str | None = None,
    idempotency_key: str | None = None,
    origin_call_id: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: datetime,
) -> tuple[CallbackOrder, bool]:
    """Register a callback request: ``(order, True)`` if a new order was created.

    ``(order, False)``: the idempotency key was seen before (that order, unchanged), or the
    number already has an open order (updated with what this request adds). Raises
    :class:`InvalidPhone` (also for a number that is not mobile or fixed-line, whatever the
    source: the dialer never rings a premium-rate number), :class:`InvalidWindow`,
    :class:`IdempotencyConflict`.
    """
    _aware(now, "now")
    source = CallbackSource(source)
    phone = callable_phone(phone)
    comment = (comment or "").strip() or None
    name = (name or "").strip() or None
    if idempotency_key is not None:
        seen = _by_key(session, idempotency_key)
        if seen is not None:
            if seen.phone != phone:
                raise IdempotencyConflict()
            return seen, False
    preferred_from = _aware(preferred_from, "preferred_from")
    preferred_to = _aware(preferred_to, "preferred_to")
    _check_window(preferred_from, preferred_to, now)

    for _ in range(2):  # a concurrent request for the same number may win the insert
        existing = open_order_for(session, phone, lock=True)
        if existing is not None:
            _update_open(session, existing, actor, source, now, account_id=account_id,
                         preferred_from=preferred_from, preferred_to=preferred_to,
                         comment=comment, name=name)
            return existing, False
        order = CallbackOrder(
            phone=phone,
            account_id=account_id,
            source=source,
            state=S.NEW,
            name=name,
            comment=comment,
            preferred_from=preferred_from,
            preferred_to=preferred_to,
            due_at=_first_due(preferred_from, now),
            attempts=0,
            max_attempts=max_attempts,
            origin_call_id=origin_call_id,
            idempotency_key=idempotency_key,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
        except IntegrityError:
            if idempotency_key is not None:
                seen = _by_key(session, idempotency_key)
                if seen is not None:
                    if seen.phone != phone:
                        raise IdempotencyConflict() from None
                    return seen, False
            continue
        _record(session, order, None, S.NEW, actor, _CREATED_REASON[source], now)
        transition(session, order, S.SCHEDULED, actor, _due_reason(order.due_at, now), now)
        log.info("callback order %s for %s from %s", order.id, mask_phone(phone), source.value)
        return order, True
    raise RuntimeError(f"could not register a callback order for {mask_phone(phone)}")


def _update_open(
    session: Session,
    order: CallbackOrder,
    actor: str,
    source: CallbackSource,
    now: datetime,
    *,
    account_id: int | None,
    preferred_from: datetime | None,
    preferred_to: datetime | None,
    comment: str | None,
    name: str | None,
) -> None:
    changed = []
    window = (preferred_from, preferred_to)
    if window != (None, None) and window != (order.preferred_from, order.preferred_to):
        order.preferred_from, order.preferred_to = window
        changed.append("удобное время")
        if order.state == S.SCHEDULED and order.attempts == 0:
            order.due_at = _first_due(preferred_from, now)
    if comment is not None and comment != order.comment:
        order.comment = comment
        changed.append("комментарий")
    if name is not None and name != order.name:
        order.name = name
        changed.append("имя")
    if account_id is not None and order.account_id is None:
        order.account_id = account_id
        changed.append("лицевой счёт")
    order.updated_at = now
    what = ", ".join(changed) if changed else "без изменений"
    reason = f"повторная заявка ({_CREATED_REASON[source]}): {what}"
    _record(session, order, order.state, order.state, actor, reason, now)
    session.flush()


def _due_reason(due_at: datetime, now: datetime) -> str:
    if due_at <= now:
        return "в очереди на обратный звонок"
    return f"в очереди на обратный звонок, не раньше {due_at:%Y-%m-%d %H:%M} UTC"


# ---- the lifecycle ------------------------------------------------------------------------


def _record(
    session: Session,
    order: CallbackOrder,
    from_state: CallbackState | None,
    to_state: CallbackState,
    actor: str,
    reason: str | None,
    now: datetime,
) -> CallbackTransition:
    row = CallbackTransition(
        order=order, at=now, from_state=from_state, to_state=to_state, actor=actor,
        reason=(reason or None) and reason[:500],
    )
    session.add(row)
    return row


def transition(
    session: Session,
    order: CallbackOrder,
    to_state: CallbackState | str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> CallbackOrder:
    """Move ``order`` to ``to_state`` if the lifecycle allows it, and record the move."""
    to_state = CallbackState(to_state)
    if not can_move(order.state, to_state):
        raise InvalidTransition(
            f"Заявку {order.id} нельзя перевести из состояния «{order.state.value}» "
            f"в «{to_state.value}».",
            {"from": order.state.value, "to": to_state.value},
        )
    _record(session, order, order.state, to_state, actor, reason, now)
    order.state = to_state
    order.updated_at = now
    session.flush()
    return order


def get_order(session: Session, order_id: int) -> CallbackOrder:
    order = session.get(CallbackOrder, order_id)
    if order is None:
        raise OrderNotFound(details={"id": order_id})
    return order


def cancel(
    session: Session, order_id: int, actor: str, reason: str | None, now: datetime
) -> CallbackOrder:
    """Withdraw an open order (the customer or staff asked to)."""
    order = get_order(session, order_id)
    return transition(session, order, S.CANCELLED, actor, reason or "заявка отменена", now)


def due_orders(
    session: Session, now: datetime, limit: int = 20, among: Sequence[int] | None = None
) -> list[CallbackOrder]:
    """Orders to dial now, the oldest request first: scheduled, and due.

    ``due_at`` is never before the customer's preferred start (nor before the retry time),
    so the preferred window is honoured; among the due, whoever asked first is called first.
    ``among`` narrows it to these ids (the ones the live queue in Redis says are due).
    """
    query = (
        select(CallbackOrder)
        .where(CallbackOrder.state == S.SCHEDULED, CallbackOrder.due_at <= now)
        .order_by(CallbackOrder.created_at, CallbackOrder.id)
        .limit(limit)
    )
    if among is not None:
        query = query.where(CallbackOrder.id.in_(list(among)))
    return list(session.scalars(query))


def scheduled_orders(session: Session) -> list[tuple[int, datetime]]:
    """Every scheduled order's (id, due_at): what the live queue in Redis is rebuilt from."""
    rows = session.execute(
        select(CallbackOrder.id, CallbackOrder.due_at).where(CallbackOrder.state == S.SCHEDULED)
    ).all()
    return [(row.id, row.due_at) for row in rows]


# ---- what the dialer does -----------------------------------------------------------------


def claim(
    session: Session, order_id: int, actor: str, now: datetime, linkedid: str | None = None
) -> CallbackOrder | None:
    """Take a due order for dialing, or None if it is no longer scheduled and due.

    One conditional UPDATE: of several dialers (or controllers) only one changes the row.
    """
    result = session.execute(
        update(CallbackOrder)
        .where(
            CallbackOrder.id == order_id,
            CallbackOrder.state == S.SCHEDULED,
            CallbackOrder.due_at <= now,
        )
        .values(state=S.DIALING, updated_at=now, last_linkedid=linkedid)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    order = session.get(CallbackOrder, order_id, populate_existing=True)
    assert order is not None
    _record(session, order, S.SCHEDULED, S.DIALING, actor, "набор: сначала оператор, затем клиент", now)
    session.flush()
    return order


def record_answered(
    session: Session, order: CallbackOrder, actor: str, now: datetime, operator: str | None = None
) -> CallbackOrder:
    """The customer answered and was connected to the operator: the order is done."""
    order.attempts += 1
    who = f" (оператор {operator})" if operator else ""
    return transition(session, order, S.DONE, actor, f"клиент ответил, соединён с оператором{who}", now)


_DIAL_STATUS_TEXT = {
    "NOANSWER": "клиент не ответил",
    "BUSY": "номер клиента занят",
    "CONGESTION": "сеть перегружена или номер недоступен",
    "CHANUNAVAIL": "номер клиента недоступен",
}


def record_not_answered(
    session: Session,
    order: CallbackOrder,
    actor: str,
    now: datetime,
    dial_status: str,
    retry_delay: timedelta = DEFAULT_RETRY_DELAY,
) -> CallbackOrder:
    """The customer was rung and did not answer: retry later, or fail after the last attempt."""
    order.attempts += 1
    what = _DIAL_STATUS_TEXT.get(dial_status, f"клиент не ответил ({dial_status or 'нет статуса'})")
    transition(session, order, S.NO_ANSWER, actor,
               f"попытка {order.attempts} из {order.max_attempts}: {what}", now)
    if order.attempts >= order.max_attempts:
        return transition(session, order, S.FAILED, actor,
                          f"не дозвонились: {_attempts(order.attempts)}", now)
    order.due_at = now + retry_delay
    return transition(session, order, S.SCHEDULED, actor,
                      f"повторный звонок не раньше {order.due_at:%Y-%m-%d %H:%M} UTC", now)


def _attempts(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} попытка"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} попытки"
    return f"{n} попыток"


def requeue(
    session: Session,
    order: CallbackOrder,
    actor: str,
    now: datetime,
    reason: str,
    delay: timedelta = DEFAULT_OPERATOR_RETRY_DELAY,
) -> CallbackOrder:
    """The attempt never reached the customer (no operator, operator left, dialer lost):
    back to the queue shortly, no attempt counted."""
    order.due_at = now + delay
    return transition(session, order, S.SCHEDULED, actor, reason, now)


def link_call(session: Session, order: CallbackOrder, call_id: int | None) -> None:
    if call_id is not None and order.last_call_id != call_id:
        order.last_call_id = call_id
        session.flush()


def stale_dialing(session: Session, now: datetime, older_than: timedelta) -> Sequence[CallbackOrder]:
    """Orders left in ``dialing`` with no change for ``older_than``: a dialer may have died."""
    query = select(CallbackOrder).where(
        CallbackOrder.state == S.DIALING, CallbackOrder.updated_at < now - older_than
    )
    return list(session.scalars(query))
