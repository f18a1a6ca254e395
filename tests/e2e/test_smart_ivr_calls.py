"""The Smart IVR with real SIP calls: the caller says what they need in free speech (Festival's
Russian, streamed by sipp), the real engine understands it, and the right flow follows — out
of hours the readings flow for "хочу передать показания", a callback offer (never the queue)
for "соедините с оператором", booked on "да"; in hours the operators' queue.
"""

from __future__ import annotations

import pytest
from audio_match import find_prompts, load_prompts, names
from harness import Script, Stack, operators_schedule, prompt_folders
from rtp_capture import RtpCapture
from sqlalchemy import select
from voice_calls import press, speak, speech_ready

from callback_queue.models import CallbackOrder
from telephony.sipp import ExpectHangup, Go, Hangup

pytestmark = pytest.mark.stack

AFTER_HOURS_Q = ["hotline:hours_closed_now", "hotline:menu_after_hours", "hotline:smart_or_say"]
MAIN_Q = ["hotline:menu_main", "hotline:smart_or_say"]


@pytest.fixture
async def voice_ready(e2e: Stack) -> Stack:
    return await speech_ready(e2e)


def said_choices(s: Script) -> list[tuple[str, str]]:
    return [(c["menu"], c.get("said") or c.get("key")) for c in s.events("choice")]


async def test_out_of_hours_i_want_to_give_readings_goes_to_the_readings_flow(voice_ready: Stack) -> None:
    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(False))
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "хочу передать показания", AFTER_HOURS_Q), Go(), Hangup()],
                              caller_id="79990000001")
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.reach("enter_tail", timeout=60)  # the readings flow: identification first
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert ("Меню в нерабочее время (Smart IVR)", "readings") in said_choices(s), s.events("speech")
    assert "main_menu" not in s.steps() and "readings" in s.steps()


async def test_out_of_hours_operator_is_offered_a_callback_and_booked_on_yes(voice_ready: Stack) -> None:
    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(False))
    caller_id = stack.new_caller_id()
    offer = ["hotline:cb_offer_after_hours", "hotline:yes_no_or_say"]
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "соедините с оператором", AFTER_HOURS_Q),
                               *speak(stack, "да", offer), ExpectHangup(60_000)],
                              caller_id=caller_id)
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.at("offer_callback", timeout=60)
    await s.reach("goodbye", timeout=60)
    result = await caller.wait(60)
    assert result.ok, result.explain()
    choices = said_choices(s)
    assert ("Меню в нерабочее время (Smart IVR)", "operator") in choices, s.events("speech")
    assert ("Предложить обратный звонок", "yes") in choices, s.events("speech")
    assert "operator" not in s.steps()  # never the queue when operators are off
    assert s.events("queue") == []
    assert s.events("callback") == [{"source": "ivr_after_hours", "booked": True}]
    with stack.sessions() as db:
        order = db.scalar(select(CallbackOrder).where(CallbackOrder.phone == f"+{caller_id}"))
    assert order is not None and str(getattr(order.source, "value", order.source)) == "ivr_after_hours"


async def test_out_of_hours_operator_callback_booked_by_key_as_well(voice_ready: Stack) -> None:
    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(False))
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "соедините с оператором", AFTER_HOURS_Q), *press("1"),
                               ExpectHangup(60_000)])
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.at("offer_callback", timeout=60)
    await s.reach("goodbye", timeout=60)
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert s.events("callback") == [{"source": "ivr_after_hours", "booked": True}]


async def test_in_hours_operator_by_voice_joins_the_queue(voice_ready: Stack) -> None:
    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(True))
    stack.set_config("queue", {"max_wait_s": 4, "long_queue": 5})
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "соедините с оператором", MAIN_Q), Go(), Hangup()])
    s = Script(stack, caller)
    await s.at("main_menu")
    await s.reach("operator", timeout=60)
    await stack.wait_event(caller.caller_id, "queue", timeout=30, event="join")
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert ("Главное меню", "operator") in said_choices(s), s.events("speech")


async def test_out_of_hours_a_tariff_question_is_answered_from_the_faq_file(
        voice_ready: Stack, capture: RtpCapture) -> None:
    """The answer is the content file's text, rendered into the PBX's sounds when the file was
    loaded (not during the call), and heard whole by the caller."""
    from ivr.faq import parse, sound_name

    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(False))
    text = parse(stack.settings.faq_file.read_bytes())["tariffs"]
    sound = f"hotline:{sound_name('tariffs', text)}"
    folder = prompt_folders(stack.settings)["hotline:"]
    assert (folder / f"{sound.removeprefix('hotline:')}.wav").exists()  # rendered before any call
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "какой у вас тариф на электроэнергию", AFTER_HOURS_Q),
                               Go(), Hangup()])
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.reach("more", timeout=90)  # the answer said, then "anything else?"
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()
    assert ("Меню в нерабочее время (Smart IVR)", "tariffs") in said_choices(s), s.events("speech")
    assert s.events("faq") == [{"topic": "tariffs", "told": True}]
    wanted = load_prompts({"hotline:": folder}, [sound])
    heard = names(find_prompts(capture.audio(caller.media_port),
                               {k: v[: int(len(v) * 0.95)] for k, v in wanted.items()}))
    assert heard == [sound], heard


async def test_speaking_over_the_greeting_is_heard(voice_ready: Stack) -> None:
    """The caller need not wait for the long menu: speech over it stops it (barge-in)."""
    stack = voice_ready
    stack.set_config("hours.operators", operators_schedule(False))
    caller = await stack.call(stack.settings.hotline_number,
                              [*speak(stack, "хочу передать показания"), Go(), Hangup()],
                              caller_id="79990000001")
    s = Script(stack, caller)
    await s.at("after_hours_menu")
    await s.reach("enter_tail", timeout=60)
    await s.press()
    result = await caller.wait(60)
    assert result.ok, result.explain()
    (menu,) = [n for n in s.events("speech") if n.get("question") == "ask"]
    assert menu["heard"] == "speech" and menu["barged_in"] is True, menu
    assert menu["played_ms"] < menu["prompt_ms"] - 5000, menu  # most of the menu never played
    assert ("Меню в нерабочее время (Smart IVR)", "readings") in said_choices(s)
