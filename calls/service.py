"""Call records in the database: the registry's effects applied, one transaction per batch.

Synchronous SQLAlchemy, called from the controller's single writer thread, so records are
written in the order the events happened and the AMI reader never waits for the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from accounts.service import find_by_phone
from base.privacy import mask_phone
from calls.cel import CelImport, parse, summarise
from calls.models import Call, CallDirection, CallEvent, CallOutcome, CelImportMark
from calls.registry import (
    DISCONNECTED_TEXT,
    CallAnswered,
    CallDisclosed,
    CallEnded,
    CallImported,
    CallNoted,
    CallRecording,
    CallStarted,
    Effect,
)

log = logging.getLogger("calls")

# Reads the CEL file from a position: (the bytes from there, the file's id), or (b"", "")
# when there is no file yet. The file's id changes when the file is replaced (rotated).
CelReader = Callable[[int, str], tuple[bytes, str, int]]


def fit(column: Any, value: str | None) -> str | None:
    """`value` cut to the column's length: one overlong CallerID must not fail a whole batch."""
    if value is None:
        return None
    length = column.type.length if isinstance(column.type, String) else None
    return value[:length] if length and len(value) > length else value


def _fits(call: Call) -> None:
    for name in ("linkedid", "uniqueid", "pbx_node", "channel", "caller_number", "caller_name",
                 "called_number", "hangup_cause_text", "recording_path"):
        setattr(call, name, fit(Call.__table__.c[name], getattr(call, name)))


@dataclass(frozen=True)
class ImportResult:
    created: int  # calls the controller never saw
    completed: int  # known calls given what they lacked (end, answer, recording, disclosure)
    unchanged: int
    waiting: int  # left for the next import (still live, or just ended)
    bad_lines: int
    read_bytes: int
    refused: int = 0  # calls the database refused for good (a careful import leaves them out)


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

    def _new_call(self, s: Session, e: CallStarted | CallImported, cache: dict[str, Call | None]) -> Call:
        at = e.at if isinstance(e, CallStarted) else e.started_at
        call = Call(
            linkedid=e.linkedid,
            uniqueid=e.uniqueid,
            pbx_node=self.pbx_node,
            direction=CallDirection(e.direction),
            channel=e.channel,
            caller_number=e.caller_number,
            caller_name=e.caller_name,
            called_number=e.called_number,
            started_at=at,
        )
        _fits(call)
        data = {"channel": call.channel}
        if isinstance(e, CallImported):
            data["source"] = "cel"  # the PBX's own account: the controller did not see it
        call.events.append(CallEvent(at=at, kind="started", data=data))
        if e.direction == "inbound" and e.caller_number:
            # A known number links the call to its account; several accounts on one
            # number are left for the flow to ask which one.
            accounts = find_by_phone(s, call.caller_number)
            if len(accounts) == 1:
                call.account_id = accounts[0].id
        s.add(call)
        cache[e.linkedid] = call
        log.info("call %s started: %s from %s to %s", e.linkedid, e.direction,
                 mask_phone(e.caller_number), e.called_number)
        return call

    def _apply_one(self, s: Session, e: Effect, cache: dict[str, Call | None]) -> None:
        if isinstance(e, CallStarted):
            if self._call(s, e.linkedid, cache) is not None:
                return  # adopted again after a reconnect: already recorded
            self._new_call(s, e, cache)
            return
        if isinstance(e, CallImported):
            self._merge(s, e, cache)
            return
        call = self._call(s, e.linkedid, cache)
        if call is None:
            log.warning("event for an unknown call %s: %s", e.linkedid, type(e).__name__)
            return
        if isinstance(e, CallAnswered):
            call.answered_at = call.answered_at or e.at
            call.events.append(CallEvent(at=e.at, kind="answered", data={}))
        elif isinstance(e, CallRecording):
            call.recording_path = fit(Call.__table__.c.recording_path, e.path)
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
            call.hangup_cause_text = fit(Call.__table__.c.hangup_cause_text, e.cause_text)
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
            s.add(CallEvent(call_id=call_id, at=at, kind=fit(CallEvent.__table__.c.kind, kind), data=data))
            return True

    # -- the PBX's own account (CEL) ---------------------------------------------------------

    def _merge(self, s: Session, e: CallImported, cache: dict[str, Call | None]) -> str:
        """Create the call, or give a known one what it lacks: 'created', 'completed', 'unchanged'."""
        call = self._call(s, e.linkedid, cache)
        created = call is None
        if call is None:
            call = self._new_call(s, e, cache)
        changed = False
        source = {"source": "cel"}
        if call.answered_at is None and e.answered_at is not None:
            call.answered_at = e.answered_at
            call.events.append(CallEvent(at=e.answered_at, kind="answered", data=source))
            changed = True
        if call.recording_path is None and e.recording_path:
            call.recording_path = fit(Call.__table__.c.recording_path, e.recording_path)
            at = e.recording_at or e.started_at
            call.events.append(CallEvent(at=at, kind="recording", data={"path": call.recording_path, **source}))
            changed = True
        if call.disclosure_at is None and e.disclosure_at is not None:
            call.disclosure_at = e.disclosure_at
            call.events.append(CallEvent(at=e.disclosure_at, kind="disclosure", data=source))
            changed = True
        estimated = call.ended_at is not None and call.hangup_cause_text == DISCONNECTED_TEXT
        if e.ended_at is not None and e.outcome is not None and (call.ended_at is None or estimated):
            # The PBX's own time and cause replace the controller's estimate.
            call.ended_at = e.ended_at
            call.outcome = CallOutcome(e.outcome)
            call.hangup_cause = e.cause
            call.hangup_cause_text = fit(Call.__table__.c.hangup_cause_text, e.cause_text)
            kind = "interrupted" if e.outcome == "interrupted" else "hangup"
            call.events.append(CallEvent(at=e.ended_at, kind=kind, data={
                "outcome": e.outcome, "cause": e.cause, "text": e.cause_text, **source}))
            changed = True
        if created:
            return "created"
        return "completed" if changed else "unchanged"

    def _known(self, s: Session, linkedids: list[str], chunk: int = 500) -> dict[str, Call | None]:
        """The calls already recorded among `linkedids` (None for the others), a few queries."""
        known: dict[str, Call | None] = dict.fromkeys(linkedids)
        for i in range(0, len(linkedids), chunk):
            for call in s.scalars(select(Call).where(Call.linkedid.in_(linkedids[i:i + chunk]))):
                known[call.linkedid] = call
        return known

    def import_cel(self, read: CelReader, live: Collection[str], pbx_started_at: datetime | None,
                   now: datetime | None = None, careful: bool = False) -> ImportResult:
        """Merge what the PBX's CEL file says after this node's mark, and move the mark; one
        transaction, so a failure leaves both as they were and the next import does it again.

        `careful`: each call in its own savepoint; a call the database refuses for good is
        logged and left out (counted as refused), so one bad call cannot block every import.
        """
        refused = 0
        with self.sessions.begin() as s:
            mark = s.get(CelImportMark, self.pbx_node)
            data, file_id, base = read(mark.position if mark else 0, mark.file_id if mark else "")
            if not file_id:
                return ImportResult(0, 0, 0, 0, 0, 0)
            events, end, bad = parse(data, base)
            found: CelImport = summarise(events, end, live, pbx_started_at, bad, now)
            counts = {"created": 0, "completed": 0, "unchanged": 0}
            cache = self._known(s, [c.linkedid for c in found.calls])
            if careful:
                for call in found.calls:
                    try:
                        with s.begin_nested():
                            counts[self._merge(s, call, cache)] += 1
                    except (DataError, IntegrityError):
                        refused += 1
                        cache.pop(call.linkedid, None)
                        log.exception("the database refused call %s from the PBX's records; left out",
                                      call.linkedid)
            else:
                with s.no_autoflush:  # one flush at the end, not one per account lookup
                    for call in found.calls:
                        counts[self._merge(s, call, cache)] += 1
            if mark is None:
                s.add(CelImportMark(pbx_node=self.pbx_node, file_id=file_id, position=found.mark))
            else:
                mark.file_id, mark.position = file_id, found.mark
        return ImportResult(counts["created"], counts["completed"], counts["unchanged"], found.waiting, bad,
                            len(data), refused)
