"""Numbers written as Russian words (the other direction from `speech.numbers`): what a caller
says for a value. Used to build the test set's utterances and to write candidate readings as
Whisper would, for rescoring. Masculine cardinals; тысяча is feminine.
"""

from __future__ import annotations

UNITS = (
    "ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять",
    "десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
    "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать",
)  # fmt: skip
TENS = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
        "восемьдесят", "девяносто")  # fmt: skip
HUNDREDS = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
            "восемьсот", "девятьсот")  # fmt: skip


def below_thousand(n: int, feminine: bool = False) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words.append(HUNDREDS[n // 100])
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
    if n == 1 and feminine:
        words.append("одна")
    elif n == 2 and feminine:
        words.append("две")
    elif n:
        words.append(UNITS[n])
    return words


def number_words(n: int) -> list[str]:
    """0..999 999 in words: 21345 -> двадцать одна тысяча триста сорок пять; 1000 -> тысяча
    (as callers say it, not «одна тысяча»)."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"{n}: only 0..999999 here")
    if n == 0:
        return ["ноль"]
    thousands, rest = divmod(n, 1000)
    words: list[str] = []
    if thousands:
        last2 = thousands % 100
        form = "тысяч" if 11 <= last2 <= 14 else {1: "тысяча", 2: "тысячи", 3: "тысячи",
                                                    4: "тысячи"}.get(thousands % 10, "тысяч")
        words += ([] if thousands == 1 else below_thousand(thousands, feminine=True)) + [form]
    return words + below_thousand(rest)


def digit_words(digits: str) -> list[str]:
    """Digit by digit: '0123' -> ноль один два три."""
    return [UNITS[int(d)] for d in digits]


def group_words(group: str) -> list[str]:
    """A dictated group: leading zeros one by one, then the number ('045' -> ноль сорок пять)."""
    stripped = group.lstrip("0")
    zeros = ["ноль"] * (len(group) - len(stripped))
    return zeros + (number_words(int(stripped)) if stripped else [])
