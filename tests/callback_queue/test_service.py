"""Callback orders in the database (SQLite and PostgreSQL): requests, one open order per
number, the lifecycle, claiming, retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from callback_queue import service
from callback_queue.exceptions import (
    IdempotencyConflict,
    InvalidPhone,
    InvalidTransition,
    InvalidWindow,
)
from callback_queue.models import CallbackOrder, CallbackSource, CallbackState, CallbackTransition

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # Tuesday 10:00 in Moscow
PHONE = "+79991234567"
S = CallbackState


def request(session: Session, phone: str = "8 (999) 123-45-67", **kw: object) -> tuple[CallbackOrder, bool]:
    kw.setdefault("now", NOW)
    return service.request_callback(session, phone, kw.pop("source", "web"), kw.pop("actor", "web"), **kw)  # type: ignore[arg-type]


def trail(order: CallbackOrder) -> list[tuple[str | None, str, str]]:
    return [(t.from_state and t.from_state.value, t.to_state.value, t.actor) for t in order.transitions]


# ---- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["8 (999) 123-45-67", "+7 999 123 45 67", "79991234567", "9991234567", "8-999-123-4567"]
)
def test_phone_is_normalised_to_e164(raw: str) -> None:
    assert service.normalize_phone(raw) == PHONE


@pytest.mark.parametrize("raw", ["", "12345", "abc", "+1 415 555 2671", "+7 7012 345678"])
def test_bad_or_foreign_phone_is_refused_in_russian(raw: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        service.normalize_phone(raw)
    assert caught.value.status_code == 422
    assert "номер" in caught.value.message


# ---- requests -----------------------------------------------------------------------------


def test_request_registers_and_queues_a_new_order(session: Session) -> None:
    order, created = request(session, comment="  Вопрос по счёту  ", name="Анна")
    session.commit()
    assert created
    assert order.phone == PHONE and order.source == CallbackSource.WEB
    assert order.state == S.SCHEDULED and order.due_at == NOW
    assert order.attempts == 0 and order.max_attempts == 3
    assert order.comment == "Вопрос по счёту" and order.name == "Анна"
    assert trail(order) == [(None, "new", "web"), ("new", "scheduled", "web")]
    assert all(t.at == NOW for t in order.transitions)


def test_second_request_for_the_number_updates_the_open_order(session: Session) -> None:
    first, _ = request(session, source="ivr_menu", actor="ivr")
    later = NOW + timedelta(minutes=5)
    window = (NOW + timedelta(hours=2), NOW + timedelta(hours=3))
    second, created = request(session, "+7 999 123-45-67", comment="Перезвоните после обеда",
                              preferred_from=window[0], preferred_to=window[1], now=later)
    session.commit()
    assert not created and second.id == first.id
    assert session.scalar(select(CallbackOrder.id).where(CallbackOrder.phone == PHONE).where(
        CallbackOrder.id != first.id)) is None
    assert second.comment == "Перезвоните после обеда"
    assert (second.preferred_from, second.preferred_to) == window
    assert second.due_at == window[0]  # not dialled before the new preferred start
    assert second.source == CallbackSource.IVR_MENU  # where it first came from
    last = second.transitions[-1]
    assert (last.from_state, last.to_state, last.actor) == (S.SCHEDULED, S.SCHEDULED, "web")
    assert "удобное время" in (last.reason or "") and "комментарий" in (last.reason or "")


def test_a_closed_order_does_not_block_a_new_one(session: Session) -> None:
    first, _ = request(session)
    service.cancel(session, first.id, "operator:ivanova", "клиент передумал", NOW)
    second, created = request(session)
    session.commit()
    assert created and second.id != first.id
    assert first.state == S.CANCELLED and second.state == S.SCHEDULED


def test_the_database_refuses_two_open_orders_for_one_number(session: Session) -> None:
    """The partial unique index, not only the service, keeps the rule."""
    for _ in range(2):
        session.add(CallbackOrder(phone=PHONE, source="web", state="scheduled", due_at=NOW,
                                  attempts=0, max_attempts=3, created_at=NOW, updated_at=NOW))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    # ... but any number of closed ones beside one open order.
    for state in ("done", "failed", "cancelled", "scheduled"):
        session.add(CallbackOrder(phone=PHONE, source="web", state=state, due_at=NOW,
                                  attempts=0, max_attempts=3, created_at=NOW, updated_at=NOW))
    session.flush()


def test_the_same_idempotency_key_returns_the_first_order(session: Session) -> None:
    first, created = request(session, idempotency_key="form-1")
    again, created_again = request(session, idempotency_key="form-1", comment="повтор")
    assert created and not created_again and again.id == first.id
    assert again.comment is None  # a replay changes nothing
    assert len(again.transitions) == 2


def test_an_idempotency_key_reused_for_another_number_is_refused(session: Session) -> None:
    request(session, idempotency_key="form-1")
    with pytest.raises(IdempotencyConflict):
        request(session, "+79990000002", idempotency_key="form-1")


def test_preferred_window_is_checked(session: Session) -> None:
    with pytest.raises(InvalidWindow):
        request(session, preferred_from=NOW + timedelta(hours=3), preferred_to=NOW + timedelta(hours=1))
    with pytest.raises(InvalidWindow):
        request(session, preferred_to=NOW - timedelta(minutes=1))
    with pytest.raises(ValueError):
        request(session, preferred_from=datetime(2026, 11, 24, 12, 0))  # naive: ambiguous


def test_ivr_request_keeps_account_and_origin_call(session: Session) -> None:
    from accounts.models import Account

    account = Account(number="1234567890", timezone="Europe/Moscow", source="test")
    session.add(account)
    session.flush()
    order, _ = service.request_callback(session, "79991234567", "ivr_queue", "ivr",
                                        account_id=account.id, now=NOW)
    assert order.account_id == account.id and order.source == CallbackSource.IVR_QUEUE


# ---- due orders, claiming -----------------------------------------------------------------


def test_due_orders_oldest_first_honouring_the_preferred_start(session: Session) -> None:
    a, _ = request(session, "+79990000001", now=NOW - timedelta(minutes=30))
    b, _ = request(session, "+79990000002", now=NOW - timedelta(minutes=20),
                   preferred_from=NOW + timedelta(hours=1))
    c, _ = request(session, "+79990000003", now=NOW - timedelta(minutes=10))
    assert [o.id for o in service.due_orders(session, NOW)] == [a.id, c.id]
    assert [o.id for o in service.due_orders(session, NOW + timedelta(hours=1))] == [a.id, b.id, c.id]
    assert [o.id for o in service.due_orders(session, NOW, limit=1)] == [a.id]
    assert [o.id for o in service.due_orders(session, NOW, among=[c.id, b.id])] == [c.id]


def test_only_one_of_two_claims_wins(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as s:
        order_id = request(s)[0].id
    with session_factory() as one, session_factory() as two:
        won = service.claim(one, order_id, "dialer:pbx1", NOW, linkedid="pbx1-cb1-a")
        one.commit()
        lost = service.claim(two, order_id, "dialer:pbx2", NOW, linkedid="pbx2-cb1-b")
        two.commit()
    assert won is not None and lost is None
    with session_factory() as s:
        order = s.get(CallbackOrder, order_id)
        assert order is not None and order.state == S.DIALING and order.last_linkedid == "pbx1-cb1-a"
        assert trail(order)[-1] == ("scheduled", "dialing", "dialer:pbx1")


def test_an_order_not_yet_due_cannot_be_claimed(session: Session) -> None:
    order, _ = request(session, preferred_from=NOW + timedelta(hours=1))
    assert service.claim(session, order.id, "dialer:pbx1", NOW) is None


# ---- outcomes -----------------------------------------------------------------------------


def claimed(session: Session) -> CallbackOrder:
    order, _ = request(session)
    got = service.claim(session, order.id, "dialer:pbx1", NOW)
    assert got is not None
    return got


def test_answered_is_done_and_counts_the_attempt(session: Session) -> None:
    order = claimed(session)
    service.record_answered(session, order, "dialer:pbx1", NOW, "operator1")
    assert order.state == S.DONE and order.attempts == 1
    assert not order.is_open
    assert "operator1" in (order.transitions[-1].reason or "")


def test_no_answer_is_retried_after_the_delay_then_failed(session: Session) -> None:
    order = claimed(session)
    at = NOW
    for attempt in (1, 2):
        service.record_not_answered(session, order, "dialer:pbx1", at, "NOANSWER", timedelta(minutes=30))
        assert order.state == S.SCHEDULED and order.attempts == attempt
        assert order.due_at == at + timedelta(minutes=30)
        assert service.claim(session, order.id, "dialer:pbx1", at) is None  # not before the delay
        at = order.due_at
        assert service.claim(session, order.id, "dialer:pbx1", at) is not None
    service.record_not_answered(session, order, "dialer:pbx1", at, "BUSY")
    assert order.state == S.FAILED and order.attempts == 3
    moves = [(t.from_state and t.from_state.value, t.to_state.value) for t in order.transitions]
    assert moves[-2:] == [("dialing", "no_answer"), ("no_answer", "failed")]
    assert moves.count(("dialing", "no_answer")) == 3
    assert "3 попытки" in (order.transitions[-1].reason or "")
    assert "занят" in (order.transitions[-2].reason or "")


def test_operator_not_reached_requeues_without_counting(session: Session) -> None:
    order = claimed(session)
    service.requeue(session, order, "dialer:pbx1", NOW, "нет свободных операторов", timedelta(minutes=1))
    assert order.state == S.SCHEDULED and order.attempts == 0
    assert order.due_at == NOW + timedelta(minutes=1)


def test_lifecycle_is_enforced(session: Session) -> None:
    order, _ = request(session)
    with pytest.raises(InvalidTransition) as caught:
        service.transition(session, order, S.DONE, "operator:ivanova", None, NOW)
    assert caught.value.status_code == 409
    service.cancel(session, order.id, "web", None, NOW)
    with pytest.raises(InvalidTransition):
        service.cancel(session, order.id, "web", None, NOW)  # final
    rows = session.scalars(select(CallbackTransition).where(CallbackTransition.order_id == order.id)).all()
    assert [r.to_state for r in rows] == [S.NEW, S.SCHEDULED, S.CANCELLED]


def test_stale_dialing_orders_are_found(session: Session) -> None:
    order = claimed(session)
    assert service.stale_dialing(session, NOW + timedelta(minutes=5), timedelta(minutes=10)) == []
    assert [o.id for o in service.stale_dialing(session, NOW + timedelta(minutes=11),
                                                timedelta(minutes=10))] == [order.id]
