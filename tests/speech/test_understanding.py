"""speech.understanding: N-best evidence, the previous reading, the meter's digits (pure)."""

from speech.engine import Expect, Hypothesis, Transcript
from speech.understanding import ReadingContext, plausibility, understand, unloop


def tr(*hyps: tuple[str, float]) -> Transcript:
    return Transcript(tuple(Hypothesis(t, c) for t, c in hyps), "test", 3000, 50.0)


def test_reading_from_digits_and_words() -> None:
    u = understand(tr((" 58,214", 0.8)), Expect.READING)
    assert (u.value, u.text) == ("58214", "58,214")
    assert u.confidence > 0.6
    u = understand(tr(("пятьдесят восемь двести четырнадцать", 0.7)), Expect.READING)
    assert u.value == "58214"


def test_leading_zeros_are_kept() -> None:
    assert understand(tr(("ноль ноль шесть три один", 0.7)), Expect.READING).value == "00631"


def test_previous_reading_decides_between_hypotheses() -> None:
    # the engine's best says 58,014 but that is below the previous reading; the second fits
    t = tr(("58,014", 0.62), ("58,214", 0.55))
    ctx = ReadingContext(previous=58100, days=30)
    u = understand(t, Expect.READING, ctx)
    assert u.value == "58214"
    assert "58014" in u.alternatives
    assert understand(t, Expect.READING, ReadingContext()).value == "58014"


def test_implausible_consumption_loses_weight() -> None:
    t = tr(("78 214", 0.62), ("58 214", 0.58))
    u = understand(t, Expect.READING, ReadingContext(previous=58100, days=30, max_daily_kwh=50))
    assert u.value == "58214"


def test_longer_than_the_meter_loses_weight() -> None:
    t = tr(("1582 14", 0.62), ("58 214", 0.55))
    assert understand(t, Expect.READING, ReadingContext(digits=5)).value == "58214"


def test_never_invents_a_value() -> None:
    # every hypothesis is below the previous reading: the value is still one of them, with
    # low confidence (the flow asks again), never the previous reading or a made-up one
    t = tr(("12,345", 0.7))
    u = understand(t, Expect.READING, ReadingContext(previous=50000, days=30))
    assert u.value == "12345"
    u2 = understand(tr(("12,345", 0.7)), Expect.READING, ReadingContext())
    assert u.confidence <= u2.confidence


def test_nothing_understood() -> None:
    assert understand(tr(), Expect.READING).value is None
    u = understand(tr(("Спасибо.", 0.8)), Expect.READING)
    assert (u.value, u.confidence) == (None, 0.0)


def test_decoder_loop_is_cut() -> None:
    assert unloop("показаний 12,345 показаний 12,345 показаний 12,") == "показаний 12,345"
    u = understand(tr(("Мои показания 41 803. Мои показания 41 803. Мои", 0.7)),
                   Expect.READING, ReadingContext(digits=6))
    assert u.value == "41803"


def test_decimal_part_is_reported() -> None:
    u = understand(tr(("41 803 запятая семь", 0.7)), Expect.READING)
    assert (u.value, u.fraction) == ("41803", "7")


def test_zones() -> None:
    ctx = ReadingContext(zones=("day", "night"))
    u = understand(tr(("День 21 664, ночь 4 019.", 0.7)), Expect.READING, ctx)
    assert u.zones == {"day": "21664", "night": "4019"} and u.value is None
    assert u.confidence > 0.5
    u = understand(tr(("День 21 664", 0.7)), Expect.READING, ctx)
    assert u.zones == {"day": "21664"} and u.value == "21664"


def test_plausibility() -> None:
    ctx = ReadingContext(previous=1000, days=10, digits=5, max_daily_kwh=10)
    assert plausibility("1050", ctx, True) == 1.0
    assert plausibility("999", ctx, True) < 0.1
    assert plausibility("1500", ctx, True) < 0.5
    assert plausibility("123456", ctx, True) < 0.05


def test_number_ignores_previous() -> None:
    u = understand(tr(("последние цифры 40 21", 0.7)), Expect.NUMBER, ReadingContext(digits=4))
    assert u.value == "4021"


def test_yes_no_over_hypotheses() -> None:
    u = understand(tr(("Да, верно.", 0.8), ("Да, верно", 0.7)), Expect.YESNO)
    assert (u.value, u.alternatives) == ("yes", ())
    assert u.confidence > 0.6
    u = understand(tr(("Нет, не так.", 0.8)), Expect.YESNO)
    assert u.value == "no"
    u = understand(tr(("Алло?", 0.8)), Expect.YESNO)
    assert (u.value, u.confidence) == (None, 0.0)


def test_intent_over_hypotheses() -> None:
    u = understand(tr(("Соедините с оператором.", 0.8), ("Соедините с оператор", 0.6)),
                   Expect.INTENT)
    assert u.value == "operator" and u.confidence > 0.5
    u = understand(tr(("Хочу передать показания.", 0.7)), Expect.INTENT)
    assert u.value == "readings"
    u = understand(tr(("Добрый вечер.", 0.7)), Expect.INTENT)
    assert u.value is None


def test_a_digit_said_twice_is_no_loop() -> None:
    assert unloop("три три восемь один три три восемь один") == "три три восемь один"
    assert unloop("девять, девять, ноль два.") == "девять, девять, ноль два."
    u = understand(tr(("шесть шесть один", 0.7)), Expect.NUMBER, ReadingContext(digits=3))
    assert u.value == "661"


def test_a_short_block_said_twice_may_be_the_reading() -> None:
    u = understand(tr(("Четыре, ноль четыре, ноль четыре", 0.6)), Expect.READING,
                   ReadingContext(previous=40300, days=30))
    assert u.value == "40404"
