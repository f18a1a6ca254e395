"""Call records in the database: the registry's effects applied, one transaction per batch.

Synchronous SQLAlchemy, called from the controller's single writer thread, so records are
written in the order the events happened and the AMI reader never waits for the database.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import find_by_phone
from calls.models import Call, CallDirection, CallEvent, CallOutcome
from calls.registry import (
    CallAnswered,
    CallDisclosed,
    CallEnded,
    CallNoted,
    CallRecording,
    CallStarted,
    Effect,
)
from base.privacy import mask_phone

log = logging.getLogger("calls")


class CallStore:
    def __init__(self, sessions: sessionmaker[Session], pbx_node: str) -> None:
        self.sessions = sessions
        self.pbx_node = pbx_node

    def open_calls(self) -> list[tuple[str, datetime, bool]]:
        """Calls of this PBX node with no end yet: (linkedid, started_at, answered)."""
        with self.sessions() as s:
            rows = s.execute(
                select(Call.linkedid, Call.started_at, Call.answered_at).where(
                    Call.ended_at.is_(None), Call.pbx_node == self.pbx_node
                )
            ).all()
        return [(r.linkedid, r.started_at, r.answered_at is not None) for r in rows]

    def apply(self, effects: Sequence[Effect]) -> None:
        with self.sessions.begin() as s:
            cache: dict[str, Call | None] = {}
            for effect in effects:
                self._apply_one(s, effect, cache)

    def _call(self, s: Session, linkedid: str, cache: dict[str, Call | None]) -> Call | None:
        if linkedid not in cache:
            cache[linkedid] = s.scalar(select(Call).where(Call.linkedid == linkedid))
        return cache[linkedid]

    def _apply_one(self, s: Session, e: Effect, cache: dict[str, Call | None]) -> None:
        if isinstance(e, CallStarted):
            if self._call(s, e.linkedid, cache) is not None:
                return  # adopted again after a reconnect: already recorded
            call = Call(
                linkedid=e.linkedid,
                uniqueid=e.uniqueid,
                pbx_node=self.pbx_node,
                direction=CallDirection(e.direction),
                channel=e.channel,
                caller_number=e.caller_number,
                caller_name=e.caller_name,
                called_number=e.called_number,
                started_at=e.at,
            )
            call.events.append(CallEvent(at=e.at, kind="started", data={"channel": e.channel}))
            if e.direction == "inbound" and e.caller_number:
                # A known number links the call to its account; several accounts on one
                # number are left for the flow to ask which one.
                accounts = find_by_phone(s, e.caller_number)
                if len(accounts) == 1:
                    call.account_id = accounts[0].id
            s.add(call)
            cache[e.linkedid] = call
            log.info("call %s started: %s from %s to %s", e.linkedid, e.direction,
                     mask_phone(e.caller_number), e.called_number)
            return
        call = self._call(s, e.linkedid, cache)
        if call is None:
            log.warning("event for an unknown call %s: %s", e.linkedid, type(e).__name__)
            return
        if isinstance(e, CallAnswered):
            call.answered_at = call.answered_at or e.at
            call.events.append(CallEvent(at=e.at, kind="answered", data={}))
        elif isinstance(e, CallRecording):
            call.recording_path = e.path
            call.events.append(CallEvent(at=e.at, kind="recording", data={"path": e.path}))
        elif isinstance(e, CallDisclosed):
            call.disclosure_at = call.disclosure_at or e.at
            call.events.append(CallEvent(at=e.at, kind="disclosure", data={}))
        elif isinstance(e, CallNoted):
            call.events.append(CallEvent(at=e.at, kind=e.kind, data=e.data))
        elif isinstance(e, CallEnded):
            if call.ended_at is not None:
                return
            call.ended_at = e.at
            call.outcome = CallOutcome(e.outcome)
            call.hangup_cause = e.cause
            call.hangup_cause_text = e.cause_text
            kind = "interrupted" if e.outcome == "interrupted" else "hangup"
            call.events.append(
                CallEvent(at=e.at, kind=kind, data={"outcome": e.outcome, "cause": e.cause, "text": e.cause_text})
            )
            log.info("call %s ended: %s (cause %s)", e.linkedid, e.outcome, e.cause)

    def add_event(self, linkedid: str, kind: str, data: dict, at: datetime) -> bool:  # type: ignore[type-arg]
        """A flow's own event for a call (menu choice, digits, prompt), kept in its trail."""
        with self.sessions.begin() as s:
            call_id = s.scalar(select(Call.id).where(Call.linkedid == linkedid))
            if call_id is None:
                return False
            s.add(CallEvent(call_id=call_id, at=at, kind=kind, data=data))
            return True
