"""The PBX's own account of every call (CEL as JSON lines), parsed and summarised. Pure: no I/O.

Asterisk writes one line per Channel Event Logging event (dialplans/cel.conf.j2,
cel_custom.conf.j2) to a file in the instance folder, whether or not the controller or the
database is up. After every AMI login the controller reads the lines after its high-water
mark and turns them into `CallImported` effects, merged into the call records.

Rules it keeps:
- One line is one event. A last line without its newline is still being written: it is left
  for the next read. A line that is not a JSON object is skipped and counted.
- A call is every event sharing a Linkedid. Its first channel (Uniqueid == Linkedid, else the
  first CHAN_START) names the direction, caller and number dialled, as in the registry.
- Answered: an ANSWER of the first channel. Ended: LINKEDID_END (the last channel gone); the
  outcome comes from the first channel's HANGUP cause, as in the registry.
- The dialplan's CELGenUserEvent(HotlineRecording, <file>) and (HotlineDisclosure) give the
  recording path and the moment the disclosure was played. CEL's HANGUP has the cause when the
  PBX ended the call; when the far end did (a BYE) it says 0, "not defined": kept as unknown.
- A call without LINKEDID_END is still live (its Linkedid is among the PBX's channels: imported
  as started, ended later by AMI or the next import), or was cut by a PBX restart (the PBX
  started after its last event: `interrupted` at its last event), or else it may have ended a
  moment ago: left for the next read (closed as `interrupted` once nothing has come for it for
  an hour, so a lost end cannot hold the mark back for ever).
- The mark is the position of the first line of the earliest call left open (live or waiting),
  else the end of what was read; reading again from the mark changes nothing already merged.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from calls.registry import CallImported, direction_of, outcome_of

__all__ = ["CelEvent", "CelImport", "cause_text", "parse", "summarise"]

RECORDING_EVENT = "HotlineRecording"
DISCLOSURE_EVENT = "HotlineDisclosure"
INTERRUPTED_TEXT = "PBX restarted during the call"
LOST_END_TEXT = "the PBX lost the end of the call"
LOST_END_AFTER = timedelta(hours=1)

# Asterisk's texts of the Q.850 causes a call ends with (ast_cause2str), as AMI's Cause-txt.
CAUSE_TEXTS = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    3: "No route to destination",
    16: "Normal Clearing",
    17: "User busy",
    18: "No user responding",
    19: "User alerting, no answer",
    21: "Call Rejected",
    27: "Destination out of order",
    28: "Invalid number format (addr incomplete)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    41: "Temporary failure",
    42: "Switching equipment congestion",
    127: "Interworking, unspecified",
}


def cause_text(cause: int | None) -> str | None:
    return None if cause is None else CAUSE_TEXTS.get(cause, f"cause {cause}")


@dataclass(frozen=True)
class CelEvent:
    kind: str  # CHAN_START, ANSWER, HANGUP, CHAN_END, LINKEDID_END, or a user event's name
    at: datetime
    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str
    caller_name: str | None
    exten: str
    context: str
    user_defined: bool
    extra: dict[str, Any]
    offset: int  # where its line starts in the file


@dataclass(frozen=True)
class CelImport:
    calls: tuple[CallImported, ...]
    mark: int  # where the next read starts
    waiting: int  # calls left open for the next read (live or just ended)
    bad_lines: int


def _extra(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"extra": value}
        return parsed if isinstance(parsed, dict) else {"extra": value}
    return {"extra": value} if value else {}


def _text(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value)


def _event(doc: dict[str, Any], offset: int) -> CelEvent | None:
    uniqueid = _text(doc, "uniqueid")
    try:
        at = datetime.fromtimestamp(float(doc.get("eventtime", "")), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if not uniqueid:
        return None
    user_type = _text(doc, "userdeftype")
    name = _text(doc, "name")
    return CelEvent(
        kind=user_type or _text(doc, "eventtype"),
        at=at,
        uniqueid=uniqueid,
        linkedid=_text(doc, "linkedid") or uniqueid,
        channel=_text(doc, "channame"),
        caller_number="" if _text(doc, "num") == "<unknown>" else _text(doc, "num"),
        caller_name=None if name in ("", "<unknown>") else name,
        exten=_text(doc, "exten"),
        context=_text(doc, "context"),
        user_defined=bool(user_type),
        extra=_extra(doc.get("eventextra")),
        offset=offset,
    )


def parse(data: bytes, base: int = 0) -> tuple[list[CelEvent], int, int]:
    """Events of the complete lines in `data` (read from file position `base`).

    Returns the events, the file position after the last complete line, and how many
    complete lines were not CEL events.
    """
    events: list[CelEvent] = []
    bad = 0
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0:
            break
        line = data[pos:end].strip()
        if line:
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            event = _event(doc, base + pos) if isinstance(doc, dict) else None
            if event is None:
                bad += 1
            else:
                events.append(event)
        pos = end + 1
    return events, base + pos, bad


def _cause(event: CelEvent | None) -> int | None:
    """A Q.850 cause; 0 ("not defined", what CEL's HANGUP says after the far end's BYE) is unknown."""
    if event is None:
        return None
    try:
        cause = int(event.extra.get("hangupcause"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return cause or None


def _summary(events: list[CelEvent], live: Collection[str],
             pbx_started_at: datetime | None, now: datetime | None) -> CallImported | None:
    """One call's events (in file order) as one effect; None while it must wait."""
    linkedid = events[0].linkedid
    starts = [e for e in events if e.kind == "CHAN_START"]
    if not starts:
        return None  # its start is before what was read: nothing to say about it
    first = next((e for e in starts if e.uniqueid == linkedid), starts[0])

    def at(kind: str, uniqueid: str | None = None) -> CelEvent | None:
        return next((e for e in events if e.kind == kind and (uniqueid is None or e.uniqueid == uniqueid)), None)

    answer = at("ANSWER", first.uniqueid)
    recording = next((e for e in events if e.user_defined and e.kind == RECORDING_EVENT and e.extra.get("extra")),
                     None)
    disclosure = next((e for e in events if e.user_defined and e.kind == DISCLOSURE_EVENT), None)
    end = at("LINKEDID_END")
    cause = _cause(at("HANGUP", first.uniqueid))
    ended_at: datetime | None = None
    outcome: str | None = None
    text: str | None = None
    if end is not None:
        ended_at, outcome, text = end.at, outcome_of(answer is not None, cause), cause_text(cause)
    elif linkedid in live:
        pass  # still up: imported as started, its end comes later
    elif pbx_started_at is not None and pbx_started_at > events[-1].at:
        ended_at, outcome, text, cause = events[-1].at, "interrupted", INTERRUPTED_TEXT, None
    elif now is not None and now - events[-1].at > LOST_END_AFTER:
        # No channel, and nothing written for it for so long: its end was lost (a crash of the
        # PBX whose start could not be read). Closed, so the mark does not stay behind it.
        ended_at, outcome, text, cause = events[-1].at, "interrupted", LOST_END_TEXT, None
    else:
        return None  # ended a moment ago, or its end is not written yet: the next read
    return CallImported(
        linkedid=linkedid,
        uniqueid=first.uniqueid,
        channel=first.channel,
        direction=direction_of(first.context, first.uniqueid),
        caller_number=first.caller_number,
        caller_name=first.caller_name,
        called_number=first.exten,
        started_at=first.at,
        answered_at=answer.at if answer else None,
        recording_path=str(recording.extra["extra"]) if recording else None,
        recording_at=recording.at if recording else None,
        disclosure_at=disclosure.at if disclosure else None,
        ended_at=ended_at,
        outcome=outcome,
        cause=cause,
        cause_text=text,
    )


def summarise(events: Sequence[CelEvent], end: int, live: Collection[str],
              pbx_started_at: datetime | None, bad_lines: int = 0, now: datetime | None = None) -> CelImport:
    """The calls told by `events` (read up to file position `end`), and the next mark.

    `live`: the Linkedids of the PBX's channels now; `pbx_started_at`: when the PBX started;
    `now`: the real time, to close a call whose end was lost (see LOST_END_AFTER).
    """
    by_call: dict[str, list[CelEvent]] = {}
    for event in events:
        by_call.setdefault(event.linkedid, []).append(event)
    calls: list[CallImported] = []
    mark = end
    waiting = 0
    for group in by_call.values():
        summary = _summary(group, live, pbx_started_at, now)
        if summary is not None:
            calls.append(summary)
        if summary is None or summary.ended_at is None:
            if summary is None and not any(e.kind == "CHAN_START" for e in group):
                continue  # a stray tail: nothing to wait for
            waiting += 1
            mark = min(mark, group[0].offset)
    return CelImport(tuple(calls), mark, waiting, bad_lines)
