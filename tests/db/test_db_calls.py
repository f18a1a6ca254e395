"""Call records and their events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.models import Account
from calls.models import Call, CallDirection, CallEvent, CallOutcome

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _call(linkedid: str = "1700000000.1", **overrides: object) -> Call:
    values: dict[str, object] = dict(
        linkedid=linkedid,
        uniqueid=linkedid,
        pbx_node="pbx1",
        direction=CallDirection.INBOUND,
        channel="PJSIP/caller1-00000001",
        caller_number="+79990000001",
        caller_name="Иванова",
        called_number="8800",
        started_at=T0,
    )
    values.update(overrides)
    return Call(**values)


def test_call_with_events_round_trip(session: Session) -> None:
    call = _call()
    call.events = [
        CallEvent(at=T0, kind="started", data={"channel": "PJSIP/caller1-00000001"}),
        CallEvent(at=T0 + timedelta(seconds=1), kind="answered", data={}),
        CallEvent(
            at=T0 + timedelta(seconds=6),
            kind="disclosure",
            data={"text": "Разговор записывается", "ok": True, "n": [1, 2]},
        ),
    ]
    session.add(call)
    session.commit()
    session.expunge_all()

    loaded = session.scalars(select(Call).where(Call.linkedid == "1700000000.1")).one()
    assert loaded.direction is CallDirection.INBOUND
    assert loaded.started_at == T0 and loaded.started_at.tzinfo is UTC
    assert loaded.ended_at is None and loaded.outcome is None
    assert [event.kind for event in loaded.events] == ["started", "answered", "disclosure"]
    assert loaded.events[2].data == {"text": "Разговор записывается", "ok": True, "n": [1, 2]}
    assert loaded.updated_at.tzinfo is UTC

    loaded.answered_at = T0 + timedelta(seconds=1)
    loaded.ended_at = T0 + timedelta(minutes=3)
    loaded.outcome = CallOutcome.COMPLETED
    loaded.hangup_cause = 16
    loaded.hangup_cause_text = "Normal Clearing"
    loaded.recording_path = "2026/11/23/1700000000.1.wav"
    session.commit()
    open_calls = session.scalars(select(Call).where(Call.ended_at.is_(None))).all()
    assert open_calls == []


def test_linkedid_is_unique(session: Session) -> None:
    session.add(_call("dup"))
    session.commit()
    session.add(_call("dup"))
    with pytest.raises(IntegrityError):
        session.commit()


def test_database_refuses_unknown_direction(session: Session) -> None:
    session.add(_call("ok"))
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(text("UPDATE calls SET direction = 'sideways'"))
        session.flush()


def test_deleting_a_call_deletes_its_events(session: Session) -> None:
    orm, sql = _call("orm"), _call("sql")
    for call in (orm, sql):
        call.events = [CallEvent(at=T0, kind="started"), CallEvent(at=T0, kind="hangup")]
    session.add_all([orm, sql])
    session.commit()
    assert session.scalar(select(func.count()).select_from(CallEvent)) == 4

    session.delete(orm)  # ORM cascade
    session.commit()
    assert session.scalar(select(func.count()).select_from(CallEvent)) == 2

    session.execute(delete(Call).where(Call.linkedid == "sql"))  # ON DELETE CASCADE in the DB
    session.commit()
    assert session.scalar(select(func.count()).select_from(CallEvent)) == 0


def test_call_keeps_its_record_when_the_account_goes(session: Session) -> None:
    account = Account(number="4301000000", timezone="Europe/Kirov", source="test")
    call = _call("acc", account=account)
    session.add(call)
    session.commit()
    assert call.account_id == account.id
    session.execute(delete(Account).where(Account.id == account.id))
    session.commit()
    session.expire_all()
    assert session.get(Call, call.id) is not None
    assert session.get(Call, call.id).account_id is None  # type: ignore[union-attr]
