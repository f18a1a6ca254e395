"""Russian numbers, money, readings, digits, dates and times: the words, and that every sound
file they map to exists (the PBX's Russian pack, or our rendered prompts)."""

from __future__ import annotations

import os
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from base.settings import Settings
from hotline.stack.pbx import rootfs_path
from ivr.prompts import PROMPTS
from ivr.say_ru import (
    SOUNDS,
    date_sounds,
    date_words,
    digits_sounds,
    digits_words,
    money_sounds,
    money_words,
    number_sounds,
    number_words,
    plural,
    reading_sounds,
    reading_words,
    time_sounds,
    time_span_sounds,
    time_span_words,
    time_words,
)


def said(words: list[str]) -> str:
    return " ".join(words)


NUMBERS = [
    (0, "ноль"),
    (1, "один"),
    (2, "два"),
    (3, "три"),
    (10, "десять"),
    (11, "одиннадцать"),
    (12, "двенадцать"),
    (14, "четырнадцать"),
    (19, "девятнадцать"),
    (20, "двадцать"),
    (21, "двадцать один"),
    (22, "двадцать два"),
    (40, "сорок"),
    (45, "сорок пять"),
    (90, "девяносто"),
    (99, "девяносто девять"),
    (100, "сто"),
    (101, "сто один"),
    (104, "сто четыре"),
    (111, "сто одиннадцать"),
    (120, "сто двадцать"),
    (200, "двести"),
    (300, "триста"),
    (412, "четыреста двенадцать"),
    (570, "пятьсот семьдесят"),
    (999, "девятьсот девяносто девять"),
    (1000, "одна тысяча"),
    (1001, "одна тысяча один"),
    (1100, "одна тысяча сто"),
    (2000, "две тысячи"),
    (2001, "две тысячи один"),
    (3000, "три тысячи"),
    (4004, "четыре тысячи четыре"),
    (5000, "пять тысяч"),
    (11000, "одиннадцать тысяч"),
    (12345, "двенадцать тысяч триста сорок пять"),
    (14000, "четырнадцать тысяч"),
    (21000, "двадцать одна тысяча"),
    (22000, "двадцать две тысячи"),
    (25000, "двадцать пять тысяч"),
    (100000, "сто тысяч"),
    (111111, "сто одиннадцать тысяч сто одиннадцать"),
    (201002, "двести одна тысяча два"),
    (999999, "девятьсот девяносто девять тысяч девятьсот девяносто девять"),
    (1000000, "один миллион"),
    (1000001, "один миллион один"),
    (1234567, "один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь"),
    (1999999, "один миллион девятьсот девяносто девять тысяч девятьсот девяносто девять"),
    (2000000, "два миллиона"),
    (5000000, "пять миллионов"),
    (21000000, "двадцать один миллион"),
    (-5, "минус пять"),
]


@pytest.mark.parametrize(("n", "expected"), NUMBERS)
def test_number_words(n: int, expected: str) -> None:
    assert said(number_words(n)) == expected


@pytest.mark.parametrize(
    ("n", "gender", "expected"),
    [
        (1, "f", "одна"),
        (2, "f", "две"),
        (1, "n", "одно"),
        (2, "n", "два"),
        (21, "f", "двадцать одна"),
        (22, "f", "двадцать две"),
        (11, "f", "одиннадцать"),
        (12, "f", "двенадцать"),
        (1001, "f", "одна тысяча одна"),
        (2002, "n", "две тысячи два"),
        (101, "n", "сто одно"),
    ],
)
def test_number_words_gender(n: int, gender: str, expected: str) -> None:
    assert said(number_words(n, gender)) == expected  # type: ignore[arg-type]


def test_number_limits() -> None:
    assert said(number_words(999_999_999)).startswith("девятьсот девяносто девять миллионов")
    with pytest.raises(ValueError, match="too large"):
        number_words(1_000_000_000)
    with pytest.raises(TypeError):
        number_words(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gender"):
        number_words(1, "x")  # type: ignore[arg-type]


def test_number_sounds() -> None:
    assert number_sounds(1) == ["digits/1"]
    assert number_sounds(1, "n") == ["digits/1n"]
    assert number_sounds(1, "f") == ["hotline:w_1f"]
    assert number_sounds(2, "f") == ["hotline:w_2f"]
    assert number_sounds(245) == ["hotline:w_200", "digits/40", "digits/5"]
    assert number_sounds(1000) == ["hotline:w_1f", "digits/thousand"]
    assert number_sounds(2000) == ["hotline:w_2f", "hotline:w_thousand_2_4"]
    assert number_sounds(5000) == ["digits/5", "hotline:w_thousand_5"]
    assert number_sounds(1_000_000) == ["digits/1", "digits/million"]
    assert number_sounds(3_000_000) == ["digits/3", "hotline:w_million_2_4"]
    assert number_sounds(117) == ["digits/hundred", "digits/17"]
    assert number_sounds(-1) == ["digits/minus", "digits/1"]


@pytest.mark.parametrize(
    ("n", "form"),
    [(0, "many"), (1, "one"), (2, "few"), (4, "few"), (5, "many"), (11, "many"), (12, "many"),
     (14, "many"), (20, "many"), (21, "one"), (22, "few"), (25, "many"), (101, "one"),
     (111, "many"), (112, "many"), (1001, "one"), (-2, "few")],
)  # fmt: skip
def test_plural(n: int, form: str) -> None:
    assert plural(n, "one", "few", "many") == form


# ---- money ----------------------------------------------------------------------------------

MONEY = [
    ("1234.56", "одна тысяча двести тридцать четыре рубля пятьдесят шесть копеек"),
    ("1", "один рубль"),
    ("2", "два рубля"),
    ("5", "пять рублей"),
    ("11", "одиннадцать рублей"),
    ("21", "двадцать один рубль"),
    ("22", "двадцать два рубля"),
    ("101", "сто один рубль"),
    ("111", "сто одиннадцать рублей"),
    ("1000", "одна тысяча рублей"),
    ("2000000", "два миллиона рублей"),
    ("0", "ноль рублей"),
    ("100.00", "сто рублей"),
    ("3.01", "три рубля одна копейка"),
    ("3.02", "три рубля две копейки"),
    ("3.05", "три рубля пять копеек"),
    ("3.11", "три рубля одиннадцать копеек"),
    ("3.21", "три рубля двадцать одна копейка"),
    ("3.22", "три рубля двадцать две копейки"),
    ("0.50", "пятьдесят копеек"),
    ("0.01", "одна копейка"),
    ("1.005", "один рубль одна копейка"),  # rounded half up to the kopeck
    ("-150.50", "сто пятьдесят рублей пятьдесят копеек"),  # the sign is the prompt's business
    ("4521.3", "четыре тысячи пятьсот двадцать один рубль тридцать копеек"),
]


@pytest.mark.parametrize(("amount", "expected"), MONEY)
def test_money_words(amount: str, expected: str) -> None:
    assert said(money_words(Decimal(amount))) == expected


def test_money_accepts_int_refuses_float() -> None:
    assert said(money_words(21)) == "двадцать один рубль"
    with pytest.raises(TypeError):
        money_words(1.5)  # type: ignore[arg-type]


def test_money_sounds() -> None:
    assert money_sounds(Decimal("21.21")) == [
        "digits/20", "digits/1", "hotline:w_ruble_1",
        "digits/20", "hotline:w_1f", "hotline:w_kopeck_1",
    ]  # fmt: skip


# ---- readings, digits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (12345, False, "двенадцать тысяч триста сорок пять"),
        (0, False, "ноль"),
        (Decimal("123.05"), False, "сто двадцать три запятая ноль пять"),
        (Decimal("0.5"), False, "ноль запятая пять"),
        (Decimal("42"), False, "сорок два"),
        (Decimal("7.10"), False, "семь запятая один ноль"),  # the decimals as they were given
        (1, True, "один киловатт-час"),
        (22, True, "двадцать два киловатт-часа"),
        (5, True, "пять киловатт-часов"),
        (Decimal("12.5"), True, "двенадцать запятая пять киловатт-часа"),
    ],
)
def test_reading_words(value: Decimal | int, unit: bool, expected: str) -> None:
    assert said(reading_words(value, with_unit=unit)) == expected


def test_reading_rejects_negative_and_float() -> None:
    for bad in (-1, Decimal("-0.5")):
        with pytest.raises(ValueError, match="negative"):
            reading_words(bad)
    with pytest.raises(TypeError):
        reading_words(1.5)  # type: ignore[arg-type]


def test_reading_sounds() -> None:
    assert reading_sounds(Decimal("301.7")) == [
        "hotline:w_300", "digits/1", "hotline:w_comma", "digits/7",
    ]  # fmt: skip


def test_digits_keep_leading_zeros() -> None:
    assert said(digits_words("0045")) == "ноль ноль четыре пять"
    assert digits_sounds("0045") == ["digits/0", "digits/0", "digits/4", "digits/5"]
    assert digits_sounds("1902") == ["digits/1", "digits/9", "digits/0", "digits/2"]
    for bad in ("", "12a", "+7", "١٢"):
        with pytest.raises(ValueError, match="digits only"):
            digits_words(bad)


# ---- dates and times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2026, 11, 23), "двадцать третье ноября"),
        (date(2026, 1, 1), "первое января"),
        (date(2026, 2, 20), "двадцатое февраля"),
        (date(2026, 3, 8), "восьмое марта"),
        (date(2026, 5, 9), "девятое мая"),
        (date(2026, 6, 12), "двенадцатое июня"),
        (date(2026, 8, 30), "тридцатое августа"),
        (date(2026, 10, 21), "двадцать первое октября"),
        (date(2026, 12, 31), "тридцать первое декабря"),
        (date(2026, 4, 14), "четырнадцатое апреля"),
    ],
)
def test_date_words(d: date, expected: str) -> None:
    assert said(date_words(d)) == expected


def test_date_sounds() -> None:
    assert date_sounds(date(2026, 11, 23)) == ["digits/20", "hotline:w_ord_n_3", "digits/mon-10"]
    assert date_sounds(date(2026, 1, 1)) == ["hotline:w_ord_n_1", "digits/mon-0"]


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (time(8, 30), "восемь часов тридцать минут"),
        (time(21, 0), "двадцать один час"),
        (time(1, 1), "один час одна минута"),
        (time(2, 22), "два часа двадцать две минуты"),
        (time(0, 5), "ноль часов пять минут"),
        (time(14, 11), "четырнадцать часов одиннадцать минут"),
    ],
)
def test_time_words(t: time, expected: str) -> None:
    assert said(time_words(t)) == expected


# ---- every sound exists ---------------------------------------------------------------------


def _spoken_sounds() -> set[str]:
    """The sounds of a broad sample of everything this module says."""
    sounds: set[str] = set()
    numbers = {*range(-3, 1200), *(n for n, _ in NUMBERS), 2_000_000, 999_999_999}
    numbers |= {n * 1000 + 1 for n in range(0, 1000, 7)} | {n * 1_000_000 for n in range(1, 40)}
    for n in numbers:
        for gender in ("m", "f", "n"):
            sounds.update(number_sounds(n, gender))  # type: ignore[arg-type]
    for kopecks in range(0, 10_000, 3):
        sounds.update(money_sounds(Decimal(kopecks) / 100))
    day = date(2028, 1, 1)  # a leap year
    while day.year == 2028:
        sounds.update(date_sounds(day))
        day += timedelta(days=1)
    for minutes in range(24 * 60):
        sounds.update(time_sounds(time(minutes // 60, minutes % 60)))
    sounds.update(reading_sounds(Decimal("1234.5"), with_unit=True))
    for reading in (1, 22, 5):
        sounds.update(reading_sounds(reading, with_unit=True))
    sounds.update(digits_sounds("0123456789"))
    for minutes in range(24 * 60):
        sounds.update(time_span_sounds(time(minutes // 60, minutes % 60), time.max))
    return sounds


@pytest.mark.parametrize(("start", "end", "words"), [
    (time(8), time(20), "от восьми до двадцати"),
    (time(8, 30), time(17, 45), "от восьми тридцати до семнадцати сорока пяти"),
    (time(9, 5), time(21), "от девяти ноль пяти до двадцати одного"),
    (time(0), time.max, "от нуля до двадцати четырёх"),
    (time(10), time(0), "от десяти до двадцати четырёх"),
])
def test_time_spans_in_the_genitive(start: time, end: time, words: str) -> None:
    assert " ".join(time_span_words(start, end)) == words


def test_every_word_spoken_has_a_sound() -> None:
    # to_sounds raises KeyError for a word without a sound; and no sound is left unused.
    assert _spoken_sounds() == set(SOUNDS.values())


def test_our_words_are_prompts_that_say_them() -> None:
    for word, sound in SOUNDS.items():
        if sound.startswith("hotline:"):
            name = sound.removeprefix("hotline:")
            assert name.startswith("w_"), name
            assert PROMPTS.get(name) == word, f"PROMPTS[{name!r}] should say «{word}»"


def _inside(root: Path, path: Path) -> Path:
    """``path`` resolved as the chroot sees it (absolute symlinks point inside ``root``)."""
    current = root
    for part in path.relative_to("/").parts:
        current = current / part
        for _ in range(20):
            if not current.is_symlink():
                break
            target = Path(os.readlink(current))
            current = (
                root / target.relative_to("/")
                if target.is_absolute()
                else (current.parent / target)
            )
    return current


def test_every_pack_sound_exists_in_the_pbx() -> None:
    root = rootfs_path(Settings())
    pack = root / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU"
    assert pack.is_dir(), f"no Russian sound pack at {pack}: run `.venv/bin/hotline pbx build`"
    # Channels speak language `ru`: the pack Asterisk plays is the one `sounds/ru` points to.
    assert _inside(root, Path("/usr/share/asterisk/sounds/ru")).resolve() == pack.resolve()
    missing = [
        sound for sound in sorted(set(SOUNDS.values()))
        if not sound.startswith("hotline:") and not list(pack.glob(f"{sound}.*"))
    ]  # fmt: skip
    assert not missing, f"not in the Russian pack: {missing}"
