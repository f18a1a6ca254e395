"""A callback attempt fed AMI events recorded from the real Asterisk (pure: no sockets).

The transcripts in ``transcripts/`` are the events of one attempt each, as Asterisk 22 sent
them for [callback-bridge] with sipp phones: the operator and the customer answering, the
customer not answering or busy, the operator busy or not answering.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callback_queue.handlers import (
    Attempt,
    ChannelGone,
    OriginateResult,
    Outcome,
    Stage,
    StageReached,
    parse_event,
)
from telephony.ami import AmiMessage, AmiParser

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def transcript(name: str) -> list[AmiMessage]:
    return AmiParser().feed((TRANSCRIPTS / f"{name}.ami").read_bytes())


def replay(name: str) -> tuple[Attempt, list[Outcome]]:
    messages = transcript(name)
    channel_id = next(m.get("Uniqueid") for m in messages if m.name == "Newchannel")
    assert channel_id is not None
    order_id = int(channel_id.split("-cb")[1].split("-")[0])
    attempt = Attempt(order_id, channel_id)
    outcomes = []
    for message in messages:
        event = parse_event(message)
        if event is not None:
            outcome = attempt.on(event)
            if outcome is not None:
                outcomes.append(outcome)
    return attempt, outcomes


@pytest.mark.parametrize(
    ("name", "outcome", "detail"),
    [
        ("connected", Outcome.CONNECTED, ""),
        ("customer_no_answer", Outcome.NOT_ANSWERED, "NOANSWER"),
        ("customer_busy", Outcome.NOT_ANSWERED, "BUSY"),
        ("operator_busy", Outcome.OPERATOR_UNREACHED, "вызов не состоялся"),
        ("operator_no_answer", Outcome.OPERATOR_UNREACHED, "оператор не ответил"),
    ],
)
def test_recorded_attempts_decide_once_and_end(name: str, outcome: Outcome, detail: str) -> None:
    attempt, outcomes = replay(name)
    assert outcomes == [outcome]  # decided exactly once, whatever follows
    assert attempt.detail == detail
    assert attempt.over  # the transcript runs to the operator's hangup


def test_connected_is_decided_when_the_customer_answers() -> None:
    messages = transcript("connected")
    channel_id = next(m.get("Uniqueid") for m in messages if m.name == "Newchannel") or ""
    attempt = Attempt(1, channel_id)
    for message in messages:
        event = parse_event(message)
        if event is None:
            continue
        if attempt.on(event) is not None:
            assert isinstance(event, StageReached) and event.stage == Stage.CUSTOMER_ANSWERED
            assert not attempt.over  # the conversation is still to come
            break
    else:
        pytest.fail("no outcome")


def test_parse_event_reads_stages_originate_results_and_hangups() -> None:
    events = [parse_event(m) for m in transcript("connected")]
    stages = [e.stage for e in events if isinstance(e, StageReached)]
    assert stages == [Stage.OPERATOR_ANSWERED, Stage.CUSTOMER_ANSWERED, Stage.CUSTOMER_DISCLOSED,
                      Stage.HANGUP]
    results = [e for e in events if isinstance(e, OriginateResult)]
    assert len(results) == 1 and results[0].ok and results[0].reason == "4"
    gone = [e for e in events if isinstance(e, ChannelGone)]
    assert len(gone) == 1  # the operator's channel only, not the customer's


def test_events_of_other_calls_are_ignored() -> None:
    attempt = Attempt(7, "pbx1-cb7-aaaa")
    assert attempt.on(StageReached("pbx1-cb8-bbbb", 8, Stage.CUSTOMER_ANSWERED, "")) is None
    assert attempt.on(ChannelGone("pbx1-cb8-bbbb")) is None
    assert attempt.outcome is None and attempt.state == "originating"


@pytest.mark.parametrize(
    ("dial_status", "outcome"),
    [
        ("NOANSWER", Outcome.NOT_ANSWERED),
        ("CONGESTION", Outcome.NOT_ANSWERED),
        ("CHANUNAVAIL", Outcome.NOT_ANSWERED),
        ("CANCEL", Outcome.OPERATOR_LEFT),  # the operator hung up while the customer rang
        ("", Outcome.OPERATOR_LEFT),  # the operator hung up during the disclosure
        ("ANSWER", Outcome.CONNECTED),  # the customer_answered event was missed
    ],
)
def test_final_dial_status(dial_status: str, outcome: Outcome) -> None:
    attempt = Attempt(7, "pbx1-cb7-aaaa")
    attempt.on(OriginateResult("pbx1-cb7-aaaa", "a-1", True, "4"))
    assert attempt.on(StageReached("pbx1-cb7-aaaa", 7, Stage.HANGUP, dial_status)) == outcome
    assert attempt.over


def test_channel_gone_without_events_after_answer_is_operator_left() -> None:
    attempt = Attempt(7, "pbx1-cb7-aaaa")
    attempt.on(StageReached("pbx1-cb7-aaaa", 7, Stage.OPERATOR_ANSWERED, ""))
    assert attempt.on(ChannelGone("pbx1-cb7-aaaa")) == Outcome.OPERATOR_LEFT


def test_channel_gone_before_the_originate_result_waits_for_it() -> None:
    attempt = Attempt(7, "pbx1-cb7-aaaa")
    assert attempt.on(ChannelGone("pbx1-cb7-aaaa")) is None
    assert attempt.on(OriginateResult("pbx1-cb7-aaaa", "a-1", False, "5")) == Outcome.OPERATOR_UNREACHED
    assert attempt.detail == "телефон оператора занят"


def test_malformed_user_events_are_not_attempt_events() -> None:
    bad = AmiMessage("event", "UserEvent", (("Event", "UserEvent"), ("UserEvent", "HotlineCallback"),
                                            ("Order", "x"), ("Stage", "done")))
    other = AmiMessage("event", "UserEvent", (("Event", "UserEvent"), ("UserEvent", "HotlineRecording")))
    assert parse_event(bad) is None and parse_event(other) is None
