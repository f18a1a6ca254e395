"""Identification by knowledge, the queue that keeps the caller's place, and the operators'
queue when the controller is down: real SIP calls through the real PBX.

Each caller's keys are released when the flow (or the queue) reaches the point that listens for
them, so no test depends on how long a prompt lasts.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from audio_match import find_prompts, load_prompts, names
from harness import Script, Stack, operators_schedule, poll, prompt_folders
from rtp_capture import RtpCapture
from sqlalchemy import delete, select

from callback_queue.models import CallbackOrder
from hotline.stack import stack as parts
from hours.handlers import WINDOWS_VARIABLE
from ivr.models import IdentificationAttempt, IdentificationLockout, IdResult, IdSubject
from telephony.sipp import Dtmf, ExpectHangup, Go, Hangup, Pause

pytestmark = pytest.mark.stack

QUEUE = "operators"


def keys(*presses: str, hangup: bool = True) -> list:
    steps: list = []
    for p in presses:
        steps += [Go(), Pause(400), Dtmf(p)]
    return steps + ([Go(), Hangup()] if hangup else [ExpectHangup(120_000)])


@pytest.fixture
async def trust(e2e: Stack) -> AsyncIterator[Stack]:
    yield e2e
    for member in ("operator1", "operator2"):
        try:
            await e2e.ami.action("QueueRemove", Queue=QUEUE, Interface=f"PJSIP/{member}")
        except Exception:  # noqa: BLE001, S110 - not a member
            pass
    e2e.clear_config("identification")


def heard(stack: Stack, cap: RtpCapture, port: int, *prompts: str) -> list[str]:
    """The prompts heard on the caller's RTP, each matched without its last 5 % (a prompt the
    PBX hangs up right after loses its last packet or two on the way)."""
    folder = prompt_folders(stack.settings)["hotline:"]
    wanted = {name: audio[: int(len(audio) * 0.95)] for name, audio in load_prompts({"hotline:": folder}, prompts).items()}
    return names(find_prompts(cap.audio(port), wanted))


def attempts(stack: Stack, linkedid: str) -> list[IdentificationAttempt]:
    with stack.sessions() as db:
        return list(db.scalars(select(IdentificationAttempt).where(IdentificationAttempt.linkedid == linkedid)
                               .order_by(IdentificationAttempt.id)))


# ---- identification -------------------------------------------------------------------------


async def test_last_four_digits_wrong_then_right(trust: Stack) -> None:
    trust.set_config("hours.operators", operators_schedule(True))
    # Demo account 2 (430100000022) is on 79990000002: 2 balance, a wrong tail, the right one.
    caller = await trust.call(trust.settings.hotline_number, keys("2", "1234#", "0022#", "2", hangup=False),
                              caller_id="79990000002")
    s = Script(trust, caller)
    await s.at("main_menu")
    await s.at("enter_tail")  # 1234: wrong
    await s.at("enter_tail")  # 0022: right
    await s.at("more")
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert [e["result"] for e in s.events("identification")] == ["wrong_tail"]
    assert s.events("identified")[0]["how"] == "last_digits"
    assert s.events("balance")
    record = await trust.wait_ended(caller.caller_id)
    assert [(a.result, a.account_id) for a in attempts(trust, record.linkedid)] == [
        (IdResult.WRONG, record.account_id), (IdResult.OK, record.account_id)]
    assert s.events("balance") and "confirm_known" not in s.steps()


async def test_lockout_across_two_calls_is_recorded_and_refuses_the_third(trust: Stack) -> None:
    trust.set_config("hours.operators", operators_schedule(False))  # no queue: the callback offer
    trust.set_config("identification", {"max_failures": 3, "window_hours": 24, "lock_hours": 1})
    phone = "79990000010"  # demo account 10 (430100000110), used by no other test
    try:
        first = await trust.call(trust.settings.hotline_number, keys("2", "1111#", "2222#"), caller_id=phone)
        s1 = Script(trust, first)
        await s1.at("after_hours_menu")
        await s1.at("enter_tail")
        await s1.at("enter_tail")
        await s1.reach("enter_tail")
        await s1.press()  # two wrong guesses, then the caller hangs up
        assert (await first.wait(30)).ok
        one = await trust.wait_ended(phone)

        second = await trust.call(trust.settings.hotline_number, keys("2", "3333#"), caller_id=phone)
        s2 = Script(trust, second)
        await s2.at("after_hours_menu")
        await s2.at("enter_tail")  # the third wrong guess in 24 h: locked out
        await s2.reach("locked")
        await s2.reach("offer_callback")  # told honestly, offered a callback (out of hours)
        await s2.press()
        assert (await second.wait(30)).ok
        two = await trust.wait_ended(phone)
        assert {"result": "locked_out", "subject": "phone"}.items() <= s2.events("identification")[-1].items()

        third = await trust.call(trust.settings.hotline_number, keys("2"), caller_id=phone)
        s3 = Script(trust, third)
        await s3.at("after_hours_menu")
        await s3.reach("offer_callback")
        await s3.press()
        assert (await third.wait(30)).ok
        assert "enter_tail" not in s3.steps()  # not even asked
        assert s3.events("identification") == [{"result": "locked", "subject": "phone"}]
        assert s3.events("balance") == []

        with trust.sessions() as db:
            locks = list(db.scalars(select(IdentificationLockout).where(
                IdentificationLockout.linkedid == two.linkedid)))
        assert {(lo.subject, lo.failures) for lo in locks} == {(IdSubject.PHONE, 3), (IdSubject.ACCOUNT, 3)}
        assert all(lo.caller_masked == "+7 *** ***-**-10" and lo.caller_key != phone for lo in locks)
        assert [a.result for a in attempts(trust, one.linkedid)] == [IdResult.WRONG, IdResult.WRONG]
    finally:
        with trust.sessions.begin() as db:  # later tests may call from this number
            db.execute(delete(IdentificationLockout).where(IdentificationLockout.caller_masked == "+7 *** ***-**-10"))
            db.execute(delete(IdentificationAttempt).where(IdentificationAttempt.caller_masked == "+7 *** ***-**-10"))


# ---- the queue keeps the caller's place -----------------------------------------------------


async def queue_entries(stack: Stack) -> list[dict[str, Any]]:
    assert stack.ami is not None
    items = await stack.ami.action_list("QueueStatus", Queue=QUEUE)
    return [{"caller": m.get("CallerIDNum"), "position": int(m.get("Position") or 0), "wait": int(m.get("Wait") or 0)}
            for m in items if m.get("Event") == "QueueEntry"]


async def waiting(stack: Stack, caller_id: str, at_least_s: int = 0) -> dict[str, Any] | None:
    return next((e for e in await queue_entries(stack) if e["caller"] == caller_id and e["wait"] >= at_least_s),
                None)


async def test_a_caller_who_waits_keeps_their_place_and_one_who_presses_1_gets_a_callback(
        trust: Stack, capture: RtpCapture) -> None:
    trust.set_config("hours.operators", operators_schedule(True))
    trust.set_config("queue", {"max_wait_s": 120, "long_queue": 5})
    offer_s = trust.settings.queue_callback_offer_s
    first = await trust.call(trust.settings.hotline_number, keys("0"), caller_id="79990000003")
    second = await trust.call(trust.settings.hotline_number, keys("0", "1", hangup=False), caller_id="79990000004")
    a, b = Script(trust, first), Script(trust, second)
    await a.at("main_menu")
    await poll(lambda: waiting(trust, first.caller_id), 30, "the first caller in the queue")
    await b.at("main_menu")
    await poll(lambda: waiting(trust, second.caller_id), 30, "the second caller in the queue")

    # Both wait through a whole periodic offer (it starts `offer_s` after joining and lasts
    # about 8 s), doing nothing: nobody leaves or re-enters.
    await poll(lambda: waiting(trust, second.caller_id, 2 * offer_s + 10), 60, "a whole offer's time")
    entries = await queue_entries(trust)
    assert [(e["caller"], e["position"]) for e in entries] == [(first.caller_id, 1), (second.caller_id, 2)]
    assert [e["event"] for e in a.events("queue")] == ["join"]  # still in its first wait

    # The second caller takes the offer: key 1 leaves the queue for a callback, no re-queueing.
    await b.press()
    result = await second.wait(60)
    assert result.ok, result.explain()
    assert s_events(b, "queue") == ["join", "leave"] and b.events("queue")[-1]["status"] == "CALLBACK_KEY"
    assert b.events("callback") == [{"source": "ivr_queue", "booked": True}]
    assert "queue_offer" not in b.steps() and b.steps().count("operator") == 1
    assert await waiting(trust, second.caller_id) is None

    # The first is still first, and an operator gets them.
    assert [(e["caller"], e["position"]) for e in await queue_entries(trust)] == [(first.caller_id, 1)]
    operator = await trust.callee("operator1", "answer", hold_ms=0)
    await trust.ami.action("QueueAdd", Queue=QUEUE, Interface="PJSIP/operator1", MemberName="operator1")
    await trust.wait_call(first.caller_id, "bridged to operator1", check=lambda c: any(
        e.kind == "dialend" and e.data.get("status") == "ANSWER" and "operator1" in e.data.get("dest", "")
        for e in c.events))
    await a.press()
    assert (await first.wait(30)).ok
    assert (await operator.wait(30)).ok

    # Both heard the offer while waiting (on their own RTP, cross-correlated with the prompt).
    for caller in (first, second):
        offers = heard(trust, capture, caller.media_port, "hotline:queue_periodic_offer")
        assert offers.count("hotline:queue_periodic_offer") >= 1, (caller.caller_id, offers)
    with trust.sessions() as db:
        order = db.scalar(select(CallbackOrder).where(CallbackOrder.phone == f"+{second.caller_id}")
                          .order_by(CallbackOrder.id.desc()))
    assert order is not None and str(order.source) == "ivr_queue"


def s_events(s: Script, kind: str) -> list[str]:
    return [e["event"] for e in s.events(kind)]


# ---- the controller is down: the operators' queue in hours ----------------------------------


async def restart_controller(stack: Stack) -> None:
    """A fresh login: the controller publishes the operators' hours to the PBX at once."""
    parts.stop_controller(stack.settings)
    before = stack.synced_at()
    parts.start_controller(stack.settings)
    await poll(lambda: stack.synced_at() not in (None, before), 30, "the controller to log in again")


async def open_windows(stack: Stack) -> str:
    assert stack.ami is not None
    return (await stack.ami.action("Getvar", Variable=WINDOWS_VARIABLE)).get("Value") or ""


class Fallbacks:
    """The PBX's own reports of the fallback route (UserEvent HotlineFallback), by caller."""

    def __init__(self, stack: Stack) -> None:
        self.seen: list[tuple[str, str]] = []
        assert stack.ami is not None
        self.unsubscribe = stack.ami.subscribe(self._on, ["UserEvent"])

    def _on(self, m: Any) -> None:
        if m.get("UserEvent") == "HotlineFallback":
            self.seen.append((m.get("CallerIDNum") or "", m.get("Route") or ""))

    def routes(self, caller_id: str) -> list[str]:
        return [route for who, route in self.seen if who == caller_id]


async def operator_up(stack: Stack, member: str = "operator1") -> bool:
    return any(str(ch.get("Channel", "")).startswith(f"PJSIP/{member}-") and ch.get("ChannelStateDesc") == "Up"
               for ch in await stack.channels())


async def test_controller_down_in_hours_the_caller_reaches_an_operator(trust: Stack) -> None:
    trust.set_config("hours.operators", operators_schedule(True))
    await restart_controller(trust)
    windows = await open_windows(trust)
    assert windows and "-" in windows, windows  # published at login: open now and for days
    operator = await trust.callee("operator1", "answer", hold_ms=0)
    await trust.ami.action("QueueAdd", Queue=QUEUE, Interface="PJSIP/operator1", MemberName="operator1")
    fallbacks = Fallbacks(trust)
    parts.stop_controller(trust.settings)
    try:
        caller = await trust.call(trust.settings.hotline_number, [Go(), Hangup()])
        await poll(lambda: operator_up(trust), 60, "the operator to answer the caller")
        assert fallbacks.routes(caller.caller_id) == ["queue"]
        await caller.go(trust.ami)
        result = await caller.wait(30)
        assert result.ok, result.explain()
        assert (await operator.wait(30)).ok
    finally:
        fallbacks.unsubscribe()
        await operator.stop()
        before = trust.synced_at()
        parts.start_controller(trust.settings)
        await poll(lambda: trust.synced_at() not in (None, before), 30, "the controller to log in again")


@pytest.mark.parametrize("hours", ["closed_all_week", "open_at_other_times", "nothing_known"])
async def test_controller_down_out_of_hours_or_hours_unknown_the_apology(
        trust: Stack, capture: RtpCapture, hours: str) -> None:
    trust.set_config("hours.operators", operators_schedule(hours != "closed_all_week"))
    await restart_controller(trust)
    operator = await trust.callee("operator1", "answer", hold_ms=0)
    await trust.ami.action("QueueAdd", Queue=QUEUE, Interface="PJSIP/operator1", MemberName="operator1")
    fallbacks = Fallbacks(trust)
    parts.stop_controller(trust.settings)
    try:
        now = int(time.time())
        value = {"closed_all_week": None,  # as the controller published it: no window
                 "open_at_other_times": f"{now - 7200}-{now - 3600}/{now + 3600}-{now + 7200}",
                 "nothing_known": ""}[hours]  # as after a PBX restart with the controller down
        if value is not None:
            await trust.ami.action("Setvar", Variable=WINDOWS_VARIABLE, Value=value)
        else:
            assert await open_windows(trust) == ""
        caller = await trust.call(trust.settings.hotline_number, [ExpectHangup(60_000)])
        result = await caller.wait(60)
        assert result.ok, result.explain()  # the PBX ended the call after the apology
        assert fallbacks.routes(caller.caller_id) == ["closed"]
        assert not await operator_up(trust)
        said = heard(trust, capture, caller.media_port, "hotline:disclosure", "hotline:technical_problem",
                     "hotline:queue_connecting")
        assert said == ["hotline:disclosure", "hotline:technical_problem"], said
    finally:
        fallbacks.unsubscribe()
        await operator.stop()
        before = trust.synced_at()
        parts.start_controller(trust.settings)
        await poll(lambda: trust.synced_at() not in (None, before), 30, "the controller to log in again")


async def test_controller_down_key_1_in_the_queue_is_honest_then_booked_when_it_is_back(trust: Stack) -> None:
    """In the fallback queue the periodic offer still plays. Key 1 while the controller is down:
    the caller is told the order cannot be taken and goes back to the queue; once it is back,
    key 1 books the callback."""
    trust.set_config("hours.operators", operators_schedule(True))
    await restart_controller(trust)
    fallbacks = Fallbacks(trust)
    parts.stop_controller(trust.settings)
    caller_id = "79990000007"
    started = False
    since = datetime.now(UTC)
    try:
        caller = await trust.call(trust.settings.hotline_number, keys("1", "1", hangup=False), caller_id=caller_id)
        await poll(lambda: waiting(trust, caller_id), 30, "the caller in the fallback queue")
        await caller.go(trust.ami)  # key 1: the controller is down
        await poll(lambda: "callback_key" in fallbacks.routes(caller_id), 30, "the key in the queue")
        await poll(lambda: waiting(trust, caller_id), 30, "the caller back in the queue")
        parts.start_controller(trust.settings)
        started = True
        await caller.go(trust.ami)  # key 1 again: now booked
        result = await caller.wait(60)
        assert result.ok, result.explain()  # goodbye, and the PBX hangs up
        assert fallbacks.routes(caller_id) == ["queue", "callback_key", "callback_key"]
        with trust.sessions() as db:
            order = db.scalar(select(CallbackOrder).where(CallbackOrder.phone == f"+{caller_id}")
                              .order_by(CallbackOrder.id.desc()))
        assert order is not None and str(order.source) == "ivr_queue"
        assert order.updated_at >= since, "this call booked the order (or renewed the open one)"
    finally:
        fallbacks.unsubscribe()
        if not started:
            parts.start_controller(trust.settings)
        await poll(lambda: trust.synced_at() is not None, 30, "the controller to log in again")
