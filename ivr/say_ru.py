"""Russian numbers, money, readings, digits, dates and times, as words and as sound files.

Every function here is pure. The ``*_words`` functions give the Russian words (for tests,
logs and the call trail; join them with spaces for a phrase); the ``*_sounds`` functions give
the sound files to play, word for word: one word is one file, through :data:`SOUNDS`.

Sound names:

- ``digits/<name>``: Asterisk's Russian pack (``ru_RU_f_IvrvoiceRU``, a real human voice);
- ``hotline:<name>``: our own prompts (``ivr.prompts.PROMPTS``, names starting ``w_``),
  rendered by Festival for the words the pack lacks. The IVR resolves ``hotline:`` to its
  sounds folder.

What the pack's files say (checked by their vowels' formants against known words of the same
voice, since the names are Asterisk's English conventions):

- ``digits/0``…``digits/20``, ``digits/30``…``digits/90``: «ноль»…«двадцать», «тридцать»…
  «девяносто»; ``digits/1`` and ``digits/2`` are the masculine «один», «два».
- ``digits/1n``, ``digits/2n``: the NEUTER «одно», «два» (the voicemail's «одно новое
  сообщение»), not the feminine «одна», «две»: those are ours (``w_1f``, ``w_2f``).
- ``digits/hundred`` «сто», ``digits/thousand`` «тысяча», ``digits/million`` «миллион»,
  ``digits/minus`` «минус». Unlike the files Asterisk's own ``say.c`` expects for Russian
  (``digits/200``…``digits/900``, ``thousands-i``, ``thousands``, ``million-a``,
  ``millions``, ``1f``, ``2f``), the pack has no hundreds from 200 on and no plural forms of
  тысяча/миллион: all ours.
- ``digits/mon-0``…``digits/mon-11``: the months in the GENITIVE («января»…«декабря»), as a
  date needs them.
- ``digits/h-1``…``digits/h-20``, ``h-30``…: MASCULINE ordinals («первый», «второй», …),
  so a date's neuter ordinals («первое»…«тридцатое») are ours (``w_ord_n_*``).

- ``digits/oclock`` «часов», ``queue-minutes`` «минут», ``queue-minute`` «минута» (the
  queue's announcements): clock times use them, so a time is said in the human voice but for
  «час», «часа», «минуты» (ours). Measured (``hotline bench asr``'s speech-output round
  trip, one engine): 65 clock times recognised back 77 % with Festival's «часов», «минут»,
  «минута», 82 % with the pack's.

Units spoken: рубль/копейка (money), киловатт-час (readings), ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

__all__ = [
    "SOUNDS",
    "Gender",
    "date_sounds",
    "date_words",
    "digits_sounds",
    "digits_words",
    "from_time_sounds",
    "money_sounds",
    "money_words",
    "number_sounds",
    "number_words",
    "plural",
    "reading_sounds",
    "reading_words",
    "time_sounds",
    "time_span_sounds",
    "time_span_words",
    "time_words",
    "to_sounds",
]

Gender = Literal["m", "f", "n"]

MAX_NUMBER: Final = 999_999_999

_UNITS: Final = (
    "ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять",
    "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
    "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать",
)  # fmt: skip
_ONE: Final[dict[str, str]] = {"m": "один", "f": "одна", "n": "одно"}
_TWO: Final[dict[str, str]] = {"m": "два", "f": "две", "n": "два"}
_TENS: Final = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят",
                "семьдесят", "восемьдесят", "девяносто")  # fmt: skip
_HUNDREDS: Final = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот",
                    "семьсот", "восемьсот", "девятьсот")  # fmt: skip
# Neuter ordinals for the day of a month (число is neuter: «двадцать третье ноября»).
_ORDINALS_N: Final[dict[int, str]] = {
    1: "первое", 2: "второе", 3: "третье", 4: "четвёртое", 5: "пятое", 6: "шестое",
    7: "седьмое", 8: "восьмое", 9: "девятое", 10: "десятое", 11: "одиннадцатое",
    12: "двенадцатое", 13: "тринадцатое", 14: "четырнадцатое", 15: "пятнадцатое",
    16: "шестнадцатое", 17: "семнадцатое", 18: "восемнадцатое", 19: "девятнадцатое",
    20: "двадцатое", 30: "тридцатое",
}  # fmt: skip
_MONTHS_GENITIVE: Final = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля",
                           "августа", "сентября", "октября", "ноября", "декабря")  # fmt: skip

# (one, few, many) forms of the nouns counted here.
THOUSAND: Final = ("тысяча", "тысячи", "тысяч")
MILLION: Final = ("миллион", "миллиона", "миллионов")
RUBLE: Final = ("рубль", "рубля", "рублей")
KOPECK: Final = ("копейка", "копейки", "копеек")
KWH: Final = ("киловатт-час", "киловатт-часа", "киловатт-часов")
HOUR: Final = ("час", "часа", "часов")
MINUTE: Final = ("минута", "минуты", "минут")
COMMA: Final = "запятая"
MINUS: Final = "минус"
# Numbers in the genitive, for clock times after «от»/«до» («от восьми до двадцати»).
_GENITIVE: Final = (
    "нуля", "одного", "двух", "трёх", "четырёх", "пяти", "шести", "семи", "восьми", "девяти",
    "десяти", "одиннадцати", "двенадцати", "тринадцати", "четырнадцати", "пятнадцати",
    "шестнадцати", "семнадцати", "восемнадцати", "девятнадцати",
)  # fmt: skip
_TENS_GENITIVE: Final = {20: "двадцати", 30: "тридцати", 40: "сорока", 50: "пятидесяти"}
FROM: Final = "от"
UNTIL: Final = "до"


def _pack() -> dict[str, str]:
    sounds = {word: f"digits/{n}" for n, word in enumerate(_UNITS)}
    sounds.update({word: f"digits/{n * 10}" for n, word in enumerate(_TENS) if word})
    sounds.update({"одно": "digits/1n", "сто": "digits/hundred", "тысяча": "digits/thousand",
                   "миллион": "digits/million", MINUS: "digits/minus"})  # fmt: skip
    sounds.update({word: f"digits/mon-{n}" for n, word in enumerate(_MONTHS_GENITIVE)})
    sounds.update(_PACK_UNITS)
    return sounds


# Counted nouns the pack says in its human voice (see the module's docstring).
_PACK_UNITS: Final[dict[str, str]] = {"часов": "digits/oclock", "минут": "queue-minutes",
                                      "минута": "queue-minute"}


def _ours() -> dict[str, str]:
    sounds = {"одна": "w_1f", "две": "w_2f", COMMA: "w_comma", FROM: "w_from", UNTIL: "w_until"}
    sounds.update({word: f"w_gen_{n}" for n, word in enumerate(_GENITIVE)})
    sounds.update({word: f"w_gen_{n}" for n, word in _TENS_GENITIVE.items()})
    sounds.update({word: f"w_{n * 100}" for n, word in enumerate(_HUNDREDS) if n >= 2})
    sounds.update({word: f"w_ord_n_{n}" for n, word in _ORDINALS_N.items()})
    for stem, forms in (("thousand", THOUSAND), ("million", MILLION), ("ruble", RUBLE),
                        ("kopeck", KOPECK), ("kwh", KWH), ("hour", HOUR),
                        ("minute", MINUTE)):  # fmt: skip
        for suffix, word in zip(("1", "2_4", "5"), forms, strict=True):
            if word not in ("тысяча", "миллион") and word not in _PACK_UNITS:  # the pack's
                sounds[word] = f"w_{stem}_{suffix}"
    return {word: f"hotline:{name}" for word, name in sounds.items()}


# Word -> the sound file that says it. Every word any function here returns is a key.
SOUNDS: Final[dict[str, str]] = {**_pack(), **_ours()}


def to_sounds(words: Iterable[str]) -> list[str]:
    """The sound files for these words (a KeyError names a word no file says)."""
    return [SOUNDS[word] for word in words]


def plural(n: int, one: str, few: str, many: str) -> str:
    """The noun form after ``n``: 1 рубль, 2 рубля, 5 рублей, 11 рублей, 21 рубль, 22 рубля."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return many
    if n % 10 == 1:
        return one
    if 2 <= n % 10 <= 4:
        return few
    return many


def _below_thousand(n: int, gender: Gender) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words.append(_HUNDREDS[n // 100])
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
    if n == 1:
        words.append(_ONE[gender])
    elif n == 2:
        words.append(_TWO[gender])
    elif n > 0:
        words.append(_UNITS[n])
    return words


def number_words(n: int, gender: Gender = "m") -> list[str]:
    """``n`` in words, agreeing in gender with the noun after it (up to 999 999 999).

    ``number_words(21, "f")`` -> ``["двадцать", "одна"]`` (двадцать одна копейка);
    thousands are feminine («одна тысяча», «две тысячи»), millions masculine.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"number_words needs an int, not {type(n).__name__}")
    if gender not in _ONE:
        raise ValueError(f"gender must be 'm', 'f' or 'n', not {gender!r}")
    if n < 0:
        return [MINUS, *number_words(-n, gender)]
    if n == 0:
        return [_UNITS[0]]
    if n > MAX_NUMBER:
        raise ValueError(f"{n} is too large to speak (at most {MAX_NUMBER})")
    millions, thousands, rest = n // 1_000_000, n // 1000 % 1000, n % 1000
    words: list[str] = []
    if millions:
        words += [*_below_thousand(millions, "m"), plural(millions, *MILLION)]
    if thousands:
        words += [*_below_thousand(thousands, "f"), plural(thousands, *THOUSAND)]
    words += _below_thousand(rest, gender)
    return words


def number_sounds(n: int, gender: Gender = "m") -> list[str]:
    return to_sounds(number_words(n, gender))


def _kopecks(amount: Decimal | int) -> tuple[int, int]:
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"money needs a Decimal or an int, not {type(amount).__name__}")
    value = abs(Decimal(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    total = int(value * 100)
    return total // 100, total % 100


def money_words(amount: Decimal | int) -> list[str]:
    """A sum in rubles and kopecks: 1234.56 -> «одна тысяча двести тридцать четыре рубля
    пятьдесят шесть копеек».

    Rounded to the kopeck (half up). Zero kopecks are not spoken; a sum under one ruble is
    kopecks only («пятьдесят копеек»); zero is «ноль рублей». The sign is dropped: a debt is
    told by the prompt around the sum («ваша задолженность…»), not by «минус».
    """
    rubles, kopecks = _kopecks(amount)
    words: list[str] = []
    if rubles or not kopecks:
        words += [*number_words(rubles, "m"), plural(rubles, *RUBLE)]
    if kopecks:
        words += [*number_words(kopecks, "f"), plural(kopecks, *KOPECK)]
    return words


def money_sounds(amount: Decimal | int) -> list[str]:
    return to_sounds(money_words(amount))


def digits_words(digits: str) -> list[str]:
    """Digit by digit, leading zeros kept: ``"0045"`` -> «ноль ноль четыре пять»."""
    if not isinstance(digits, str) or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"digits only, please: {digits!r}")
    return [_UNITS[int(d)] for d in digits]


def digits_sounds(digits: str) -> list[str]:
    return to_sounds(digits_words(digits))


def reading_words(value: Decimal | int, with_unit: bool = False) -> list[str]:
    """A meter reading: the whole part as a number, then «запятая» and the decimals digit by
    digit, as they were given (``Decimal("123.05")`` -> «сто двадцать три запятая ноль пять»).

    With ``with_unit``, the unit follows: «пять киловатт-часов», and after a fraction the
    genitive singular «…запятая пять киловатт-часа».
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"a reading is a Decimal or an int, not {type(value).__name__}")
    if isinstance(value, int):
        whole, fraction = value, ""
    else:
        if not value.is_finite():
            raise ValueError(f"not a reading: {value}")
        text = f"{value:f}"
        whole_text, _, fraction = text.partition(".")
        whole = int(whole_text)
    if whole < 0 or (isinstance(value, Decimal) and value.is_signed() and value != 0):
        raise ValueError(f"a reading cannot be negative: {value}")
    words = number_words(whole, "m")
    if fraction:
        words += [COMMA, *digits_words(fraction)]
    if with_unit:
        words.append(KWH[1] if fraction else plural(whole, *KWH))
    return words


def reading_sounds(value: Decimal | int, with_unit: bool = False) -> list[str]:
    return to_sounds(reading_words(value, with_unit))


def date_words(d: date) -> list[str]:
    """Day and month: 2026-11-23 -> «двадцать третье ноября» (neuter ordinal, month in the
    genitive); the year is not spoken."""
    day = d.day
    if day in _ORDINALS_N:
        words = [_ORDINALS_N[day]]
    else:
        words = [_TENS[day // 10], _ORDINALS_N[day % 10]]
    return [*words, _MONTHS_GENITIVE[d.month - 1]]


def date_sounds(d: date) -> list[str]:
    return to_sounds(date_words(d))


def time_words(t: time) -> list[str]:
    """A clock time: 08:30 -> «восемь часов тридцать минут»; 21:00 -> «двадцать один час»;
    00:05 -> «ноль часов пять минут» (on the hour, minutes are not spoken)."""
    words = [*number_words(t.hour, "m"), plural(t.hour, *HOUR)]
    if t.minute:
        words += [*number_words(t.minute, "f"), plural(t.minute, *MINUTE)]
    return words


def time_sounds(t: time) -> list[str]:
    return to_sounds(time_words(t))


def _genitive(n: int) -> list[str]:
    """0..59 in the genitive: 21 -> «двадцати одного», 45 -> «сорока пяти»."""
    if not 0 <= n < 60:
        raise ValueError(f"{n}: only 0..59 are spoken in the genitive")
    if n < 20:
        return [_GENITIVE[n]]
    tens, units = divmod(n, 10)
    return [_TENS_GENITIVE[tens * 10], *([_GENITIVE[units]] if units else [])]


def _clock_genitive(t: time, end: bool) -> list[str]:
    if end and t == time.max:
        return ["двадцати", "четырёх"]  # 24:00, the end of the day
    words = _genitive(t.hour)
    if t.minute:
        words += ["ноль", *_genitive(t.minute)] if t.minute < 10 else _genitive(t.minute)
    return words


def time_span_words(start: time, end: time) -> list[str]:
    """Clock hours from–to, as said on the phone: 08:00-20:00 -> «от восьми до двадцати»;
    08:30-17:45 -> «от восьми тридцати до семнадцати сорока пяти»; an end of ``time.max`` (or
    00:00) is «двадцати четырёх»."""
    end_words = _clock_genitive(time.max if end == time(0) else end, end=True)
    return [FROM, *_clock_genitive(start, end=False), UNTIL, *end_words]


def time_span_sounds(start: time, end: time) -> list[str]:
    return to_sounds(time_span_words(start, end))


def from_time_sounds(start: time) -> list[str]:
    """«от восьми», «от восьми тридцати»: when something opens."""
    return to_sounds([FROM, *_clock_genitive(start, end=False)])
