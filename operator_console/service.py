"""The console's queries and their presentation, without I/O of its own (a session is passed in).

Display rules live here so the page and the API show a call the same way: local time of the
retailer's region, masked numbers (152-FZ), Russian outcome names.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from calls.models import Call, CallDirection, CallOutcome
from base.privacy import mask_phone
from operator_console.schemas import CallSummary

__all__ = [
    "DIRECTION_TEXT",
    "OUTCOME_TEXT",
    "database_status",
    "describe_error",
    "format_duration",
    "latest_calls",
    "summarize",
]

OUTCOME_TEXT: dict[CallOutcome, str] = {
    CallOutcome.COMPLETED: "состоялся",
    CallOutcome.UNANSWERED: "без ответа",
    CallOutcome.BUSY: "занято",
    CallOutcome.FAILED: "не удалось соединить",
    CallOutcome.INTERRUPTED: "прерван сбоем",
    CallOutcome.ABANDONED: "сброшен в очереди",
}
IN_PROGRESS_TEXT = "идёт разговор"
NO_OUTCOME_TEXT = "—"

DIRECTION_TEXT: dict[CallDirection, str] = {
    CallDirection.INBOUND: "входящий",
    CallDirection.OUTBOUND: "исходящий",
    CallDirection.INTERNAL: "внутренний",
}

MAX_ERROR_TEXT = 200


def latest_calls(session: Session, limit: int, now: datetime, tz: tzinfo) -> list[CallSummary]:
    """The ``limit`` most recently started calls, newest first."""
    rows = session.scalars(select(Call).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit))
    return [summarize(call, now, tz) for call in rows]


def summarize(call: Call, now: datetime, tz: tzinfo) -> CallSummary:
    in_progress = call.ended_at is None
    seconds = max(0, int(((call.ended_at or now) - call.started_at).total_seconds()))
    if call.outcome is not None:
        outcome_text = OUTCOME_TEXT[call.outcome]
    else:
        outcome_text = IN_PROGRESS_TEXT if in_progress else NO_OUTCOME_TEXT
    # On an outbound call the customer is the called party.
    called = call.called_number
    if call.direction == CallDirection.OUTBOUND:
        called = mask_phone(called)
    return CallSummary(
        id=call.id,
        started_at=call.started_at,
        started_at_text=call.started_at.astimezone(tz).strftime("%d.%m.%Y %H:%M:%S"),
        direction=call.direction.value,
        direction_text=DIRECTION_TEXT[call.direction],
        caller=mask_phone(call.caller_number),
        called=called,
        outcome=call.outcome.value if call.outcome is not None else None,
        outcome_text=outcome_text,
        in_progress=in_progress,
        duration_seconds=seconds,
        duration_text=format_duration(seconds),
        has_recording=bool(call.recording_path),
    )


def format_duration(seconds: int) -> str:
    """``75`` -> ``1:15``; ``3725`` -> ``1:02:05``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def database_status(session: Session) -> str:
    """``"ok"`` if the database answers ``SELECT 1``, else ``"error: ..."``."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return f"error: {describe_error(error)}"
    return "ok"


def describe_error(error: SQLAlchemyError) -> str:
    """A short, password-free description: the driver's error class and first line."""
    original = getattr(error, "orig", None) or error
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:MAX_ERROR_TEXT]
