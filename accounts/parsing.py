"""Parsing of values as back offices write them: phones, money, readings, dates, tariffs.

Pure functions, no I/O. Each takes what a CSV cell or a spreadsheet cell may hold (text,
a number, a date) and returns the normalised value, or raises ``ValueError`` with a
message in Russian for the back-office user who will fix the file: what is wrong and
what is expected.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from accounts.models import Tariff

__all__ = [
    "DEFAULT_REGION",
    "cell_text",
    "normalize_header",
    "normalize_phone",
    "parse_account_number",
    "parse_date",
    "parse_digits",
    "parse_money",
    "parse_region_code",
    "parse_reading",
    "parse_tariff",
    "parse_timezone",
    "split_phones",
]

DEFAULT_REGION = "RU"  # numbers written without a country code are Russian
ACCOUNT_NUMBER_LENGTH = (6, 20)
# What a spreadsheet cell can hold (openpyxl) or a CSV cell (always str).
Cell = str | int | float | Decimal | date | datetime | bool | None

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_MINUSES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


def cell_text(value: Cell) -> str | None:
    """A cell as stripped text with runs of whitespace collapsed; None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def normalize_header(text: Cell) -> str:
    """A column header reduced for matching: lowercase, ё→е, №→номер, punctuation to spaces."""
    raw = cell_text(text) or ""
    raw = raw.lower().replace("ё", "е").replace("№", " номер ")
    return " ".join(re.findall(r"[0-9a-zа-я]+", raw))


# ---- account numbers and phones -----------------------------------------------------------


def parse_account_number(value: Cell) -> str:
    """A personal account number: digits only (spaces between groups are dropped)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet turned the number into a float
    text = cell_text(value)
    if text is None:
        raise ValueError("не указан номер лицевого счёта")
    digits = text.replace(" ", "")
    low, high = ACCOUNT_NUMBER_LENGTH
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"номер лицевого счёта «{text}» должен состоять только из цифр")
    if not low <= len(digits) <= high:
        raise ValueError(
            f"номер лицевого счёта «{text}»: {len(digits)} цифр, а должно быть от {low} до {high}"
        )
    return digits


def normalize_phone(value: Cell, region: str = DEFAULT_REGION) -> str:
    """A phone number in E.164 ("+79123456789").

    Accepts the usual ways of writing it: "8 (912) 345-67-89", "+7 912 3456789",
    "9123456789", "79123456789", "8 (8332) 12-34-56".
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = cell_text(value)
    if text is None:
        raise ValueError("не указан номер телефона")
    digits = re.sub(r"\D", "", text)
    candidate = text
    if not text.startswith("+") and len(digits) == 11 and digits.startswith("7"):
        candidate = "+" + digits  # 7XXXXXXXXXX: a Russian number written without the plus
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        raise ValueError(
            f"«{text}» не похоже на номер телефона: пишите, например, 8 912 345-67-89"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"номер телефона «{text}» неполный или несуществующий: нужен номер с кодом "
            "города или оператора, например 8 912 345-67-89 или 8 (8332) 12-34-56"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def split_phones(value: Cell, region: str = DEFAULT_REGION) -> list[str]:
    """Several phones in one cell, separated by ',' ';' or line breaks; duplicates dropped."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None:
        return []
    phones: list[str] = []
    for part in re.split(r"[,;\n]+", str(value)):
        if cell_text(part) is None:
            continue
        phone = normalize_phone(part, region)
        if phone not in phones:
            phones.append(phone)
    return phones


def parse_region_code(value: Cell) -> str:
    """The code of a subject of the Russian Federation, e.g. "43" (Kirov region)."""
    text = cell_text(value)
    if text is None or len(text) > 8 or not text.isalnum():
        raise ValueError(f"код региона «{text}»: нужен код субъекта РФ, например 43")
    return text


# ---- numbers ------------------------------------------------------------------------------


def _well_grouped(text: str) -> bool:
    """Spaces (or apostrophes) may only split the integer part into groups of three."""
    if " " not in text and "'" not in text:
        return True
    cut = max(text.rfind(","), text.rfind("."))
    whole, fraction = (text[:cut], text[cut:]) if cut >= 0 else (text, "")
    if " " in fraction or "'" in fraction:
        return False
    return re.fullmatch(r"[+-]? ?\d{1,3}([ '.,]\d{3})*", whole) is not None


def _parse_decimal(value: Cell, places: int, what: str, example: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{what}: «{value}» не число")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        text = str(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest decimal that round-trips the float
        text = repr(value)
    else:
        raw = cell_text(value)
        if raw is None:
            raise ValueError(f"{what}: пустое значение")
        text = raw
        cleaned = raw.translate(_MINUSES)
        cleaned = re.sub(r"(?i)\s*(руб(лей|ля|ль)?|р)\.?\s*$", "", cleaned)
        if not _well_grouped(cleaned):
            raise ValueError(f"{what}: «{text}» не число, пишите, например, {example}")
        cleaned = cleaned.replace(" ", "").replace("'", "")
        if "," in cleaned and "." in cleaned:
            # Both separators: the last one is the decimal point, the other groups thousands.
            decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
            group_sep = "." if decimal_sep == "," else ","
            cleaned = cleaned.replace(group_sep, "")
            cleaned = cleaned.replace(decimal_sep, ".")
        else:
            cleaned = cleaned.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", cleaned):
            raise ValueError(f"{what}: «{text}» не число, пишите, например, {example}")
        try:
            number = Decimal(cleaned)
        except InvalidOperation:  # pragma: no cover - the regex already guards this
            raise ValueError(f"{what}: «{text}» не число, пишите, например, {example}") from None
    if not number.is_finite():
        raise ValueError(f"{what}: «{text}» не число")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValueError(f"{what}: «{text}» — больше {places} знаков после запятой")
    return number.quantize(Decimal(1).scaleb(-places))


def parse_money(value: Cell) -> Decimal:
    """Roubles with kopecks: "1 234,56", "-1234.56", "1234,5", "1 234,56 руб."."""
    number = _parse_decimal(value, 2, "сумма", "-1 234,56")
    if abs(number) >= Decimal("1e10"):
        raise ValueError(f"сумма «{value}» слишком большая")
    return number


def parse_reading(value: Cell) -> Decimal:
    """A meter reading in kWh: not negative, at most three decimals."""
    number = _parse_decimal(value, 3, "показания", "12345 или 12345,6")
    if number < 0:
        raise ValueError(f"показания «{value}» не могут быть отрицательными")
    if number >= Decimal("1e11"):
        raise ValueError(f"показания «{value}» слишком большие")
    return number


def parse_digits(value: Cell) -> int:
    """A meter's capacity: digits before the decimal point, 3..9 (usually 5 or 6)."""
    text = cell_text(value)
    if text is None or not text.isdigit() or not 3 <= int(text) <= 9:
        raise ValueError(f"разрядность «{value}»: нужно целое число от 3 до 9, обычно 5 или 6")
    return int(text)


# ---- dates, tariffs, time zones -----------------------------------------------------------


def parse_date(value: Cell) -> date:
    """A date: "31.01.2026", "31.01.26", "2026-01-31", "31/01/2026" or a spreadsheet date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if text is None:
        raise ValueError("пустая дата")
    token = text.split(" ")[0].split("T")[0]
    for pattern in ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(token, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"дата «{text}» не распознана: пишите ДД.ММ.ГГГГ, например 31.01.2026")


_TARIFFS: dict[str, Tariff] = {}
for _tariff, _names in {
    Tariff.SINGLE: (
        "1", "single", "однотарифный", "однотарифн", "одноставочный", "одна зона", "1 зона",
        "однозонный", "круглосуточный", "т1",
    ),
    Tariff.DAY_NIGHT: (
        "2", "day night", "двухтарифный", "двухзонный", "двухставочный", "две зоны", "2 зоны",
        "день ночь", "2 тарифа", "т2",
    ),
    Tariff.THREE_ZONE: (
        "3", "three zone", "трехтарифный", "трехзонный", "три зоны", "3 зоны", "3 тарифа",
        "пик полупик ночь", "т3",
    ),
}.items():  # fmt: skip
    for _name in _names:
        _TARIFFS[_name] = _tariff


def parse_tariff(value: Cell) -> Tariff:
    """The meter's zones: 1/2/3, "однотарифный"/"двухтарифный"/"трёхтарифный", or the code."""
    key = normalize_header(value)
    if key in _TARIFFS:
        return _TARIFFS[key]
    raise ValueError(
        f"тариф «{cell_text(value)}» не распознан: пишите 1, 2 или 3 "
        "(однотарифный, двухтарифный «день/ночь», трёхтарифный «пик/полупик/ночь»)"
    )


# Russian time zones by their offset from Moscow time ("МСК+2").
_MSK_ZONES: dict[int, str] = {
    -1: "Europe/Kaliningrad",
    0: "Europe/Moscow",
    1: "Europe/Samara",
    2: "Asia/Yekaterinburg",
    3: "Asia/Omsk",
    4: "Asia/Krasnoyarsk",
    5: "Asia/Irkutsk",
    6: "Asia/Yakutsk",
    7: "Asia/Vladivostok",
    8: "Asia/Magadan",
    9: "Asia/Kamchatka",
}


def parse_timezone(value: Cell) -> str:
    """An IANA time zone name; also accepts "МСК", "МСК+2", "MSK-1", "UTC+5"."""
    text = cell_text(value)
    if text is None:
        raise ValueError("пустой часовой пояс")
    compact = text.replace(" ", "").upper()
    match = re.fullmatch(r"(МСК|MSK|UTC|GMT)([+-]\d{1,2})?", compact)
    if match:
        offset = int(match.group(2) or 0)
        if match.group(1) in ("UTC", "GMT"):
            offset -= 3
        if offset in _MSK_ZONES:
            return _MSK_ZONES[offset]
        raise ValueError(f"часовой пояс «{text}» не относится к России")
    if "/" in text or text == "UTC":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return text
    raise ValueError(
        f"часовой пояс «{text}» не распознан: пишите, например, Europe/Moscow или МСК+1"
    )
