"""The hotline IVR with real SIP calls: hours, menus, identification, readings, queue, callbacks.

Each caller's keys are released when the flow reaches the step that listens for them
(`Script.at`), so no test depends on how long a prompt lasts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from harness import Script, Stack, operators_schedule, poll
from sqlalchemy import select

from accounts.models import MeterReading, ReadingSource
from calls.models import Call
from hotline.stack import stack as parts
from telephony.sipp import Dtmf, ExpectHangup, Go, Hangup, Pause

pytestmark = pytest.mark.stack

@pytest.fixture
async def ivr(e2e: Stack):  # type: ignore[no-untyped-def]
    e2e.set_config("queue", {"max_wait_s": 4, "long_queue": 5})
    yield e2e
    for member in ("operator1", "operator2"):
        try:
            await e2e.ami.action("QueueRemove", Queue="operators", Interface=f"PJSIP/{member}")
        except Exception:  # noqa: BLE001 - not a member
            pass


def keys(*presses: str, hangup: bool = False) -> list:
    """Each press waits for the test's go, then a person's reaction time (Asterisk drops an
    RFC 2833 key that starts within a few tens of ms of the previous one's end).

    The call ends with the caller hanging up on the test's last go (`hangup=True`), or else
    with the PBX hanging up (`ExpectHangup`): a BYE from the PBX before that fails the call."""
    steps: list = []
    for p in presses:
        steps += [Go(), Pause(400), Dtmf(p)]
    steps += [Go(), Hangup()] if hangup else [ExpectHangup()]
    return steps


async def test_in_hours_caller_reaches_an_operator_through_the_queue(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    operator = await ivr.callee("operator1", "answer", hold_ms=0)
    await ivr.ami.action("QueueAdd", Queue="operators", Interface="PJSIP/operator1", MemberName="operator1")
    caller = await ivr.call(ivr.settings.hotline_number, keys("0", hangup=True))
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.reach("operator")
    record = await ivr.wait_call(caller.caller_id, "bridged to operator1", check=lambda c: any(
        e.kind == "dialend" and e.data.get("status") == "ANSWER" and "operator1" in e.data.get("dest", "")
        for e in c.events))
    assert record.answered_at is not None
    await s.press()  # the caller hangs up after talking to the operator
    assert (await caller.wait(30)).ok
    assert (await operator.wait(30)).ok
    queue = s.events("queue")
    assert queue[0]["event"] == "join"
    ended = await ivr.wait_ended(caller.caller_id)
    assert ended.recording_path and (ivr.settings.recordings_dir / ended.recording_path).exists()


async def test_out_of_hours_self_service_and_callback_offer(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(False))
    caller = await ivr.call(ivr.settings.hotline_number, keys("4"))
    s = Script(ivr, caller)
    await s.at("after_hours_menu")
    await s.reach("callback_after_hours")
    assert (await caller.wait(60)).ok  # accepted, goodbye, the PBX hangs up
    assert s.events("callback") == [{"source": "ivr_after_hours", "booked": True}]
    assert "main_menu" not in s.steps()
    await _order_for(ivr, caller.caller_id, "ivr_after_hours")


def next_weekday(after: date, kind: str) -> date | None:
    """The first Monday-to-Friday after `after` that the default operators' hours call `kind`
    ('holiday': a public holiday of the `holidays` package; 'working': an ordinary working
    day), within a year and a half (None: the package knows no such day ahead)."""
    import holidays

    from hours.service import OPERATOR_HOURS, day_kind

    known = holidays.country_holidays("RU", years=range(after.year, after.year + 2))
    for n in range(1, 550):
        day = after + timedelta(days=n)
        if day.weekday() < 5 and day_kind(OPERATOR_HOURS, day) == kind and (
                kind != "holiday" or day in known):
            return day
    return None


@asynccontextmanager
async def controller_on(ivr: Stack, day: date, at: time = time(11)) -> AsyncIterator[None]:
    """The controller restarted with its clock on `day` at `at` (the operators' time zone)."""
    from hours.service import OPERATOR_HOURS, to_json

    ivr.set_config("hours.operators", to_json(OPERATOR_HOURS))  # the default Mon–Fri 08–20
    target = datetime.combine(day, at, ZoneInfo(ivr.settings.timezone))
    offset = (target - datetime.now(ZoneInfo("UTC"))).total_seconds()
    parts.stop_controller(ivr.settings)
    before = ivr.synced_at()
    parts.start_controller(ivr.settings.model_copy(update={"clock_offset_seconds": offset}))
    try:
        await poll(lambda: ivr.synced_at() not in (None, before), 30, "the shifted controller to sync")
        yield
    finally:
        parts.stop_controller(ivr.settings)
        before = ivr.synced_at()
        parts.start_controller(ivr.settings)
        await poll(lambda: ivr.synced_at() not in (None, before), 30, "the controller to sync again")


def _today(ivr: Stack) -> date:
    return datetime.now(ZoneInfo(ivr.settings.timezone)).date()


async def test_public_holiday_is_out_of_hours(ivr: Stack) -> None:
    """The next public holiday on a weekday, at 11:00: operators are off, though the weekday
    and the hour are working ones by the schedule."""
    holiday = next_weekday(_today(ivr), "holiday")
    # Fixed-date holidays (1-8 January, 23 February, 8 March, 1 and 9 May, 12 June, 4 November)
    # are rules of the package, known for every year: a weekday among them always lies ahead.
    assert holiday is not None, "the `holidays` package knows no Russian public holiday ahead"
    async with controller_on(ivr, holiday):
        caller = await ivr.call(ivr.settings.hotline_number, keys(hangup=True))
        s = Script(ivr, caller)
        await s.at("after_hours_menu")
        assert (await caller.wait(30)).ok
        assert "main_menu" not in s.steps()


async def test_ordinary_working_day_reaches_the_main_menu(ivr: Stack) -> None:
    """The holiday test's positive control: the same schedule and the same shifted clock, on
    the next ordinary working day at 11:00, reach the operators' main menu."""
    day = next_weekday(_today(ivr), "working")
    assert day is not None, "a working day within a year and a half"
    async with controller_on(ivr, day):
        caller = await ivr.call(ivr.settings.hotline_number, keys(hangup=True))
        s = Script(ivr, caller)
        await s.at("main_menu")
        assert (await caller.wait(30)).ok
        assert "after_hours_menu" not in s.steps()


async def test_identified_by_caller_number_hears_the_balance(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    caller = await ivr.call(ivr.settings.hotline_number, keys("2", "0011#", "2"), caller_id="79990000001")
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("enter_tail")  # the last four digits of the account on this number: 0011
    await s.at("more")  # after the balance: 2, goodbye
    assert (await caller.wait(60)).ok
    assert s.events("identified")[0]["how"] == "last_digits"
    assert s.events("balance") == [{"told": True}]
    call = await ivr.wait_ended(caller.caller_id)
    assert call.account_id == s.events("identified")[0]["account_id"]


async def test_identified_by_account_number_after_failures(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    presses = ("2", "123#", "999999999#", "430100000022#", "2")
    caller = await ivr.call(ivr.settings.hotline_number, keys(*presses))  # an unknown number
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("enter_number")  # too short
    await s.at("enter_number")  # well formed, no such account
    await s.at("enter_number")  # the demo account
    await s.at("more")
    assert (await caller.wait(60)).ok
    results = [e["result"] for e in s.events("identification")]
    assert results == ["bad_format", "not_found"]
    assert s.events("identified")[0]["how"] == "account_number"
    assert s.events("balance") == [{"told": True}]


async def test_three_identification_failures_go_to_the_operator_queue(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    caller = await ivr.call(ivr.settings.hotline_number, keys("2", "1#", "2#", "3#", hangup=True))
    s = Script(ivr, caller)
    await s.at("main_menu")
    for _ in range(3):
        await s.at("enter_number")
    await s.reach("operator")
    await s.press()
    assert (await caller.wait(30)).ok
    assert s.events("balance") == []  # nothing confidential without identification


async def test_keypad_reading_with_read_back_reentry_and_confirmation(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    # caller 1: single-zone meter, previous 12345 kWh
    presses = ("1", "0011#", "12400#", "2", "12450#", "1", "2")
    caller = await ivr.call(ivr.settings.hotline_number, keys(*presses), caller_id="79990000001")
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("enter_tail")
    await s.at("enter")
    await s.at("read_back")  # "you entered 12400" -> 2: enter again
    await s.at("enter")
    await s.at("read_back")  # 12450 -> 1
    await s.at("more")
    assert (await caller.wait(60)).ok
    stored = s.events("readings")
    assert [e["value"] for e in stored if e.get("event") == "stored"] == [12450]
    call = await ivr.wait_ended(caller.caller_id)
    with ivr.sessions() as db:
        reading = db.scalar(select(MeterReading).where(MeterReading.call_id == call.id))
    assert reading is not None
    assert reading.value == Decimal(12450) and reading.source == ReadingSource.IVR_DTMF
    assert reading.submitted_by == "+7 *** ***-**-01"  # masked: the call record has the number


async def test_reading_validation_rules(ivr: Stack) -> None:
    """Caller 5: one 6-digit meter, previous 30512. Letters, too many digits, below the
    previous (not a replacement: enter again), an implausible jump (confirmed twice)."""
    ivr.set_config("hours.operators", operators_schedule(True))
    jump = implausible_jump(ivr, "+79990000005")
    presses = ("1", "0055#", "1*2#", "1234567#", "30000#", "1", "2", f"{jump}#", "1", "1", "2")
    caller = await ivr.call(ivr.settings.hotline_number, keys(*presses), caller_id="79990000005")
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("enter_tail")
    await s.at("enter")  # 1*2: not digits
    await s.at("enter")  # 7 digits on a 6-digit meter
    await s.at("enter")  # 30000 < 30512
    await s.at("read_back")
    await s.at("below_previous")  # 2: not replaced, enter again
    await s.at("enter")  # more than the most a day since the previous reading
    await s.at("read_back")
    await s.at("jump")  # confirm once more
    await s.at("more")
    assert (await caller.wait(60)).ok
    rejected = [e["reason"] for e in s.events("readings") if e.get("event") == "rejected"]
    assert rejected == ["malformed", "too_many_digits"]
    checks = [e["result"] for e in s.events("readings") if e.get("event") == "check"]
    assert checks == ["below_previous", "implausible_jump"]
    stored = [e["value"] for e in s.events("readings") if e.get("event") == "stored"]
    assert stored == [jump]


async def test_below_previous_as_meter_replacement_goes_to_the_operator(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    caller = await ivr.call(ivr.settings.hotline_number, keys("1", "0088#", "100#", "1", "1", hangup=True),
                            caller_id="79990000008")
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("enter_tail")
    await s.at("enter")
    await s.at("read_back")
    await s.at("below_previous")  # 1: the meter was replaced
    await s.reach("operator")
    await s.press()
    assert (await caller.wait(30)).ok
    assert [e for e in s.events("readings") if e.get("event") == "stored"] == []


async def test_queue_timeout_offers_a_callback_and_books_it(ivr: Stack) -> None:
    ivr.set_config("hours.operators", operators_schedule(True))
    caller = await ivr.call(ivr.settings.hotline_number, keys("0", "1"), caller_id="79990000006")
    s = Script(ivr, caller)
    await s.at("main_menu")
    await s.at("queue_offer", timeout=40)  # no operator within the (test) maximum wait of 4 s
    assert (await caller.wait(60)).ok
    assert s.events("queue")[-1]["status"] == "TIMEOUT"
    assert s.events("callback") == [{"source": "ivr_queue", "booked": True}]
    await _order_for(ivr, "79990000006", "ivr_queue")


def implausible_jump(ivr: Stack, phone: str) -> int:
    """A reading just over the most plausible consumption since the previous one, by today's
    date (so the test holds whenever it runs; a fixed value would become plausible in time)."""
    from accounts.models import Account, AccountPhone, Meter
    from ivr.readings import DEFAULT_MAX_DAILY_KWH

    with ivr.sessions() as db:
        account = db.scalar(select(Account).join(AccountPhone).where(AccountPhone.phone == phone))
        assert account is not None
        meter = db.scalar(select(Meter).where(Meter.account_id == account.id))
        previous = db.scalar(select(MeterReading).where(MeterReading.meter_id == meter.id)
                             .order_by(MeterReading.taken_on.desc(), MeterReading.id.desc()).limit(1))
        assert previous is not None
        today = datetime.now(ZoneInfo(account.timezone)).date()
    days = max((today - previous.taken_on).days, 1) + 2  # two days' margin for the date's edges
    value = int(previous.value + DEFAULT_MAX_DAILY_KWH * days) + 1
    assert len(str(value)) <= meter.digits, f"{value} no longer fits the {meter.digits}-digit meter"
    return value


async def _order_for(ivr: Stack, caller_id: str, source: str) -> None:
    from callback_queue.models import CallbackOrder

    with ivr.sessions() as db:
        order = db.scalar(select(CallbackOrder).where(CallbackOrder.phone == f"+{caller_id}")
                          .order_by(CallbackOrder.id.desc()))
        call = db.scalar(select(Call).where(Call.caller_number == caller_id).order_by(Call.id.desc()))
    assert order is not None, "the callback order is in the database"
    assert str(getattr(order.source, "value", order.source)) == source
    assert call is not None and order.origin_call_id == call.id
