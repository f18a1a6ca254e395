"""Readings by voice (pure flow logic): identification, the reading, the confirmation; the
value is always read back and confirmed, unsure speech is asked again, two failures go to
the keypad, and the keyed flow's checks still apply. Spoken answers are scripted (`Heard`)."""

from __future__ import annotations

from voice_fakes import OVERLOAD, SILENCE, TWO_ZONE, make_call, said

from ivr.hotline import IDENTIFY, READINGS
from ivr.say_ru import reading_sounds


def stored(call) -> list[tuple]:  # type: ignore[no-untyped-def]
    return call.data.stored


async def test_a_spoken_reading_is_read_back_and_stored_on_yes() -> None:
    call = make_call([said("0011"), said("12400"), said("yes")])
    assert await READINGS.run(call) == "done"
    how, read_back = call.asked[2]
    assert how == "voice:yesno"
    assert read_back == ["hotline:rd_you_said", *reading_sounds(12400), "hotline:rd_confirm",
                         "hotline:yes_no_or_say"]
    assert stored(call) == [("total", 12400, "ivr_voice")]
    assert call.notes.of("identified")[0]["how"] == "last_digits"
    # the reading question was asked by voice with what recognition may weigh it against
    context = call.contexts[1]
    assert (context.previous, context.days, context.digits, context.zones) == (12345, 30, 6, ("total",))


async def test_no_means_enter_again_and_only_the_second_value_is_stored() -> None:
    call = make_call([said("0011"), said("13400"), said("no"), said("12450"), said("yes", text="верно")])
    assert await READINGS.run(call) == "done"
    assert stored(call) == [("total", 12450, "ivr_voice")]
    assert [how for how, _ in call.asked] == ["voice:number", "voice:reading", "voice:yesno",
                                              "voice:reading", "voice:yesno"]
    assert "reenter" in call.steps()


async def test_keys_work_at_every_step_and_are_stored_as_keyed() -> None:
    call = make_call(["0011#", "12400#", "1"])
    assert await READINGS.run(call) == "done"
    assert stored(call) == [("total", 12400, "ivr_dtmf")]
    assert call.asked[2][1][0] == "hotline:rd_you_entered"


async def test_an_unsure_reading_is_asked_again_then_the_keypad() -> None:
    call = make_call([said("0011"), said("12400", confidence=0.3), SILENCE, "12401#", "1"])
    assert await READINGS.run(call) == "done"
    hows = [how for how, _ in call.asked]
    assert hows == ["voice:number", "voice:reading", "voice:reading", "keys", "voice:yesno"]
    assert call.asked[2][1][0] == "hotline:speech_not_understood"  # asked again, not guessed
    assert call.asked[3][1][:2] == ["hotline:no_input", "hotline:speech_use_keys"]
    assert "hotline:rd_or_say" not in call.asked[3][1]  # the keypad: no invitation to speak
    assert stored(call) == [("total", 12401, "ivr_dtmf")]


async def test_silence_everywhere_ends_in_the_flows_help_never_a_stored_value() -> None:
    call = make_call([said("0011"), SILENCE, SILENCE, ""])
    assert await READINGS.run(call) == "failed"
    assert stored(call) == []


async def test_overload_goes_to_the_keypad_at_once() -> None:
    call = make_call([said("0011"), OVERLOAD, "12400#", "1"])
    assert await READINGS.run(call) == "done"
    assert call.asked[2] == ("keys", ["hotline:speech_use_keys", "hotline:rd_zone_total"])


async def test_unsure_yes_is_never_taken_as_yes() -> None:
    call = make_call([said("0011"), said("12400"), said("yes", confidence=0.2), said("yes")])
    assert await READINGS.run(call) == "done"
    assert call.asked[3][1][0] == "hotline:speech_not_understood"
    assert stored(call) == [("total", 12400, "ivr_voice")]


async def test_a_decimal_part_is_dropped_and_the_whole_kwh_said() -> None:
    call = make_call([said("0011"), said("12400", text="двенадцать тысяч четыреста запятая пять"),
                      said("yes")])
    assert await READINGS.run(call) == "done"
    assert call.asked[2][1][:1 + len(reading_sounds(12400))] == ["hotline:rd_decimal_dropped",
                                                                 *reading_sounds(12400)]
    assert stored(call) == [("total", 12400, "ivr_voice")]


async def test_day_and_night_in_one_utterance_fill_both_zones_each_read_back() -> None:
    call = make_call([said("0011"), "1",  # two meters: choose the first by key
                      said(None, zones={"day": "5100", "night": "2050"}), said("yes"), said("yes")],
                     meters=(TWO_ZONE, TWO_ZONE))
    assert await READINGS.run(call) == "done"
    read_backs = [p for how, p in call.asked if how == "voice:yesno"]
    assert read_backs[0][:2] == ["hotline:rd_you_said", "hotline:rd_of_zone_day"]
    # "saved" for the day, then the night said with it, read back in its turn
    assert read_backs[1][:3] == ["hotline:rd_saved", "hotline:rd_you_said", "hotline:rd_of_zone_night"]
    assert reading_sounds(2050)[0] in read_backs[1]
    assert stored(call) == [("day", 5100, "ivr_voice"), ("night", 2050, "ivr_voice")]
    # the night was not asked for: it was said with the day
    assert [how for how, _ in call.asked].count("voice:reading") == 1


async def test_rejecting_the_day_forgets_the_night_said_with_it() -> None:
    call = make_call([said("0011"), "1", said(None, zones={"day": "5100", "night": "2050"}), said("no"),
                      said("5101"), said("yes"), said("2051"), said("yes")], meters=(TWO_ZONE, TWO_ZONE))
    assert await READINGS.run(call) == "done"
    assert stored(call) == [("day", 5101, "ivr_voice"), ("night", 2051, "ivr_voice")]


async def test_the_keyed_checks_still_apply_to_a_spoken_reading() -> None:
    # below the previous (12345): not a replacement ("нет"), entered again; then stored
    call = make_call([said("0011"), said("12000"), said("yes"), said("no"), said("12400"), said("yes")])
    assert await READINGS.run(call) == "done"
    assert [e["result"] for e in call.notes.of("readings") if e.get("event") == "check"] == ["below_previous"]
    assert stored(call) == [("total", 12400, "ivr_voice")]
    # too many digits for a 6-digit meter: said so, asked again
    call = make_call([said("0011"), said("1234567"), said("12400"), said("yes")])
    assert await READINGS.run(call) == "done"
    assert [e["reason"] for e in call.notes.of("readings") if e.get("event") == "rejected"] == ["too_many_digits"]


async def test_identification_by_voice_whole_number_and_wrong_tail_counted() -> None:
    call = make_call([said("1234"), said("430100000011")])
    call.data.accounts = []  # an unknown caller number: the whole account number is asked
    call.data.account_by_number = lambda n: make_call([]).data.accounts[0] if n == "430100000011" else None
    assert await IDENTIFY.run(call) == "identified"
    assert call.asked[0][1] == ["hotline:id_enter", "hotline:id_or_say_number"]
    assert [e["result"] for e in call.notes.of("identification")] == ["bad_format"]

    call = make_call([said("9999"), said("0011")])
    assert await IDENTIFY.run(call) == "identified"
    assert call.identity.recorded == ["wrong", "ok"]  # a confident wrong guess counts as keyed


async def test_unsure_spoken_digits_are_not_a_wrong_guess() -> None:
    call = make_call([said("9999", confidence=0.2), SILENCE, "0011#"])
    assert await IDENTIFY.run(call) == "identified"
    assert call.identity.recorded == ["ok"]
    assert [how for how, _ in call.asked] == ["voice:number", "voice:number", "keys"]
    assert call.asked[2][1] == ["hotline:no_input", "hotline:speech_use_keys", "hotline:id_enter_tail"]


async def test_speech_off_asks_exactly_as_the_keypad_flow() -> None:
    call = make_call(["0011#", "12400#", "1"], voice=False)
    assert await READINGS.run(call) == "done"
    assert call.asked == [("keys", ["hotline:id_enter_tail"]), ("keys", ["hotline:rd_zone_total"]),
                          ("keys", ["hotline:rd_you_entered", *reading_sounds(12400), "hotline:rd_confirm"])]
