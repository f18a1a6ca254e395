"""The live view of calls, built from AMI events. Pure: events in, effects out, no I/O.

Rules it keeps:
- A call is everything sharing one Asterisk Linkedid; its first channel (Uniqueid ==
  Linkedid) is the party who started it and names its direction, caller and number dialled.
- A call is answered when its first channel goes Up, and ends when its last channel hangs up.
- The dialplan reports the recording file and the disclosure with UserEvents
  (HotlineRecording, HotlineDisclosure); both become effects for the call record.
- After the AMI connection is re-established, `resync` compares the calls it knows with the
  channels Asterisk still has: calls with no channel left are closed (as `interrupted` when
  the PBX restarted meanwhile), and channels it did not know are adopted, so no call is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

# Hangup causes (Q.850) that say why an unanswered call ended.
CAUSE_BUSY = 17
CAUSES_NO_ANSWER = {18, 19, 21, 16}
CHANNEL_STATE_UP = "6"

INBOUND_CONTEXTS = {"from-trunk"}
OUTBOUND_ID_MARK = "-cb"
OUTBOUND_CONTEXT_PREFIXES = ("outbound", "originate", "callback", "campaign")


class Message(Protocol):
    name: str

    def get(self, key: str, default: Any = None) -> Any: ...  # noqa: E704


# ---- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallStarted:
    linkedid: str
    uniqueid: str
    channel: str
    direction: str
    caller_number: str
    caller_name: str | None
    called_number: str
    at: datetime


@dataclass(frozen=True)
class CallAnswered:
    linkedid: str
    at: datetime


@dataclass(frozen=True)
class CallRecording:
    linkedid: str
    path: str
    at: datetime


@dataclass(frozen=True)
class CallDisclosed:
    linkedid: str
    at: datetime


@dataclass(frozen=True)
class CallNoted:
    """Something worth keeping in the call's event trail (flow unavailable, a leg dialled...)."""

    linkedid: str
    kind: str
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True)
class CallEnded:
    linkedid: str
    at: datetime
    outcome: str
    cause: int | None
    cause_text: str | None


@dataclass(frozen=True)
class CallImported:
    """A call as the PBX's own account (CEL, calls/cel.py) tells it. Merged into the record:
    it creates a call the controller never saw and fills in what a known call lacks."""

    linkedid: str
    uniqueid: str
    channel: str
    direction: str
    caller_number: str
    caller_name: str | None
    called_number: str
    started_at: datetime
    answered_at: datetime | None
    recording_path: str | None
    recording_at: datetime | None
    disclosure_at: datetime | None
    ended_at: datetime | None  # None: still live when read
    outcome: str | None
    cause: int | None
    cause_text: str | None


Effect = CallStarted | CallAnswered | CallRecording | CallDisclosed | CallNoted | CallEnded | CallImported

# The text of an end the controller could only estimate (it was away when the call ended).
DISCONNECTED_TEXT = "ended while the controller was disconnected"


# ---- state --------------------------------------------------------------------------------


@dataclass
class LiveCall:
    linkedid: str
    started_at: datetime
    answered: bool = False
    channels: set[str] = field(default_factory=set)  # uniqueids still up
    first_uniqueid: str = ""
    cause: int | None = None
    cause_text: str | None = None


@dataclass(frozen=True)
class LiveChannel:
    """One row of CoreShowChannels."""

    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str
    caller_name: str | None
    exten: str
    context: str
    state: str
    seconds: int

    @classmethod
    def from_message(cls, m: Message) -> "LiveChannel":
        duration = m.get("Duration", "0") or "0"
        try:
            h, mi, s = (int(x) for x in duration.split(":"))
            seconds = h * 3600 + mi * 60 + s
        except ValueError:
            seconds = 0
        return cls(
            uniqueid=m.get("Uniqueid", ""),
            linkedid=m.get("Linkedid", "") or m.get("Uniqueid", ""),
            channel=m.get("Channel", ""),
            caller_number=m.get("CallerIDNum", "") or "",
            caller_name=_name(m.get("CallerIDName")),
            exten=m.get("Exten", "") or "",
            context=m.get("Context", "") or "",
            state=m.get("ChannelState", "") or "",
            seconds=seconds,
        )


def _name(value: str | None) -> str | None:
    return None if value in (None, "", "<unknown>") else value


def _number(value: str | None) -> str:
    return "" if value in (None, "<unknown>") else value


def event_time(m: Message, default: datetime) -> datetime:
    """When the PBX says the event happened (manager.conf timestampevents), else `default`.

    Events reach the controller later than they happen, and flows talk to it over another
    socket: the PBX's own time keeps a call's trail in the order the caller lived it.
    """
    stamp = m.get("Timestamp")
    if not stamp:
        return default
    try:
        return datetime.fromtimestamp(float(stamp), tz=default.tzinfo or UTC)
    except (ValueError, OverflowError, OSError):
        return default


def direction_of(context: str, uniqueid: str = "") -> str:
    """Inbound from the network's context; outbound when we originated it (callbacks name their
    channels `<node>-cb<order>-...`, campaigns will do the same); else internal."""
    if OUTBOUND_ID_MARK in uniqueid:
        return "outbound"
    if context in INBOUND_CONTEXTS:
        return "inbound"
    if context.startswith(OUTBOUND_CONTEXT_PREFIXES):
        return "outbound"
    return "internal"


def outcome_of(answered: bool, cause: int | None) -> str:
    if answered:
        return "completed"
    if cause == CAUSE_BUSY:
        return "busy"
    if cause in CAUSES_NO_ANSWER or cause is None:
        return "unanswered"
    return "failed"


class CallRegistry:
    def __init__(self) -> None:
        self.calls: dict[str, LiveCall] = {}
        self._channel_call: dict[str, str] = {}  # uniqueid -> linkedid

    # -- restoring from the database after a controller restart ---------------------------

    def restore(self, linkedid: str, started_at: datetime, answered: bool) -> None:
        """Know an open call from the database; its channels are filled in by `resync`."""
        self.calls.setdefault(linkedid, LiveCall(linkedid, started_at, answered, first_uniqueid=linkedid))

    # -- AMI events --------------------------------------------------------------------------

    def handle(self, m: Message, now: datetime) -> list[Effect]:
        """Effects of one AMI event. `now` is used only when the event has no PBX Timestamp."""
        now = event_time(m, now)
        name = m.name
        if name == "Newchannel":
            return self._newchannel(m, now)
        if name == "Newstate":
            return self._newstate(m, now)
        if name == "Hangup":
            return self._hangup(m, now)
        if name == "UserEvent":
            return self._userevent(m, now)
        if name in ("DialBegin", "DialEnd"):
            linkedid = self._channel_call.get(m.get("Uniqueid", ""))
            if linkedid:
                data = {"dest": m.get("DestChannel"), "status": m.get("DialStatus")}
                return [CallNoted(linkedid, name.lower(), {k: v for k, v in data.items() if v}, now)]
        return []

    def _newchannel(self, m: Message, now: datetime) -> list[Effect]:
        uniqueid = m.get("Uniqueid", "")
        linkedid = m.get("Linkedid", "") or uniqueid
        if not uniqueid:
            return []
        self._channel_call[uniqueid] = linkedid
        call = self.calls.get(linkedid)
        if call is not None:
            call.channels.add(uniqueid)
            return []
        call = LiveCall(linkedid, now, channels={uniqueid}, first_uniqueid=uniqueid)
        self.calls[linkedid] = call
        return [
            CallStarted(
                linkedid=linkedid,
                uniqueid=uniqueid,
                channel=m.get("Channel", ""),
                direction=direction_of(m.get("Context", "") or "", uniqueid),
                caller_number=_number(m.get("CallerIDNum")),
                caller_name=_name(m.get("CallerIDName")),
                called_number=m.get("Exten", "") or "",
                at=now,
            )
        ]

    def _newstate(self, m: Message, now: datetime) -> list[Effect]:
        uniqueid = m.get("Uniqueid", "")
        linkedid = self._channel_call.get(uniqueid)
        call = self.calls.get(linkedid) if linkedid else None
        if call is None or call.answered or uniqueid != call.first_uniqueid:
            return []
        if m.get("ChannelState") != CHANNEL_STATE_UP:
            return []
        call.answered = True
        return [CallAnswered(call.linkedid, now)]

    def _userevent(self, m: Message, now: datetime) -> list[Effect]:
        linkedid = m.get("Linkedid") or self._channel_call.get(m.get("Uniqueid", ""), "")
        if linkedid not in self.calls:
            return []
        kind = m.get("UserEvent", "")
        if kind == "HotlineRecording" and m.get("File"):
            return [CallRecording(linkedid, m.get("File"), now)]
        if kind == "HotlineDisclosure":
            return [CallDisclosed(linkedid, now)]
        if kind == "HotlineFlowUnavailable":
            return [CallNoted(linkedid, "flow_unavailable", {"status": m.get("Status")}, now)]
        return []

    def _hangup(self, m: Message, now: datetime) -> list[Effect]:
        uniqueid = m.get("Uniqueid", "")
        linkedid = self._channel_call.pop(uniqueid, None)
        call = self.calls.get(linkedid) if linkedid else None
        if call is None:
            return []
        call.channels.discard(uniqueid)
        if uniqueid == call.first_uniqueid:
            try:
                call.cause = int(m.get("Cause", ""))
            except ValueError:
                call.cause = None
            call.cause_text = m.get("Cause-txt")
        if call.channels:
            return []
        del self.calls[call.linkedid]
        return [CallEnded(call.linkedid, now, outcome_of(call.answered, call.cause), call.cause, call.cause_text)]

    # -- after a reconnect -------------------------------------------------------------------

    def resync(
        self,
        live: list[LiveChannel],
        now: datetime,
        pbx_started_at: datetime | None,
        lost_at: datetime | None = None,
    ) -> list[Effect]:
        """Reconcile with Asterisk's channels after (re)connecting; see the module rules."""
        effects: list[Effect] = []
        by_call: dict[str, list[LiveChannel]] = {}
        for ch in live:
            by_call.setdefault(ch.linkedid, []).append(ch)
        # The PBX's start is known to the second: it restarted during our outage if it
        # started after (about) the moment the connection was lost.
        restarted_while_away = (
            pbx_started_at is not None and lost_at is not None and pbx_started_at >= lost_at - timedelta(seconds=1)
        )
        for linkedid in list(self.calls):
            if linkedid in by_call:
                continue
            call = self.calls.pop(linkedid)
            for uid in call.channels:
                self._channel_call.pop(uid, None)
            if restarted_while_away or (pbx_started_at is not None and call.started_at < pbx_started_at):
                # The PBX started after this call began: it went down with the call on it.
                ended = min(lost_at or pbx_started_at, pbx_started_at)
                effects.append(CallEnded(linkedid, ended, "interrupted", None, "PBX restarted during the call"))
            else:
                effects.append(
                    CallEnded(linkedid, lost_at or now, outcome_of(call.answered, call.cause), call.cause,
                              DISCONNECTED_TEXT)
                )
        for linkedid, channels in by_call.items():
            call = self.calls.get(linkedid)
            first = next((c for c in channels if c.uniqueid == linkedid), channels[0])
            if call is None:
                started = now - timedelta(seconds=max(c.seconds for c in channels))
                call = LiveCall(linkedid, started, first_uniqueid=first.uniqueid)
                self.calls[linkedid] = call
                effects.append(
                    CallStarted(linkedid, first.uniqueid, first.channel, direction_of(first.context, first.uniqueid),
                                first.caller_number, first.caller_name, first.exten, started)
                )
            call.channels = {c.uniqueid for c in channels}
            for c in channels:
                self._channel_call[c.uniqueid] = linkedid
            if not call.answered and first.state == CHANNEL_STATE_UP:
                call.answered = True
                effects.append(CallAnswered(linkedid, now))
        return effects
