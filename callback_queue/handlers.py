"""AMI side of a callback attempt: events in, the attempt's outcome out. Pure: no I/O.

An attempt is one originated call: the operator's phone rings (AMI Originate, Async); once
the operator answers, the dialplan ([callback-bridge] in dialplans/extensions_callbacks.conf.j2)
records, plays the disclosure and rings the customer, reporting each stage with
``UserEvent(HotlineCallback, Order, Stage[, DialStatus])``. Every event of the attempt
carries its Linkedid: the operator channel's Uniqueid, which the dialer chooses itself
(Originate ``ChannelId``), so events are matched to attempts without guessing.

Rules the :class:`Attempt` keeps:
- Originate failed (the operator did not answer, was busy or unreachable): OPERATOR_UNREACHED.
- The customer answered (Stage customer_answered, or a final DIALSTATUS of ANSWER): CONNECTED.
- The dial ended with NOANSWER, BUSY, CONGESTION or CHANUNAVAIL: NOT_ANSWERED (an attempt).
- The operator's side ended before the customer answered (CANCEL, no dial at all, or the
  channel gone without a final stage): OPERATOR_LEFT (no attempt is counted).
- The first decisive outcome is final; later events only tell when the call is over.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ATTEMPT_EVENTS",
    "Attempt",
    "AttemptEvent",
    "ChannelGone",
    "OriginateResult",
    "Outcome",
    "Stage",
    "StageReached",
    "parse_event",
]

# AMI events the dialer listens to (all are in the PBX's AMI event filter).
ATTEMPT_EVENTS = ("OriginateResponse", "UserEvent", "Hangup")

CUSTOMER_NOT_REACHED = frozenset({"NOANSWER", "BUSY", "CONGESTION", "CHANUNAVAIL"})


class Message(Protocol):
    @property
    def name(self) -> str: ...  # noqa: E704

    def get(self, key: str, default: Any = None) -> Any: ...  # noqa: E704


class Stage(enum.StrEnum):
    OPERATOR_ANSWERED = "operator_answered"
    CUSTOMER_ANSWERED = "customer_answered"
    CUSTOMER_DISCLOSED = "customer_disclosed"
    DONE = "done"  # Dial returned on the operator's channel
    HANGUP = "hangup"  # the operator's channel hung up (its hangup handler)


class Outcome(enum.StrEnum):
    CONNECTED = "connected"  # the customer answered: the order is done
    NOT_ANSWERED = "not_answered"  # the customer was rung and did not answer
    OPERATOR_UNREACHED = "operator_unreached"  # this operator did not take the call
    OPERATOR_LEFT = "operator_left"  # the operator's side ended before the customer answered


@dataclass(frozen=True)
class OriginateResult:
    channel_id: str  # the Uniqueid we asked for ("" when Asterisk made no channel)
    action_id: str
    ok: bool
    reason: str  # Asterisk's originate reason code: 4 answered, 3 no answer, 5 busy, 8 congestion


@dataclass(frozen=True)
class StageReached:
    linkedid: str
    order_id: int
    stage: Stage
    dial_status: str


@dataclass(frozen=True)
class ChannelGone:
    """The operator's channel hung up (or, after a reconnect, is found to be gone)."""

    linkedid: str


AttemptEvent = OriginateResult | StageReached | ChannelGone


def parse_event(m: Message) -> AttemptEvent | None:
    """The attempt event in an AMI message, or None if it is not one."""
    if m.name == "OriginateResponse":
        uniqueid = m.get("Uniqueid") or ""
        return OriginateResult(
            channel_id="" if uniqueid == "<null>" else uniqueid,
            action_id=m.get("ActionID") or "",
            ok=(m.get("Response") or "").lower() == "success",
            reason=m.get("Reason") or "",
        )
    if m.name == "UserEvent" and m.get("UserEvent") == "HotlineCallback":
        try:
            order_id = int(m.get("Order") or "")
            stage = Stage(m.get("Stage") or "")
        except ValueError:
            return None
        return StageReached(
            linkedid=m.get("Linkedid") or "",
            order_id=order_id,
            stage=stage,
            dial_status=(m.get("DialStatus") or "").strip().upper(),
        )
    if m.name == "Hangup":
        uniqueid = m.get("Uniqueid") or ""
        if uniqueid and uniqueid == m.get("Linkedid"):  # the operator's channel itself
            return ChannelGone(uniqueid)
    return None


_ORIGINATE_REASONS = {
    "0": "вызов не состоялся",
    "1": "оператор отклонил вызов",
    "3": "оператор не ответил",
    "5": "телефон оператора занят",
    "8": "телефон оператора недоступен",
}


class Attempt:
    """One originated call for one order, as a small state machine.

    ``on(event)`` returns the attempt's outcome the first time it is known, else None;
    ``over`` tells when nothing more will happen on the PBX.
    """

    def __init__(self, order_id: int, channel_id: str) -> None:
        self.order_id = order_id
        self.channel_id = channel_id
        self.state = "originating"  # -> operator -> customer -> over
        self.outcome: Outcome | None = None
        self.dial_status = ""
        self.detail = ""
        self.over = False

    def _decide(self, outcome: Outcome, detail: str = "") -> Outcome | None:
        if self.outcome is not None:
            return None
        self.outcome = outcome
        self.detail = detail
        return outcome

    def on(self, event: AttemptEvent) -> Outcome | None:
        if isinstance(event, OriginateResult):
            if event.ok:
                if self.state == "originating":
                    self.state = "operator"
                return None
            self.over = True
            return self._decide(
                Outcome.OPERATOR_UNREACHED, _ORIGINATE_REASONS.get(event.reason, "вызов не состоялся")
            )
        if isinstance(event, StageReached):
            if event.linkedid != self.channel_id:
                return None
            if event.stage == Stage.OPERATOR_ANSWERED:
                if self.state == "originating":
                    self.state = "operator"
                return None
            if event.stage in (Stage.CUSTOMER_ANSWERED, Stage.CUSTOMER_DISCLOSED):
                self.state = "customer"
                return self._decide(Outcome.CONNECTED)
            # done / hangup: the dial is over, and with it the attempt's chance to change
            self.dial_status = event.dial_status or self.dial_status
            if event.stage == Stage.HANGUP:
                self.over = True
            return self._final(event.dial_status)
        if isinstance(event, ChannelGone):
            if event.linkedid != self.channel_id:
                return None
            self.over = True
            if self.state == "originating":
                return None  # the OriginateResponse (a failure) follows
            return self._final(self.dial_status)
        return None

    def _final(self, dial_status: str) -> Outcome | None:
        if self.state == "customer" or dial_status == "ANSWER":
            self.state = "customer"
            return self._decide(Outcome.CONNECTED)
        if dial_status in CUSTOMER_NOT_REACHED:
            return self._decide(Outcome.NOT_ANSWERED, dial_status)
        return self._decide(Outcome.OPERATOR_LEFT, "оператор завершил вызов до ответа клиента")
