"""The project's own Russian test set for speech recognition, generated on this machine.

No Russian telephone speech corpus ships with the project (none is reachable from the
registries), so the set is synthesised: Festival's Russian voice (``festvox-ru``,
``msu_ru_nsh_clunits``) for everything, and the Russian sound pack's human voice
(``ru_RU_f_IvrvoiceRU/digits``) for what its files can say (digits, 10..20, tens, сто, тысяча).
Each utterance is varied (tempo, pitch, noise at an SNR, level) and then passed through the
telephone: 300–3400 Hz band-pass, 8 kHz, G.711 µ-law. The expected value sits beside it.

Items (``Item``):

- ``reading``: meter readings said as a whole number, digit by digit, in groups (12|345),
  in pairs (12|34|56), with leading zeros, with «запятая» decimals, day/night zones; tricky
  values (1000, 10010, 11, 20020, 100000, 0 0 7 ...). Expected: the digits as said (leading
  zeros kept when spoken); a decimal part is dropped (a reading is whole kWh, as
  ``speech.numbers`` keeps it: «… сорок пять запятая шесть» expects ``"12345"``); zones in ``zones``. ``previous`` gives a
  plausible earlier reading and the days since, for recognition with context.
- ``number``: account numbers and their last four digits (``Expect.NUMBER``).
- ``yesno``: confirmations (да, нет, верно, неверно, всё верно ...): ``"yes"`` | ``"no"``.
- ``intent``: free-speech requests, at least twelve phrasings for each of
  ``speech.engine.INTENTS``, written as callers say them (the elderly too); and dev-only
  extras (``INTENT_DEV_EXTRA``, ``YESNO_DEV_EXTRA``), appended after every other item so the
  test items, their ids and variations stay as they were.

``split`` is ``dev`` (tune on it) or ``test`` (report on it), assigned per number value or
per phrase, so the same text never appears in both.

The set is deterministic (one seed) and cached under a hash of its recipe: the item list
(texts, variations), the synthesiser and whether the sound pack was available. A folder with
a ``manifest.json`` is complete; it is written last.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from speech.audio import load_wav
from speech.number_words import TENS, UNITS, digit_words, group_words, number_words

VERSION = "2"  # bump when the pipeline changes in a way the item list does not show
SEED = 20261202
FESTIVAL_VOICE = "voice_msu_ru_nsh_clunits"
RATE = 8000
WORK_RATE = 16000
KINDS = ("reading", "number", "yesno", "intent")
EXPECT_OF_KIND = {"reading": "reading", "number": "number", "yesno": "yesno", "intent": "intent"}
DEV_SHARE = 0.4


class TestsetError(RuntimeError):
    pass


# ---- Russian number words: speech.number_words --------------------------------------------


def _groups(value: str, sizes: Iterable[int]) -> list[str]:
    out, i = [], 0
    for size in sizes:
        out.append(value[i:i + size])
        i += size
    return out


GROUPINGS = {3: (3,), 4: (2, 2), 5: (2, 3), 6: (3, 3), 7: (1, 3, 3), 8: (2, 3, 3), 9: (3, 3, 3),
             10: (3, 3, 2, 2)}


def spoken(value: str, style: str) -> list[str]:
    """The words of a digits string in one style: whole | digits | groups | pairs | zeros."""
    if style == "whole":
        return number_words(int(value))
    if style == "digits":
        return digit_words(value)
    if style == "groups":
        return [w for g in _groups(value, GROUPINGS[len(value)]) for w in group_words(g)]
    if style == "pairs":
        sizes = [2] * (len(value) // 2) + ([1] if len(value) % 2 else [])
        return [w for g in _groups(value, sizes) for w in group_words(g)]
    if style == "zeros":  # the leading zeros one by one, then the number
        stripped = value.lstrip("0")
        return ["ноль"] * (len(value) - len(stripped)) + number_words(int(stripped or "0"))
    raise ValueError(f"unknown style {style!r}")


# ---- what callers say ------------------------------------------------------------------------

INTENT_PHRASES: dict[str, tuple[str, ...]] = {
    "readings": (
        "хочу передать показания", "дочка, я хотела показания сказать",
        "показания счётчика передать", "мне бы показания счётчика сдать",
        "я звоню показания передать, по электричеству", "как передать показания счётчика",
        "хочу сообщить показания", "здравствуйте, я по поводу показаний",
        "можно продиктовать показания", "у меня показания, куда их говорить",
        "передаю показания электросчётчика", "сынок, я цифры со счётчика хочу сказать",
        "надо показания отдать за этот месяц", "счётчик, показания",
    ),
    "balance": (
        "сколько я должен", "какая у меня задолженность", "хочу узнать баланс",
        "сколько мне платить в этом месяце", "узнать сумму к оплате", "есть ли у меня долг",
        "какой у меня остаток на счёте", "проверить баланс лицевого счёта",
        "сколько там набежало за свет", "милая, скажи, сколько я за свет должна",
        "мне бы узнать, есть ли переплата", "сколько с меня за электричество",
        "состояние счёта узнать", "какой долг за электроэнергию",
    ),
    "outage": (
        "у нас отключили свет", "нет электричества", "почему нет света",
        "свет пропал во всём доме", "когда дадут свет", "у меня отключение электроэнергии",
        "на улице нет света с утра", "отключили электричество без предупреждения",
        "авария, света нет", "а когда включат электричество",
        "плановое отключение когда закончится", "дочка, у нас опять свет выключили",
        "весь подъезд без света сидит", "пропало напряжение в сети",
    ),
    "callback": (
        "перезвоните мне пожалуйста", "хочу заказать обратный звонок", "пусть мне перезвонят",
        "можно мне перезвонить попозже", "обратный звонок", "оставлю номер, перезвоните",
        "запишите меня, чтобы перезвонили", "вы мне потом позвоните",
        "мне некогда ждать, перезвоните мне", "пусть специалист сам мне позвонит",
        "закажите звонок на мой номер", "нельзя ли перезвонить мне вечером",
        "жду звонка от вас, перезвоните",
    ),
    "operator": (
        "соедините с оператором", "оператора пожалуйста", "хочу поговорить с человеком",
        "позовите живого человека", "дайте специалиста", "мне нужен оператор",
        "переключите на сотрудника", "не хочу с роботом разговаривать",
        "девушка, соедините меня с кем-нибудь", "можно консультанта",
        "свяжите меня с менеджером", "оператор", "с живым человеком соедините",
    ),
    "tariffs": (
        "какой сейчас тариф", "сколько стоит киловатт", "хочу узнать тарифы на электроэнергию",
        "цена за киловатт-час", "какие тарифы для двухзонного счётчика",
        "почему тариф повысили", "какая сейчас стоимость электричества",
        "расскажите про тарифы", "какой тариф днём и ночью", "сколько сейчас стоит свет",
        "мне бы узнать расценки", "какой тариф для частного дома", "хочу перейти на ночной тариф",
    ),
    "payment": (
        "как оплатить счёт", "хочу оплатить электроэнергию", "где можно заплатить за свет",
        "как заплатить картой", "как сделать оплату через интернет",
        "я оплатила, а деньги не пришли", "можно ли оплатить по телефону",
        "реквизиты для оплаты", "куда платить за электричество", "как внести платёж",
        "заплатить хочу, подскажите как", "как оплатить квитанцию",
        "где у вас касса, заплатить",
    ),
    "hours": (
        "какой у вас режим работы", "до скольки вы работаете", "во сколько открывается офис",
        "часы работы", "вы в субботу работаете", "когда работает абонентский отдел",
        "когда можно приехать в офис", "график работы подскажите",
        "работаете ли вы в выходные", "до какого часа открыта касса",
        "во сколько у вас обед", "когда у вас приём граждан", "время работы",
    ),
}

YESNO_PHRASES: dict[str, tuple[str, ...]] = {
    "yes": ("да", "да да", "верно", "всё верно", "правильно", "да, правильно", "конечно",
            "ага", "подтверждаю", "так точно", "да, всё правильно", "верно, да",
            "да, это верно", "да, всё так"),
    "no": ("нет", "нет нет", "неверно", "не верно", "неправильно", "нет, не так", "ошибка",
           "нет, там другое", "это неправильно", "нет, неправильно", "нет, вы ошиблись",
           "нет, не то", "не так"),
}

# More dev-only phrasings (added after the split was fixed: always ``dev``, appended after every
# other item so the test items, their ids and their variations do not change).
INTENT_DEV_EXTRA: dict[str, tuple[str, ...]] = {
    "readings": (
        "алло, я насчёт счётчика, цифры передать", "примите у меня показания",
        "нужно передать данные со счётчика", "показания электроэнергии за январь",
        "хочу показания ночного и дневного тарифа передать", "счётчик показывает, сейчас скажу",
        "здравствуйте, показания принимаете", "снимала показания вчера, куда сообщить",
    ),
    "balance": (
        "сколько у меня к оплате", "есть задолженность по лицевому счёту",
        "скажите, сколько я должна за этот месяц", "я ничего вам не должна",
        "какая сумма у меня набежала", "сколько мне начислили за декабрь",
        "долги у меня есть", "сколько платить за свет в этом месяце",
    ),
    "outage": (
        "у нас света нету второй день", "свет вырубился во всей деревне",
        "почему опять отключили свет", "электричество пропало",
        "не горит свет ни в одной комнате", "когда свет дадут, сколько ждать",
        "авария на линии, у нас темно", "отключение электроэнергии на нашей улице",
    ),
    "callback": (
        "позвоните мне попозже, я занята", "можно заказать обратный звонок",
        "пусть кто-нибудь мне перезвонит", "перезвоните мне на сотовый",
        "не дозвониться до вас, перезвоните сами", "я оставлю телефон, вы перезвоните",
        "наберите меня через час", "сделайте обратный звонок",
    ),
    "operator": (
        "соедините с живым оператором", "мне нужен человек, а не автомат",
        "позовите оператора к телефону", "хочу поговорить со специалистом",
        "не хочу разговаривать с машиной", "переключите меня на оператора",
        "дайте мне девушку оператора", "можно с кем-нибудь из сотрудников поговорить",
    ),
    "tariffs": (
        "почём у вас киловатт", "какой тариф на электричество сейчас",
        "сколько стоит электроэнергия за киловатт", "какие цены на свет",
        "тариф для квартиры с электроплитой", "когда тарифы поднимут",
        "какой ночной тариф", "узнать стоимость киловатт-часа",
    ),
    "payment": (
        "как мне оплатить свет", "где можно оплатить без комиссии",
        "скажите реквизиты для оплаты", "можно ли оплатить картой по телефону",
        "я заплатила, а деньги не дошли", "чем оплатить квитанцию",
        "куда перевести деньги за электроэнергию", "как оплатить через сбербанк",
    ),
    "hours": (
        "когда вы открыты", "до какого часа вы сегодня работаете",
        "в воскресенье работаете", "режим работы кассы подскажите",
        "во сколько у вас перерыв", "когда можно прийти к вам в офис",
        "часы приёма абонентов", "вы завтра открыты",
    ),
}
YESNO_DEV_EXTRA: dict[str, tuple[str, ...]] = {
    "yes": ("угу", "ага, да", "конечно, да", "да, так", "всё правильно", "да, конечно",
            "да, да, верно"),
    "no": ("нет-нет, не так", "не правильно", "это не так", "неверно, нет", "нет, другие цифры",
           "не то", "нет, ошибка"),
}

# Tricky readings first (round thousands, inner zeros, short values, leading zeros).
TRICKY_READINGS = (
    "1000", "10010", "11", "20020", "100000", "007", "0012", "100", "101", "110", "1001",
    "1010", "11000", "12000", "19019", "2002", "90009", "999999", "500", "505", "050505",
    "12345", "000123", "30000", "40404",
)
READING_PREFIXES = ("", "", "", "", "показания ", "значит, ", "так, ", "у меня ", "сейчас ")
NUMBER_PREFIXES = ("", "", "", "лицевой счёт ", "номер ")
LAST4_PREFIXES = ("", "", "последние цифры ")

# The pack's digits folder: word -> file name (without .wav).
PACK_WORDS = {w: str(n) for n, w in enumerate(UNITS)}
PACK_WORDS.update({w: str(n * 10) for n, w in enumerate(TENS) if w})
PACK_WORDS.update({"сто": "hundred", "тысяча": "thousand"})


@dataclass(frozen=True)
class Variation:
    tempo: float = 1.0
    pitch: int = 0  # cents
    noise: str = ""  # "" | "white" | "pink"
    snr_db: float = 0.0
    level_db: float = -20.0  # RMS of the speech, dBFS

    @property
    def label(self) -> str:
        noise = f" {self.noise}{self.snr_db:g}dB" if self.noise else " clean"
        return f"t{self.tempo:g} p{self.pitch:+d}{noise} L{self.level_db:g}"


@dataclass(frozen=True)
class Item:
    id: str
    kind: str  # reading | number | yesno | intent
    expect: str  # the speech.engine.Expect value to recognise it with
    text: str  # the words spoken
    expected: str | None  # digits (leading zeros kept) | intent | "yes"/"no"; None: zones
    split: str  # dev | test
    voice: str  # festival | pack
    style: str  # whole | digits | groups | pairs | zeros | decimal | zones | phrase
    variation: Variation
    zones: dict[str, str] | None = None
    previous: dict[str, int] | None = None  # {"value", "days", "digits"} for readings
    file: str = ""
    duration_ms: int = 0

    def to_json(self) -> dict:
        out = asdict(self)
        out["variation"] = {**asdict(self.variation), "label": self.variation.label}
        return out


@dataclass
class Manifest:
    path: Path
    hash: str
    items: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def split(self, name: str) -> list[dict]:
        return [i for i in self.items if i["split"] == name]


# ---- the recipe ------------------------------------------------------------------------------


def _random_readings(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        digits = rng.choice((3, 4, 4, 5, 5, 5, 6, 6))
        value = str(rng.randrange(10 ** (digits - 1), 10**digits))
        if rng.random() < 0.25:  # an inner zero or two, as meters show
            pos = rng.randrange(1, digits)
            value = value[:pos] + "0" + value[pos + 1:]
        out.append(value)
    return out


def _variation(rng: random.Random, clean: bool = False) -> Variation:
    if clean:
        return Variation(level_db=rng.choice((-24.0, -20.0, -16.0)))
    noise = rng.choice(("", "", "white", "pink", "white", "pink"))
    return Variation(
        tempo=rng.choice((0.85, 0.9, 1.0, 1.0, 1.1, 1.2)),
        pitch=rng.choice((-200, -100, 0, 0, 100, 200)),
        noise=noise,
        snr_db=float(rng.choice((30, 20, 15, 10))) if noise else 0.0,
        level_db=rng.choice((-30.0, -24.0, -20.0, -16.0, -12.0)),
    )


def _assign_splits(keys: Iterable[tuple[str, str]], seed: int) -> dict[tuple[str, str], str]:
    """Per group (kind/intent/yes/no), a seeded shuffle: the first DEV_SHARE are dev."""
    groups: dict[str, list[str]] = {}
    for group, key in keys:
        groups.setdefault(group, [])
        if key not in groups[group]:
            groups[group].append(key)
    out = {}
    for group, members in sorted(groups.items()):
        members = sorted(members)
        random.Random(f"{seed}:{group}").shuffle(members)
        n_dev = max(1, round(len(members) * DEV_SHARE))
        for i, key in enumerate(members):
            out[(group, key)] = "dev" if i < n_dev else "test"
    return out


def _previous(rng: random.Random, value: str) -> dict[str, int]:
    days = rng.randrange(25, 36)
    used = int(days * rng.uniform(2.0, 12.0))
    return {"value": max(0, int(value) - used), "days": days, "digits": max(6, len(value))}


def recipe(quick: bool = False, pack: bool = True, seed: int = SEED) -> list[Item]:
    """The items (without audio): deterministic for a seed."""
    rng = random.Random(seed)
    readings = list(TRICKY_READINGS) + _random_readings(rng, 55)
    accounts = [str(rng.randrange(10**5, 10**6)) for _ in range(8)]
    accounts += [str(rng.randrange(10**8, 10**9)) + str(rng.randrange(10)) for _ in range(4)]
    accounts += [f"{rng.randrange(10000):04d}" for _ in range(14)]  # last four digits
    accounts[-1], accounts[-2] = "0042", "1000"
    used = set(readings)
    accounts = [a if a not in used else a + "1" for a in accounts]
    zone_pairs = [(str(rng.randrange(1000, 40000)), str(rng.randrange(500, 20000)))
                  for _ in range(16)]
    decimals = [f"{rng.randrange(100, 60000)}.{rng.randrange(1, 10)}" for _ in range(12)]

    split_keys = [("number", v) for v in readings + accounts]
    split_keys += [("number", f"{d}|{n}") for d, n in zone_pairs]
    split_keys += [("number", v) for v in decimals]
    split_keys += [(f"yesno:{k}", p) for k, ps in YESNO_PHRASES.items() for p in ps]
    split_keys += [(f"intent:{k}", p) for k, ps in INTENT_PHRASES.items() for p in ps]
    splits = _assign_splits(split_keys, seed)

    items: list[Item] = []

    def add(kind: str, text: str, expected: str | None, split: str, voice: str, style: str,
            variation: Variation, **extra) -> None:  # type: ignore[no-untyped-def]
        items.append(Item(id=f"{kind[:2]}{len(items):04d}", kind=kind,
                          expect=EXPECT_OF_KIND[kind], text=text, expected=expected, split=split,
                          voice=voice, style=style, variation=variation, **extra))

    for i, value in enumerate(readings):
        split = splits[("number", value)]
        styles = ["whole"] if not value.startswith("0") else ["zeros"]
        if len(value) >= 3:
            styles.append(rng.choice(("digits", "groups", "pairs") if len(value) >= 4
                                     else ("digits", "groups")))
        if value.startswith("0"):
            styles.append("digits")
        for style in dict.fromkeys(styles):
            words = spoken(value, style)
            expected = value if style != "whole" else str(int(value))
            prefix = rng.choice(READING_PREFIXES)
            add("reading", prefix + " ".join(words), expected, split, "festival", style,
                _variation(rng, clean=i % 5 == 0), previous=_previous(rng, expected))
        if pack:
            style = rng.choice(("digits", "pairs")) if len(value) >= 4 else "digits"
            if all(w in PACK_WORDS for w in spoken(value, "whole")) and rng.random() < 0.5:
                style = "whole"
            words = spoken(value, style)
            if all(w in PACK_WORDS for w in words):
                expected = value if style != "whole" else str(int(value))
                add("reading", " ".join(words), expected, split, "pack", style,
                    _variation(rng), previous=_previous(rng, expected))
    for day, night in zone_pairs:
        split = splits[("number", f"{day}|{night}")]
        text = f"день {' '.join(number_words(int(day)))}, ночь {' '.join(number_words(int(night)))}"
        add("reading", text, None, split, "festival", "zones", _variation(rng),
            zones={"day": day, "night": night})
    for value in decimals:
        whole, frac = value.split(".")
        text = " ".join([*number_words(int(whole)), "запятая", *digit_words(frac)])
        add("reading", text, whole, splits[("number", value)], "festival", "decimal",
            _variation(rng), previous=_previous(rng, whole))
    for value in accounts:
        split = splits[("number", value)]
        prefixes = LAST4_PREFIXES if len(value) == 4 else NUMBER_PREFIXES
        style = rng.choice(("digits", "groups")) if len(value) != 4 else rng.choice(
            ("digits", "digits", "pairs"))
        add("number", rng.choice(prefixes) + " ".join(spoken(value, style)), value, split,
            "festival", style, _variation(rng))
        if pack and len(value) <= 6:
            add("number", " ".join(digit_words(value)), value, split, "pack", "digits",
                _variation(rng))
    for answer, phrases in YESNO_PHRASES.items():
        for j, phrase in enumerate(phrases):
            split = splits[(f"yesno:{answer}", phrase)]
            for k in range(2):
                add("yesno", phrase, answer, split, "festival", "phrase",
                    _variation(rng, clean=k == 0 and j % 2 == 0))
    for intent, phrases in INTENT_PHRASES.items():
        for j, phrase in enumerate(phrases):
            split = splits[(f"intent:{intent}", phrase)]
            for k in range(2 if j % 3 == 0 else 1):
                add("intent", phrase, intent, split, "festival", "phrase",
                    _variation(rng, clean=k == 0 and j % 4 == 0))
    for answer, phrases in YESNO_DEV_EXTRA.items():
        for j, phrase in enumerate(phrases):
            add("yesno", phrase, answer, "dev", "festival", "phrase",
                _variation(rng, clean=j % 2 == 0))
    for intent, phrases in INTENT_DEV_EXTRA.items():
        for j, phrase in enumerate(phrases):
            add("intent", phrase, intent, "dev", "festival", "phrase",
                _variation(rng, clean=j % 4 == 0))
    return _quick(items) if quick else items


def _quick(items: list[Item]) -> list[Item]:
    """~60 items: of every (kind, split, voice/intent) group, a few, spread over the group."""
    per_group = {"reading": 5, "number": 2, "yesno": 3, "intent": 2}
    groups: dict[tuple, list[Item]] = {}
    for item in items:
        sub = item.expected if item.kind in ("intent", "yesno") else item.voice
        if item.kind == "reading" and item.style in ("zones", "decimal"):
            sub = item.style
        elif item.kind == "reading" and item.expected and item.expected.startswith("0"):
            sub = "zeros"
        groups.setdefault((item.kind, item.split, sub), []).append(item)
    chosen: set[str] = set()
    for (kind, _split, sub), members in groups.items():
        want = per_group[kind] if sub not in ("zones", "decimal", "zeros") else 1
        if kind == "intent":
            want = 2 if _split == "test" else 1
        step = max(1, len(members) // want)
        chosen.update(m.id for m in members[::step][:want])
    return [item for item in items if item.id in chosen]


def recipe_hash(items: list[Item], pack: bool) -> str:
    payload = json.dumps({"version": VERSION, "voice": FESTIVAL_VOICE, "pack": pack,
                          "items": [i.to_json() for i in items]},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---- audio -----------------------------------------------------------------------------------


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_batch(texts: list[str], out_dir: Path, workers: int = 2) -> dict[str, Path]:
    """Render each text once with Festival (cached by text), ``workers`` processes at once."""
    if shutil.which("festival") is None:
        raise TestsetError("festival is missing: install festival and festvox-ru (make setup)")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {t: out_dir / (hashlib.sha256(f"{FESTIVAL_VOICE}\0{t}".encode()).hexdigest()[:20]
                           + ".wav") for t in dict.fromkeys(texts)}
    todo = [t for t, p in paths.items() if not p.exists()]
    chunks = [todo[i::workers] for i in range(workers) if todo[i::workers]]

    def run(chunk: list[str]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            script = [f"({FESTIVAL_VOICE})"]
            tmp_paths = {}
            for n, text in enumerate(chunk):
                tmp_paths[text] = Path(tmp) / f"{n}.wav"
                script.append(f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)}))"
                              f' "{tmp_paths[text]}" \'riff)')
            (Path(tmp) / "batch.scm").write_text("\n".join(script) + "\n", encoding="utf-8")
            result = subprocess.run(["festival", "--batch", str(Path(tmp) / "batch.scm")],
                                    check=False, capture_output=True, text=True)
            for text, tmp_path in tmp_paths.items():
                if result.returncode != 0 or not tmp_path.exists() or tmp_path.stat().st_size < 1000:
                    raise TestsetError(f"festival could not speak {text!r}: {result.stderr[-500:]}")
                shutil.move(tmp_path, paths[text])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, chunks))
    return paths


def pack_utterance(words: list[str], pack_dir: Path, rng: random.Random) -> np.ndarray:
    """The pack's words one after another at 16 kHz, with short natural pauses between them."""
    parts = []
    for n, word in enumerate(words):
        x, rate = load_wav(pack_dir / f"{PACK_WORDS[word]}.wav")
        x = _sox_float(x, rate, [])
        if n:
            parts.append(np.zeros(int(WORK_RATE * rng.uniform(0.03, 0.12)), np.float32))
        parts.append(_trim(x))
    return np.concatenate(parts)


def _trim(x: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > threshold * max(1e-9, float(np.abs(x).max())))
    if not len(loud):
        return x
    margin = int(0.02 * WORK_RATE)
    return x[max(0, loud[0] - margin): loud[-1] + margin]


def _sox_float(x: np.ndarray, rate: int, effects: list[str], out_rate: int = WORK_RATE,
               out: list[str] | None = None) -> np.ndarray:
    """Run float samples through sox effects; returns float32 at out_rate (or writes ``out``)."""
    cmd = ["sox", "-q", "-D", "-R", "-t", "f32", "-r", str(rate), "-c", "1", "-"]
    cmd += out or ["-t", "f32", "-r", str(out_rate), "-c", "1", "-"]
    cmd += [*effects, *(["rate", "-v", str(out_rate)] if not out else [])]
    result = subprocess.run(cmd, input=np.asarray(x, "<f4").tobytes(), capture_output=True,
                            check=False)
    if result.returncode != 0:
        raise TestsetError(f"sox {' '.join(effects)}: {result.stderr.decode()[-300:]}")
    return np.frombuffer(result.stdout, "<f4").astype(np.float32) if not out else np.zeros(0)


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if kind == "white":
        return white.astype(np.float32)
    spectrum = np.fft.rfft(white)  # pink: 1/f power
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    pink = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (pink / (pink.std() or 1.0)).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def vary(x: np.ndarray, v: Variation, seed: int) -> np.ndarray:
    """Tempo and pitch (sox), then level, a short lead-in and tail, and noise at the SNR."""
    effects: list[str] = []
    if v.tempo != 1.0:
        effects += ["tempo", "-s", f"{v.tempo:g}"]
    if v.pitch:
        effects += ["pitch", str(v.pitch)]
    if effects:
        x = _sox_float(x, WORK_RATE, effects)
    rng = np.random.default_rng(seed)
    speech = _trim(x)
    active = speech[np.abs(speech) > 0.05 * float(np.abs(speech).max() or 1)]
    speech = speech * (10 ** (v.level_db / 20) / max(_rms(active), 1e-9))
    peak = float(np.abs(speech).max() or 1.0)
    if peak > 0.9:  # a loud talker is limited, not clipped
        speech = speech * (0.9 / peak)
    lead, tail = (int(WORK_RATE * rng.uniform(0.15, 0.35)) for _ in range(2))
    y = np.concatenate([np.zeros(lead, np.float32), speech, np.zeros(tail, np.float32)])
    if v.noise:
        noise = _noise(v.noise, len(y), rng)
        y = y + noise * (10 ** ((v.level_db - v.snr_db) / 20))
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def telephone(x: np.ndarray, out_wav: Path) -> None:
    """300–3400 Hz band-pass, 8 kHz, G.711 µ-law (the file holds the µ-law bytes)."""
    _sox_float(x, WORK_RATE, ["sinc", "300-3400", "rate", "-v", str(RATE)],
               out=["-t", "wav", "-r", str(RATE), "-c", "1", "-e", "u-law", "-b", "8",
                    str(out_wav)])


# ---- building --------------------------------------------------------------------------------


def default_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline" / "asr-testset"


def build(out: Path | None = None, quick: bool = False, pack_dir: Path | None = None,
          workers: int = 2, progress: Callable[[str], None] | None = None) -> Manifest:
    """Build (or reuse) the set; returns its manifest. ``pack_dir`` is the sound pack's
    ``digits`` folder, or None to build from Festival alone (the manifest says so)."""
    root = out or default_root()
    pack = pack_dir is not None and (pack_dir / "5.wav").exists()
    items = recipe(quick=quick, pack=pack)
    digest = recipe_hash(items, pack)
    folder = root / (("quick-" if quick else "full-") + digest)
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        return load(manifest_path)
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    wav_dir = folder / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    festival_texts = [i.text for i in items if i.voice == "festival"]
    say(f"festival: {len(set(festival_texts))} texts, {workers} processes")
    rendered = festival_batch(festival_texts, root / "festival", workers)
    festival_s = time.monotonic() - started

    def make(item: Item) -> Item:
        seed = int(hashlib.sha256(f"{SEED}:{item.id}:{item.text}".encode()).hexdigest()[:8], 16)
        if item.voice == "festival":
            x, rate = load_wav(rendered[item.text])
            x = _sox_float(x, rate, []) if rate != WORK_RATE else x
        else:
            assert pack_dir is not None
            x = pack_utterance(item.text.split(), pack_dir, random.Random(seed))
        y = vary(x, item.variation, seed)
        path = wav_dir / f"{item.id}.wav"
        telephone(y, path)
        audio, rate = load_wav(path)
        return Item(**{**item.__dict__, "file": f"wav/{item.id}.wav",
                       "duration_ms": int(1000 * len(audio) / rate)})

    with ThreadPoolExecutor(max_workers=workers) as pool:
        built = list(pool.map(make, items))
    elapsed = time.monotonic() - started
    counts: dict[str, dict[str, int]] = {}
    for item in built:
        counts.setdefault(item.kind, {"dev": 0, "test": 0})[item.split] += 1
    data = {
        "version": VERSION,
        "hash": digest,
        "quick": quick,
        "seed": SEED,
        "sources": {
            "festival": FESTIVAL_VOICE,
            "pack": str(pack_dir) if pack else None,
            "note": "festival and the sound pack's human voice" if pack else
            "the Russian sound pack was not found: built from Festival alone",
        },
        "telephone": {"band_hz": [300, 3400], "rate": RATE, "encoding": "G.711 mu-law"},
        "build_s": round(elapsed, 1),
        "festival_s": round(festival_s, 1),
        "counts": counts,
        "items": [i.to_json() for i in built],
    }
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(manifest_path)
    say(f"built {len(built)} items in {elapsed:.1f} s (festival {festival_s:.1f} s): {folder}")
    return load(manifest_path)


def load(manifest_path: Path) -> Manifest:
    data = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    return Manifest(path=Path(manifest_path).parent, hash=data["hash"], items=data["items"],
                    data=data)
