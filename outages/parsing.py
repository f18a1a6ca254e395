"""Addresses, house lists and outage times as grid companies and billing write them.

Pure functions, no I/O. The same normaliser reads an outage row's locality and street and a
customer's address from billing, so the two meet on the same keys:

- a locality key is its name without its type, lowercase, ``ё`` as ``е``: «г. Киров»,
  «Киров», «город Киров» -> ``киров``;
- a street key is its canonical type and name: «ул. Ленина», «улица Ленина», «Ленина» ->
  ``ул ленина`` (a street written without a type is an улица, as Russian addresses go);
  «Октябрьский пр-т», «проспект Октябрьский» -> ``пр-т октябрьский``;
- a house key is the number with its letter, корпус or строение, spaces dropped: «12 А»,
  «д. 12а» -> ``12а``; «12 корп. 2» -> ``12к2``; «12/1» stays ``12/1``.

House lists (:func:`parse_houses`): «1-15», «2,4,6а», «1-15 нечётные», «все» or an empty cell
(the whole street). Errors are ``ValueError`` with a Russian message for the back-office user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal

from accounts.parsing import Cell, cell_text

__all__ = [
    "Address",
    "HouseRange",
    "HouseSet",
    "locality_key",
    "parse_address",
    "parse_houses",
    "parse_moment",
    "parse_period",
    "street_key",
    "house_key",
]

# ---- words ------------------------------------------------------------------------------------

# Locality types (written before or after the name), all reduced away in the key.
_LOCALITY_TYPES: Final = frozenset({
    "г", "гор", "город", "пос", "п", "поселок", "пгт", "рп", "с", "село", "д", "дер", "деревня",
    "х", "хутор", "ст", "ст-ца", "станица", "сл", "слобода", "снт", "нп", "аул", "мкр-н",
})  # fmt: skip
# Region-level parts of an address, skipped.
_REGION_WORDS: Final = frozenset({
    "обл", "область", "край", "респ", "республика", "р-н", "район", "ао", "округ", "россия",
    "рф", "мо", "го", "муниципальный", "городской",
})  # fmt: skip
# Street types -> the canonical abbreviation the key uses.
_STREET_TYPES: Final[dict[str, str]] = {
    "ул": "ул", "улица": "ул",
    "пр-т": "пр-т", "пр-кт": "пр-т", "просп": "пр-т", "проспект": "пр-т", "пр": "пр-т",
    "пер": "пер", "переулок": "пер",
    "пр-д": "пр-д", "проезд": "пр-д",
    "ш": "ш", "шоссе": "ш",
    "б-р": "б-р", "бул": "б-р", "бульвар": "б-р",
    "наб": "наб", "набережная": "наб",
    "пл": "пл", "площадь": "пл",
    "мкр": "мкр", "микрорайон": "мкр",
    "туп": "туп", "тупик": "туп",
    "аллея": "аллея", "ал": "аллея",
    "тракт": "тракт", "линия": "линия", "кв-л": "кв-л", "квартал": "кв-л",
}  # fmt: skip
_HOUSE_WORDS: Final = frozenset({"д", "дом", "домовладение", "двлд", "влд", "владение"})
_FLAT_WORDS: Final = frozenset({"кв", "квартира", "комн", "комната", "оф", "офис", "пом"})
_WHOLE_STREET: Final = frozenset({"все", "весь", "вся", "все дома", "вся улица", "полностью",
                                  "целиком", "all", "*"})  # fmt: skip

_WORD = re.compile(r"[0-9a-zа-я]+(?:-[0-9a-zа-я]+)*")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


# ---- keys -------------------------------------------------------------------------------------


def locality_key(text: Cell) -> str:
    """«г. Киров» -> ``киров``; ValueError when nothing is left."""
    raw = cell_text(text)
    words = [w for w in _words(raw or "") if w not in _LOCALITY_TYPES]
    if not words:
        raise ValueError(f"населённый пункт «{raw or ''}» не распознан")
    return " ".join(words)


def street_key(text: Cell) -> str | None:
    """«ул. Ленина» -> ``ул ленина``, «Ленина» -> ``ул ленина``; None for an empty cell."""
    raw = cell_text(text)
    if raw is None:
        return None
    words = _words(raw)
    kinds = [w for w in words if w in _STREET_TYPES]
    name = [w for w in words if w not in _STREET_TYPES]
    if not name:
        raise ValueError(f"улица «{raw}» не распознана: нет названия")
    kind = _STREET_TYPES[kinds[0]] if kinds else "ул"
    return " ".join([kind, *name])


_HOUSE = re.compile(
    r"^(?P<num>\d{1,5})\s*(?P<letter>[а-яa-z](?![а-яa-z]))?\s*"
    r"(?:/\s*(?P<frac>\d{1,4}))?\s*"
    r"(?:(?:к|корп|корпус)\.?\s*(?P<corp>\d{1,3}))?\s*"
    r"(?:(?:с|стр|строение)\.?\s*(?P<bld>\d{1,3}))?$"
)


@dataclass(frozen=True, order=True)
class _House:
    number: int
    key: str


def _house(text: str) -> _House:
    raw = text.strip().lower().replace("ё", "е")
    raw = re.sub(r"^(?:дом|д)\.?\s*", "", raw)
    match = _HOUSE.match(raw)
    if match is None:
        raise ValueError(f"номер дома «{text.strip()}» не распознан")
    key = match["num"] + (match["letter"] or "")
    if match["frac"]:
        key += f"/{match['frac']}"
    if match["corp"]:
        key += f"к{match['corp']}"
    if match["bld"]:
        key += f"с{match['bld']}"
    return _House(int(match["num"]), key)


def house_key(text: str) -> str:
    """«д. 12 А» -> ``12а``; «12 корп. 2» -> ``12к2``; ValueError when it is not a number."""
    return _house(text).key


# ---- house lists ------------------------------------------------------------------------------

Parity = Literal["all", "odd", "even"]


@dataclass(frozen=True)
class HouseRange:
    low: int
    high: int
    parity: Parity = "all"

    def covers(self, number: int) -> bool:
        if not self.low <= number <= self.high:
            return False
        return self.parity == "all" or (number % 2 == 1) == (self.parity == "odd")

    def __str__(self) -> str:
        suffix = {"all": "", "odd": " нечет", "even": " чет"}[self.parity]
        return f"{self.low}-{self.high}{suffix}"


def _number_of(house: str) -> int | None:
    """The leading number of a house key: ``12а`` -> 12."""
    match = re.match(r"\d+", house)
    return int(match.group()) if match else None


@dataclass(frozen=True)
class HouseSet:
    """Which houses of a street an outage covers. ``whole``: all of them."""

    whole: bool = False
    houses: frozenset[str] = frozenset()
    ranges: tuple[HouseRange, ...] = ()

    def covers(self, house: str) -> bool:
        """Does the outage cover this house (a key from :func:`house_key`)?

        A range covers every house whose number is in it, with its letters and корпуса
        (12а lies between 12 and 13); a single house covers only itself.
        """
        if self.whole or house in self.houses:
            return True
        number = _number_of(house)
        return number is not None and any(r.covers(number) for r in self.ranges)

    @property
    def key(self) -> str:
        """A canonical text: the same houses written differently give the same key."""
        if self.whole:
            return "все"
        parts = [str(r) for r in self.ranges]
        parts += sorted(self.houses, key=lambda h: (_number_of(h), h))
        return ",".join(parts)


_PARITY_WORDS: Final[dict[str, Parity]] = {
    "нечет": "odd", "нечетные": "odd", "нечетная": "odd", "нечетн": "odd", "неч": "odd",
    "odd": "odd", "чет": "even", "четные": "even", "четная": "even", "четн": "even",
    "even": "even",
}  # fmt: skip
_RANGE = re.compile(r"^(?:д\.?\s*)?(\d{1,5})\s*[-–—]\s*(\d{1,5})\s*(?:\((.*)\)|(.*))$")


def parse_houses(value: Cell) -> HouseSet:
    """«1-15», «2,4,6а», «1-15 нечётные, 20», «все» or empty (the whole street)."""
    text = cell_text(value)
    if text is None:
        return HouseSet(whole=True)
    lowered = text.lower().replace("ё", "е").strip(" .")
    if lowered in _WHOLE_STREET:
        return HouseSet(whole=True)
    lowered = re.sub(r"^(?:дома|дом|д)\.?\s+", "", lowered)
    houses: set[str] = set()
    ranges: list[HouseRange] = []
    for item in re.split(r"[,;]", lowered):
        item = item.strip()
        if not item:
            continue
        if item in _WHOLE_STREET:
            return HouseSet(whole=True)
        match = _RANGE.match(item)
        if match:
            low, high = int(match[1]), int(match[2])
            qualifier = " ".join(_words(match[3] or match[4] or ""))
            parity: Parity = "all"
            if qualifier:
                found = [_PARITY_WORDS[w] for w in qualifier.split() if w in _PARITY_WORDS]
                if not found or len(set(found)) > 1 or len(qualifier.split()) > 2:
                    raise ValueError(f"дома «{item}»: непонятное уточнение «{qualifier}» "
                                     "(можно «чётные» или «нечётные»)")
                parity = found[0]
            if low > high:
                raise ValueError(f"дома «{item}»: начало диапазона больше конца")
            ranges.append(HouseRange(low, high, parity))
            continue
        try:
            houses.add(house_key(item))
        except ValueError:
            raise ValueError(
                f"дома «{text}»: «{item}» не номер дома и не диапазон "
                "(пишите, например, «1-15», «2, 4, 6а» или «все»)"
            ) from None
    if not houses and not ranges:
        return HouseSet(whole=True)
    return HouseSet(False, frozenset(houses), tuple(sorted(set(ranges), key=str)))


# ---- a customer's address ---------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """A customer's address as keys. ``street`` is None for a locality without streets."""

    locality: str
    street: str | None
    house: str


def _kind_of(words: list[str]) -> str | None:
    if not words:
        return None
    if words[0] in _REGION_WORDS or words[-1] in _REGION_WORDS or (
        len(words) > 1 and words[-1] in ("обл", "область", "край", "район", "р-н")
    ):
        return "region"
    if words[0] in _FLAT_WORDS:
        return "flat"
    if words[0] in _HOUSE_WORDS and len(words) > 1 and words[1][0].isdigit():
        return "house"
    if words[0][0].isdigit() and len(words) <= 4:
        return "house" if len(words[0]) != 6 else "index"
    if any(w in _STREET_TYPES for w in words):
        return "street"
    if words[0] in _LOCALITY_TYPES or words[-1] in _LOCALITY_TYPES:
        return "locality"
    return None


def parse_address(text: str | None) -> Address:
    """A billing address -> locality, street and house keys.

    «Кировская обл., г. Слободской, ул. Советская, д. 5, кв. 3» -> (слободской,
    ул советская, 5). Region, postcode and flat are dropped. ValueError (Russian) when the
    locality or the house cannot be told with confidence: then no outage list can be said
    to be "none" for it.
    """
    raw = cell_text(text)
    if raw is None:
        raise ValueError("адрес не указан")
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    kinds = [_kind_of(_words(p)) for p in parts]
    # "ул. Ленина 12" with no house part of its own: the number is the street's tail.
    if "house" not in kinds and "street" in kinds:
        i = kinds.index("street")
        match = re.match(r"^(.*\D)\s+(?:д\.?\s*)?(\d+\S*)$", parts[i])
        if match:
            parts[i:i + 1] = [match[1], match[2]]
            kinds[i:i + 1] = ["street", "house"]
    if "house" not in kinds:
        raise ValueError(f"в адресе «{raw}» не найден номер дома")
    h = len(kinds) - 1 - kinds[::-1].index("house")
    house = house_key(parts[h])
    before = list(zip(parts[:h], kinds[:h], strict=True))
    streets = [p for p, k in before if k == "street"]
    localities = [p for p, k in before if k == "locality"]
    untyped = [p for p, k in before if k is None]
    street: str | None = None
    if streets:
        street = street_key(streets[-1])
    if localities:
        locality = locality_key(localities[-1])
        if street is None and untyped and before[-1][1] is None:
            street = street_key(before[-1][0])  # "г. Киров, Ленина, 12"
    elif street is not None and len(untyped) == 1:
        locality = locality_key(untyped[0])  # "Киров, ул. Ленина, 12"
    elif street is None and len(untyped) == 2:
        locality, street = locality_key(untyped[0]), street_key(untyped[1])  # "Киров, Ленина, 12"
    else:
        raise ValueError(f"в адресе «{raw}» не удаётся определить населённый пункт")
    return Address(locality, street, house)


# ---- times ------------------------------------------------------------------------------------

_MONTHS: Final = {
    "январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
    "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12,
}  # fmt: skip
_DATE_NUMERIC = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{1,2})[./](\d{1,2})[./](\d{2,4})")
_DATE_WORDS = re.compile(r"(\d{1,2})\s+([а-я]+)\s+(\d{4})")
_TIME = re.compile(r"(?<![\d.:])(\d{1,2})[:.](\d{2})(?:[:.]\d{2})?(?![\d.:])")  # seconds ignored


def _month(word: str) -> int | None:
    for stem, month in sorted(_MONTHS.items(), key=lambda item: -len(item[0])):
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май")):
            return month
    return None


def _find_date(text: str) -> tuple[date | None, str]:
    """The first date in ``text`` and the text with it removed."""
    match = _DATE_NUMERIC.search(text)
    try:
        if match:
            if match[1]:
                found = date(int(match[1]), int(match[2]), int(match[3]))
            else:
                year = int(match[6])
                found = date(year + 2000 if year < 100 else year, int(match[5]), int(match[4]))
            return found, text[: match.start()] + " " + text[match.end():]
        match = _DATE_WORDS.search(text)
        if match and _month(match[2]) is not None:
            found = date(int(match[3]), _month(match[2]) or 1, int(match[1]))
            return found, text[: match.start()] + " " + text[match.end():]
    except ValueError:
        raise ValueError(f"дата в «{text.strip()}» не существует") from None
    return None, text


def _find_time(text: str) -> tuple[time | None, bool]:
    """The time in ``text``; the flag says it was 24:00 (the end of that day)."""
    match = _TIME.search(text)
    if match is None:
        return None, False
    hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        return time(0), True
    if hours > 23 or minutes > 59:
        raise ValueError(f"время «{match[0]}» вне суток")
    return time(hours, minutes), False


def parse_moment(value: Cell | time, *, day: date | None = None, what: str = "время") -> datetime:
    """A local date and time, naive: «01.12.2026 9:00», «2026-12-01 09:00», «1 декабря 2026
    9.00», a spreadsheet datetime; a time alone is taken on ``day`` (a date column)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, time):
        if day is None:
            raise ValueError(f"{what}: указано только время, нет даты")
        return datetime.combine(day, value.replace(tzinfo=None))
    if isinstance(value, date):
        raise ValueError(f"{what}: указана только дата {value:%d.%m.%Y}, нужно и время")
    text = cell_text(value)
    if text is None:
        raise ValueError(f"{what}: не указано")
    lowered = text.lower().replace("ё", "е")
    found, rest = _find_date(lowered)
    found = found or day
    at, end_of_day = _find_time(rest)
    if found is None:
        raise ValueError(f"{what} «{text}»: нет даты (пишите ДД.ММ.ГГГГ ЧЧ:ММ)")
    if at is None:
        raise ValueError(f"{what} «{text}»: нет времени (пишите ДД.ММ.ГГГГ ЧЧ:ММ)")
    moment = datetime.combine(found, at)
    return moment + timedelta(days=1) if end_of_day else moment


_PERIOD_SPLIT = re.compile(r"\s+(?:по|до)\s+|\s*[-–—]\s*(?=\d)|\s+[-–—]\s+")


def parse_period(value: Cell, *, day: date | None = None) -> tuple[datetime, datetime]:
    """A from–to in one cell: «01.12.2026 09:00 - 01.12.2026 17:00», «09:00-17:00» (with a
    date column), «с 9:00 до 17:00», «01.12.2026 с 9.00 до 17.00»."""
    text = cell_text(value)
    if text is None:
        raise ValueError("период отключения не указан")
    lowered = text.lower().replace("ё", "е")
    found, rest = _find_date(lowered)
    rest = re.sub(r"^\s*(?:с|со|от)\s+", "", rest.strip())
    pieces = [p for p in _PERIOD_SPLIT.split(rest, maxsplit=1) if p.strip()]
    if len(pieces) != 2:
        raise ValueError(f"период «{text}»: нужно начало и окончание, например 09:00-17:00")
    start = parse_moment(pieces[0], day=found or day, what="начало")
    end = parse_moment(pieces[1], day=start.date(), what="окончание")
    if end <= start and _find_date(pieces[1])[0] is None:
        end += timedelta(days=1)  # «22:00-06:00»: through the night
    return start, end
