"""Nothing told that is not true, with real calls (issue 6 §3): the outages at the caller's
address from current data, "unavailable" from stale data, the balance with its date, and the
out-of-hours prompt speaking the configured hours. What the caller heard is checked on the
caller's side (RTP captured, prompts found by cross-correlation), beside the call's notes.

All dates are relative to the stack's clock (the PBX machine's now)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from audio_match import contains_run, find_prompts, load_prompts, names
from harness import Script, Stack, identification, operators_schedule, prompt_folders
from rtp_capture import RtpCapture
from sqlalchemy import delete

from accounts.models import Account
from accounts.service import find_by_phone
from hours.service import OPERATOR_HOURS, WEEKDAY_KEYS, from_json, next_opening, to_json
from ivr.say_ru import date_sounds
from ivr.telling import hours_sounds, outage_sounds
from outages.adapters import parse_rows
from outages.models import OutageDataset
from outages.service import import_records
from telephony.sipp import Dtmf, ExpectHangup, Go, Hangup, Pause

pytestmark = pytest.mark.stack

CALLER = "79990000001"  # demo account 1: г. Киров, ул. Ленина, д. 12, кв. 34 (Europe/Kirov)
KIROV = "Europe/Kirov"


@pytest.fixture
def outages(e2e: Stack) -> Iterator[Stack]:
    """No outage data before or after the test."""
    with e2e.sessions.begin() as s:
        s.execute(delete(OutageDataset))
    yield e2e
    with e2e.sessions.begin() as s:
        s.execute(delete(OutageDataset))


def heard_names(stack: Stack, capture: RtpCapture, port: int) -> list[str]:
    folders = prompt_folders(stack.settings)
    prompts: dict[str, np.ndarray] = {**load_prompts({"hotline:": folders["hotline:"]}),
                                      **load_prompts({"digits/": folders[""] / "digits"})}
    return names(find_prompts(capture.audio(port), prompts))


def presses(*keys: str) -> list:
    steps: list = []
    for k in keys:
        steps += [Go(), Pause(400), Dtmf(k)]
    return steps


def load_outages(stack: Stack, loaded_at: datetime, *rows: list[str]) -> None:
    table = [["Населённый пункт", "Улица", "Дома", "Начало", "Окончание", "Причина"], *rows]
    with stack.sessions.begin() as s:
        report = import_records(s, parse_rows(table), tz=KIROV, now=loaded_at)
    assert report.rejected == [] and report.added == len(rows)


def local(at: datetime) -> str:
    return at.strftime("%d.%m.%Y %H:%M")


async def test_an_identified_caller_hears_the_outage_at_their_address(
        outages: Stack, capture: RtpCapture) -> None:
    stack = outages
    stack.set_config("hours.operators", operators_schedule(True))
    now = datetime.now(UTC)
    day = (now.astimezone(ZoneInfo(KIROV)) + timedelta(days=2)).replace(hour=9, minute=0, second=0,
                                                                         microsecond=0)
    start, end = day, day.replace(hour=17)
    load_outages(stack, now - timedelta(hours=1),
                 ["г. Киров", "ул. Ленина", "1-15", local(start), local(end), "Ремонт ТП"],
                 ["г. Киров", "ул. Мира", "1-99", local(start), local(end), "Другая улица"])
    ident = identification(stack, CALLER)
    # 3: outages; 1: "to hear about your address, identify first"; identify; 2 at "more?"
    caller = await stack.call(stack.settings.hotline_number,
                              [*presses("3", "1", *(k for _, k in ident), "2"), ExpectHangup(60_000)],
                              caller_id=CALLER)
    s = Script(stack, caller)
    await s.at("main_menu")
    await s.at("offer_identify")
    for step, _ in ident:
        await s.at(step)
    await s.at("more")  # after the outages: 2, goodbye, the PBX hangs up
    result = await caller.wait(60)
    assert result.ok, result.explain()

    # before identification: the count in the caller's locality; after it: their address
    locality, told = s.events("outages")
    assert (locality["status"], locality["count"], locality["current"]) == ("locality", 2, True)
    assert (told["status"], told["count"]) == ("found", 1), told
    expected = ["hotline:out_at_address", *outage_sounds(start, end), "hotline:out_data_of",
                *date_sounds((now - timedelta(hours=1)).astimezone(ZoneInfo(KIROV)).date())]
    heard = heard_names(stack, capture, caller.media_port)
    assert contains_run(heard, expected), (expected, heard)
    assert "hotline:out_none" not in heard and "hotline:out_unavailable" not in heard, heard


async def test_stale_outage_data_is_said_unavailable_never_none(
        outages: Stack, capture: RtpCapture) -> None:
    """Data loaded two days ago, nothing listed at the address: not "no outages" but
    "information unavailable", and out of hours the callback is offered."""
    stack = outages
    stack.set_config("hours.operators", operators_schedule(False))
    now = datetime.now(UTC)
    tomorrow = (now.astimezone(ZoneInfo(KIROV)) + timedelta(days=1)).replace(hour=9, minute=0)
    load_outages(stack, now - timedelta(days=2),
                 ["г. Киров", "ул. Мира", "1-99", local(tomorrow), local(tomorrow.replace(hour=12)), ""])
    ident = identification(stack, CALLER)
    caller = await stack.call(stack.settings.hotline_number,
                              [*presses("3", "1", *(k for _, k in ident)), Go(), Hangup()],
                              caller_id=CALLER)
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.at("offer_identify")
    for step, _ in ident:
        await s.at(step)
    await s.reach("offer_callback")
    await stack.wait_event(CALLER, "choice", timeout=90, menu="Предложить обратный звонок",
                           outcome="no_input")
    await s.press()  # hang up after hearing the offer once
    result = await caller.wait(60)
    assert result.ok, result.explain()

    locality, told = s.events("outages")
    assert (locality["count"], locality["current"]) == (1, False), locality
    assert (told["status"], told["detail"]) == ("unavailable", "stale"), told
    heard = heard_names(stack, capture, caller.media_port)
    assert "hotline:out_unavailable" in heard, heard
    assert "hotline:out_none" not in heard, heard
    assert "hotline:cb_offer_after_hours" in heard, heard


async def test_the_balance_is_told_with_its_date(e2e: Stack, capture: RtpCapture) -> None:
    e2e.set_config("hours.operators", operators_schedule(True))
    today = datetime.now(ZoneInfo(KIROV)).date()
    as_of = today - timedelta(days=5)
    with e2e.sessions.begin() as db:
        (account,) = find_by_phone(db, CALLER)
        account_id, previous = account.id, account.balance_at
        account.balance_at = as_of
    try:
        ident = identification(e2e, CALLER)
        caller = await e2e.call(e2e.settings.hotline_number,
                                [*presses("2", *(k for _, k in ident), "2"), ExpectHangup(60_000)],
                                caller_id=CALLER)
        s = Script(e2e, caller)
        await s.at("main_menu")
        for step, _ in ident:
            await s.at(step)
        await s.at("more")
        result = await caller.wait(60)
        assert result.ok, result.explain()
    finally:
        with e2e.sessions.begin() as db:
            stored = db.get(Account, account_id)
            assert stored is not None
            stored.balance_at = previous
    assert s.events("balance_date") == [{"as_of": as_of.isoformat()}]
    heard = heard_names(e2e, capture, caller.media_port)
    expected = ["hotline:bal_as_of", *date_sounds(as_of), "hotline:bal_debt"]
    assert contains_run(heard, expected), (expected, heard)


async def test_the_out_of_hours_prompt_speaks_the_configured_hours(
        e2e: Stack, capture: RtpCapture) -> None:
    """Today closed, every other day 09:30-18:00: the caller hears those hours and the next
    opening, computed from the same schedule — not the fixed "weekdays 8 to 20"."""
    tz = e2e.settings.timezone
    now = datetime.now(ZoneInfo(tz))
    doc = to_json(OPERATOR_HOURS)
    doc["weekly"] = {key: ([] if n == now.weekday() else ["09:30-18:00"])
                     for n, key in enumerate(WEEKDAY_KEYS)}
    doc["observe_public_holidays"] = False  # today stays closed whatever the state calendar says
    e2e.set_config("hours.operators", doc)
    schedule = from_json(doc)
    expected = hours_sounds(schedule, next_opening(schedule, now, tz))
    assert "hotline:w_gen_30" in expected and "hotline:w_gen_18" in expected

    caller = await e2e.call(e2e.settings.hotline_number, [Go(), Hangup()])
    s = Script(e2e, caller)
    await s.reach("after_hours_menu")
    await e2e.wait_event(caller.caller_id, "choice", timeout=90, menu="Меню в нерабочее время (Smart IVR)",
                         outcome="no_input")  # the whole preface and menu heard, no key
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()

    (hours,) = s.events("hours")
    assert hours["told"] == "schedule", hours
    heard = heard_names(e2e, capture, caller.media_port)
    assert contains_run(heard, [*expected, "hotline:menu_after_hours"]), (expected, heard)


# ---- callbacks: the caller hears what really happened ---------------------------------------


async def _after_hours_callback(stack: Stack, caller_id: str, capture: RtpCapture) -> tuple[dict, list[str]]:
    """Out of hours, key 4: a callback; the caller hears the outcome, then goodbye."""
    caller = await stack.call(stack.settings.hotline_number, [*presses("4"), ExpectHangup(60_000)],
                              caller_id=caller_id)
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.reach("goodbye")
    result = await caller.wait(60)
    assert result.ok, result.explain()
    (outcome,) = s.events("callback_result")
    return outcome, heard_names(stack, capture, caller.media_port)


async def test_a_repeated_callback_request_is_told_the_order_stands(
        e2e: Stack, capture: RtpCapture) -> None:
    from callback_queue.service import cancel

    e2e.set_config("hours.operators", operators_schedule(False))
    caller_id = e2e.new_caller_id()
    first, heard_first = await _after_hours_callback(e2e, caller_id, capture)
    second, heard_second = await _after_hours_callback(e2e, caller_id, capture)
    try:
        assert first["result"] == "created" and "hotline:cb_accepted" in heard_first, heard_first
        assert (second["result"], second["order_id"]) == ("updated", first["order_id"])
        assert "hotline:cb_updated" in heard_second and "hotline:cb_accepted" not in heard_second
    finally:
        with e2e.sessions.begin() as db:
            cancel(db, first["order_id"], "tests", "test over", datetime.now(UTC))


async def test_a_number_we_cannot_call_back_is_told_so(e2e: Stack, capture: RtpCapture) -> None:
    """A caller ID that is no Russian phone number: no order, and the caller is told so — not
    "accepted" (the old `request_callback` answered True whatever happened)."""
    e2e.set_config("hours.operators", operators_schedule(False))
    outcome, heard = await _after_hours_callback(e2e, "12345", capture)
    assert (outcome["result"], outcome["reason"]) == ("refused", "invalid-phone")
    assert "hotline:cb_refused_number" in heard and "hotline:cb_accepted" not in heard, heard


async def test_a_broken_schedule_is_closed_and_no_hours_are_guessed(
        e2e: Stack, capture: RtpCapture) -> None:
    """A schedule document edited past the CLI's checks: closed (never the defaults or "always
    open"), and the caller hears only that operators are not available now."""
    e2e.set_config("hours.operators", {"weekly": {key: ["00:00-25:00"] for key in WEEKDAY_KEYS}})
    caller = await e2e.call(e2e.settings.hotline_number, [Go(), Hangup()])
    s = Script(e2e, caller)
    await s.reach("after_hours_menu")
    await e2e.wait_event(caller.caller_id, "choice", timeout=90,
                         menu="Меню в нерабочее время (Smart IVR)", outcome="no_input")
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert "main_menu" not in s.steps()
    assert s.events("hours") == [{"told": "unavailable", "next_opening": None}]
    heard = heard_names(e2e, capture, caller.media_port)
    assert contains_run(heard, ["hotline:hours_unavailable_now", "hotline:menu_after_hours"]), heard
    assert "hotline:hours_work" not in heard, heard
