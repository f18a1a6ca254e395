"""The Smart IVR and the main menu's speech (pure flow logic, scripted `Heard` answers): what
each spoken request leads to, in and out of hours; one clarifying question then the keypad;
FAQ answers only from the content file; hours only from the schedule; keys as before."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from voice_fakes import SILENCE, make_call, said

from hours.service import OPERATOR_HOURS
from ivr.faq import FaqStore
from ivr.hotline import HOTLINE
from ivr.smart import SMART
from ivr.telling import hours_sounds


def choices(call) -> list[dict]:  # type: ignore[no-untyped-def]
    return call.notes.of("choice")


async def test_out_of_hours_i_want_to_give_readings_goes_to_the_readings_flow() -> None:
    call = make_call([said("readings"), said("0011"), said("12400"), said("yes"), "2"], open_=False)
    assert await HOTLINE.run(call) == "done"
    assert call.asked[0] == ("voice:intent", ["hotline:hours_unavailable_now", "hotline:menu_after_hours",
                                              "hotline:smart_or_say"])
    assert choices(call)[0] == {"menu": "Меню в нерабочее время (Smart IVR)", "said": "readings",
                                "outcome": "readings", "confidence": 0.9}
    assert call.data.stored == [("total", 12400, "ivr_voice")]


async def test_out_of_hours_operator_becomes_a_callback_offer_never_the_queue() -> None:
    call = make_call([said("operator"), said("yes")], open_=False)
    assert await HOTLINE.run(call) == "done"
    steps = call.steps()
    assert "operator" not in steps  # no queue when closed
    assert steps[-3:] == ["offer_callback", "callback_after_hours", "goodbye"]
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]
    # key 1 books as well
    call = make_call([said("operator"), "1"], open_=False)
    await HOTLINE.run(call)
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]


async def test_in_hours_operator_by_voice_joins_the_queue() -> None:
    call = make_call([said("operator")], open_=True)

    async def queue(app: str, args: str) -> None:
        call.queued = args  # type: ignore[attr-defined]

    call.agi.exec = queue  # type: ignore[method-assign]
    assert await HOTLINE.run(call) == "done"
    assert call.steps()[:3] == ["hours_check", "main_menu", "operator"]
    assert call.queued == "operators,,,,300"  # type: ignore[attr-defined]


async def test_balance_by_voice_only_after_identification() -> None:
    call = make_call([said("balance"), said("0011"), "2"], open_=True)
    assert await HOTLINE.run(call) == "done"
    kinds = [k for k, _ in call.notes.items]
    assert kinds.index("identified") < kinds.index("balance")
    assert call.notes.of("balance") == [{"told": True}]


async def test_unrecognised_one_clarifying_question_then_the_keypad_menu() -> None:
    call = make_call([said(None, confidence=0.0, text="эээ"), said("readings", confidence=0.3), "4"],
                     open_=False)
    assert await HOTLINE.run(call) == "done"
    hows = [(how, prompt[-1]) for how, prompt in call.asked]
    assert hows == [("voice:intent", "hotline:smart_or_say"), ("voice:intent", "hotline:smart_clarify"),
                    ("keys", "hotline:menu_after_hours")]
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]
    assert [c["outcome"] for c in choices(call)] == ["not_understood", "unsure", "callback"]


async def test_the_clarifying_question_can_succeed() -> None:
    call = make_call([said(None, confidence=0.0), said("callback")], open_=False)
    assert await HOTLINE.run(call) == "done"
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]


async def test_keys_go_through_as_before_with_speech_on() -> None:
    call = make_call(["4"], open_=False)
    assert await HOTLINE.run(call) == "done"
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]
    assert choices(call) == [{"menu": "Меню в нерабочее время (Smart IVR)", "key": "4", "outcome": "callback"}]


async def test_silence_is_asked_again_then_the_callback_offer_as_before() -> None:
    call = make_call([SILENCE, SILENCE, SILENCE, "1"], open_=False)
    await HOTLINE.run(call)
    assert [c["outcome"] for c in choices(call)][:3] == ["no_input"] * 3
    assert "offer_callback" in call.steps()
    assert call.booked == ["ivr_after_hours"]  # type: ignore[attr-defined]


async def test_speech_off_the_menu_is_the_keypad_one_unchanged() -> None:
    call = make_call(["4"], open_=False, voice=False)
    await HOTLINE.run(call)
    assert call.asked == [("keys", ["hotline:hours_unavailable_now", "hotline:menu_after_hours"])]


def faq_store(tmp_path: Path, text: str | None) -> FaqStore:
    path = tmp_path / "faq.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return FaqStore(path, tmp_path / "sounds", tmp_path / "cache")


async def test_tariffs_are_answered_from_the_content_file(tmp_path: Path) -> None:
    faq = faq_store(tmp_path, "[tariffs]\ntext = 'Тариф указан в квитанции.'\n")
    call = make_call([said("tariffs"), "2"], open_=False, faq=faq)
    assert await HOTLINE.run(call) == "done"
    answer = faq.answer("tariffs")
    assert answer is not None and [answer.sound] in call.said_
    assert call.notes.of("faq") == [{"topic": "tariffs", "told": True}]
    assert (tmp_path / "sounds" / f"{answer.sound.removeprefix('hotline:')}.wav").exists()


async def test_no_answer_in_the_file_is_said_so_and_help_offered(tmp_path: Path) -> None:
    faq = faq_store(tmp_path, None)  # no file: no answers, never made-up ones
    call = make_call([said("payment"), "1"], open_=False, faq=faq)
    await HOTLINE.run(call)
    assert call.notes.of("faq") == [{"topic": "payment", "told": False}]
    offer = next(p for how, p in call.asked if p[-2:] == ["hotline:cb_offer_after_hours",
                                                          "hotline:yes_no_or_say"])
    assert offer[0] == "hotline:faq_none"
    # in hours the operator instead
    call = make_call([said("payment")], open_=True, faq=faq)
    call.agi.exec = lambda app, args: _none()  # type: ignore[method-assign,assignment]
    await HOTLINE.run(call)
    assert call.steps()[-2:] == ["need_help", "operator"]


async def _none() -> None:
    return


async def test_hours_are_said_from_the_schedule() -> None:
    opening = datetime(2026, 12, 2, 8, tzinfo=ZoneInfo("Europe/Kirov"))
    call = make_call([said("hours"), "2"], open_=False, hours=lambda: (OPERATOR_HOURS, opening))
    await HOTLINE.run(call)
    told = next(s for s in call.said_ if "hotline:hours_work" in s)
    assert told == hours_sounds(OPERATOR_HOURS, opening)
    # in hours: "operators are working now" and the week, no "closed now"
    call = make_call([said("hours"), "2"], open_=True, hours=lambda: (OPERATOR_HOURS, None))
    await HOTLINE.run(call)
    told = next(s for s in call.said_ if "hotline:hours_work" in s)
    assert told[0] == "hotline:hours_open_now" and "hotline:hours_closed_now" not in told
    # unreadable schedule: nothing guessed
    call = make_call([said("hours"), "2"], open_=False, hours=lambda: None)
    await HOTLINE.run(call)
    assert ["hotline:hours_unavailable_now"] in call.said_


def test_the_smart_ivr_is_a_declared_table() -> None:
    text = SMART.describe()
    assert "ask:" in text and "clarify:" in text and "keypad:" in text
    assert set(SMART.outcomes) == {"readings", "balance", "outages", "callback", "operator", "done",
                                   "no_answer", "fail"}
