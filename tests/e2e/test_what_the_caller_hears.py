"""What the caller hears, checked on the caller's side of real SIP calls, not in the
controller's notes: the RTP the PBX sends to the sipp caller is captured (tests/rtp_capture.py)
and searched for the prompt files by cross-correlation (tests/audio_match.py).

Also what a sipp success means: every step of the caller's scenario ran, so a call the PBX
ends early is a failed call.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from audio_match import contains_run, find_prompts, first_audio_s, load_prompts, names
from harness import Script, Stack, identification, operators_schedule, prompt_folders
from rtp_capture import RtpCapture

from accounts.models import Account
from ivr.say_ru import money_sounds
from telephony.sipp import Dtmf, ExpectHangup, Go, Hangup, Pause

pytestmark = pytest.mark.stack


def ours(stack: Stack) -> dict[str, np.ndarray]:
    return load_prompts({"hotline:": prompt_folders(stack.settings)["hotline:"]})


def ours_and_digits(stack: Stack) -> dict[str, np.ndarray]:
    pack = prompt_folders(stack.settings)[""]
    return {**ours(stack), **load_prompts({"digits/": pack / "digits"})}


# ---- a sipp success means every step ran ------------------------------------------------------


@pytest.mark.parametrize(
    "steps", [[Go(), Hangup()], [Pause(60_000), Hangup()], [Go(), ExpectHangup()]],
    ids=["waiting-for-go", "in-a-pause", "before-expect-hangup"])
async def test_a_call_the_pbx_ends_early_is_reported_as_failed(e2e: Stack, steps: list) -> None:
    caller = await e2e.call(e2e.settings.hotline_number, steps)
    channel = await caller.channel(e2e.ami)
    await e2e.ami.action("Hangup", Channel=channel)  # the PBX ends the call mid-disclosure
    result = await caller.wait(30)
    assert not result.ok, result.explain()
    assert result.failed == 1 and result.successful == 0, result.explain()
    assert "unexpected" in result.explain().lower(), result.explain()


async def test_a_call_the_pbx_ends_where_the_caller_expects_it_succeeds(e2e: Stack) -> None:
    caller = await e2e.call(e2e.settings.hotline_number, [ExpectHangup(30_000)])
    channel = await caller.channel(e2e.ami)
    await e2e.ami.action("Hangup", Channel=channel)
    result = await caller.wait(30)
    assert result.ok, result.explain()


# ---- what the caller hears ----------------------------------------------------------------------


async def test_the_disclosure_is_the_first_thing_the_caller_hears(
        e2e: Stack, capture: RtpCapture) -> None:
    e2e.set_config("hours.operators", operators_schedule(True))
    caller = await e2e.call(e2e.settings.hotline_number, [Go(), Hangup()])
    s = Script(e2e, caller)
    await s.reach("main_menu")  # the flow has begun: the disclosure is over
    await s.press()
    result = await caller.wait(30)
    assert result.ok, result.explain()

    track = capture.audio(caller.media_port)
    assert len(track) > 0, "no RTP reached the caller's media port"
    heard = find_prompts(track, ours(e2e))
    assert heard and heard[0].name == "hotline:disclosure", heard
    # Nothing audible before it, and it was heard to the end (a match needs the whole prompt).
    onset = first_audio_s(track)
    assert onset is not None and onset >= heard[0].start_s - 0.02, (onset, heard[0])
    assert heard[0].score > 0.9, heard[0]


def _presses(*keys: str) -> list:
    steps: list = []
    for k in keys:
        steps += [Go(), Pause(400), Dtmf(k)]
    return steps


async def test_the_caller_hears_the_balance_amount_from_the_prompt_files(
        e2e: Stack, capture: RtpCapture) -> None:
    e2e.set_config("hours.operators", operators_schedule(True))
    caller_id = "79990000001"  # demo account 1, in debt: 1 523,40
    ident = identification(e2e, caller_id)
    # 2: balance; identify; then 2 at "more?": goodbye, and the PBX ends the call.
    steps = [*_presses("2", *(k for _, k in ident), "2"), ExpectHangup(60_000)]
    caller = await e2e.call(e2e.settings.hotline_number, steps, caller_id=caller_id)
    s = Script(e2e, caller)
    await s.at("main_menu")
    for step, _ in ident:
        await s.at(step)
    await s.at("more")
    result = await caller.wait(60)
    assert result.ok, result.explain()

    account_id = s.events("identified")[0]["account_id"]
    with e2e.sessions() as db:
        account = db.get(Account, account_id)
        assert account is not None
        balance = Decimal(account.balance)
    assert balance < 0, "the demo account 1 is in debt"
    amount = money_sounds(-balance)

    heard = names(find_prompts(capture.audio(caller.media_port), ours_and_digits(e2e)))
    assert heard[:1] == ["hotline:disclosure"], heard
    assert contains_run(heard, amount), (amount, heard)
    start = next(i for i in range(len(heard)) if heard[i : i + len(amount)] == amount)
    assert "hotline:bal_debt" in heard[:start], heard  # "your debt is", before the amount
    assert "hotline:bal_credit" not in heard and "hotline:bal_zero" not in heard, heard
    # A control: another account's amount (demo account 4: 21,21) is not what was heard.
    assert not contains_run(heard, money_sounds(Decimal("21.21"))), heard
