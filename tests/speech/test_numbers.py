"""speech.numbers: Russian number words and Whisper's digits → candidate readings."""

import pytest

from speech.numbers import number_word, readings, split_zones


def best(text: str) -> str:
    return readings(text)[0].digits


def values(text: str) -> list[str]:
    return [c.digits for c in readings(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("сорок семь тысяч восемьсот двенадцать", "47812"),
        ("двести одна тысяча девятьсот", "201900"),
        ("одна тысяча сто один", "1101"),
        ("тысяча девять", "1009"),
        ("восемь один три три семь", "81337"),
        ("сорок семь восемьсот двенадцать", "47812"),
        ("двести один девятьсот пять", "201905"),
        ("ноль ноль семь четыре", "0074"),
        ("ноль девяносто шесть", "096"),
        ("полторы тысячи", "1500"),
        ("три тысячи", "3000"),
        ("девятнадцать ноль ноль", "1900"),
    ],
)
def test_words(text: str, expected: str) -> None:
    assert best(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 47,812", "47812"),
        ("47.812.", "47812"),
        ("47 812", "47812"),
        ("4 7 8 1 2", "47812"),
        ("4-7-8-1-2", "47812"),
        ("Мои показания 201 905.", "201905"),
        ("0074", "0074"),
        ("47 тысяч 812", "47812"),
    ],
)
def test_whisper_digits(text: str, expected: str) -> None:
    assert best(text) == expected


def test_ambiguous_words_give_every_reading_with_priors() -> None:
    cands = readings("тридцать один пятьдесят")
    digits = [c.digits for c in cands]
    assert digits[0] == "3150"  # "31" then "50"
    assert "30150" in digits  # "30", "1", "50": less likely, still offered
    assert abs(sum(c.prior for c in cands) - 1.0) < 1e-6
    assert cands[0].prior > cands[1].prior


def test_decimal_part_is_dropped_and_reported() -> None:
    c = readings("семь тысяч сорок запятая шесть")[0]
    assert (c.digits, c.fraction) == ("7040", "6")
    c = readings("7040,6")[0]
    assert (c.digits, c.fraction) == ("7040", "6")
    # a comma before three digits is Whisper's thousands separator, the decimal reading stays
    assert values("7,040")[:2] == ["7040", "7"]


def test_misspellings_and_glued_words() -> None:
    assert number_word("тристо") == ("H", 300)
    assert number_word("четыри") == ("U", 4)
    assert number_word("шестьдесять") == ("T", 60)
    assert number_word("день") is None and number_word("сон") is None
    assert best("девятсот двадцатьпять") == "925"


def test_no_number_no_candidate() -> None:
    assert readings("добрый день") == []
    assert readings("") == []


def test_zones() -> None:
    assert split_zones("день сорок тысяч, ночь девять тысяч два") == {
        "day": "сорок тысяч", "night": "девять тысяч два"}
    assert split_zones("Т1 40000, Т2 9002") == {"day": "40000", "night": "9002"}
    assert split_zones("дневные 411 ночные 97") == {"day": "411", "night": "97"}
    assert split_zones("тариф один 5 тариф два 6") == {"day": "5", "night": "6"}
    assert split_zones("сорок тысяч") is None


def test_hundreds_split_by_the_asr() -> None:
    assert best("семь сот двенадцать") == "712"
    assert best("четыре стодвадцать") == "420"
    assert best("девять hundred один") == "901"
    assert best("тридцать писяч сорок") == "30040"


def test_zero_as_whisper_mishears_it() -> None:
    assert best("семь нали четыре") == "704"
    assert best("нель нель три") == "003"


def test_leading_zero_misheard() -> None:
    assert best("Налив семь тысяч сорок один") == "07041"
    assert best("Нылмали три пять") == "0035"
    assert best("мало ли, сорок два") == "42"  # "мало" is a word, not a zero


def test_thousand_misheard_and_zone_markers_misheard() -> None:
    assert best("четыре песячут девять") == "4009"
    assert best("двадцать однопесяча сто") == "21100"
    assert split_zones("Тодин пять под два шесть") == {"day": "пять", "night": "шесть"}
    assert split_zones("дневный сорок ночные семь") == {"day": "сорок", "night": "семь"}
