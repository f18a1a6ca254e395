"""Speech output, measured: what the flows say, played as Asterisk plays it, heard back by ASR.

Every kind of dynamic value the flows speak through `ivr.say_ru` (sums, dates, clock times,
hours from–to, readings in kWh, account digits, phone numbers, counts) is turned into its
sound names, the files are stitched exactly as Asterisk plays ``a&b&c`` (back to back, 8 kHz),
sent through G.711 µ-law as the caller gets it, recognised by the ASR engine, and the value is
parsed back (`speech.numbers` for the numbers). The round-trip accuracy per kind says how
intelligible the stitched voices are.

``digits/<name>`` files come from the PBX's Russian sound pack (human voice); ``hotline:<name>``
files are the project's prompts, rendered (and cached) by `ivr.prompts` as the stack does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from pathlib import Path

import numpy as np

from base.settings import Settings
from ivr import hotline_prompts, prompts, say_ru
from speech.audio import load_wav, to_engine_rate, ulaw_decode, ulaw_encode
from speech.engine import Engine, Expect
from speech.numbers import normalize, readings

PACK = "ru_RU_f_IvrvoiceRU"
RATE = 8000


@dataclass(frozen=True)
class Case:
    kind: str
    expected: str  # canonical value: "1234.56", "23.11", "08:30", "08:00-20:00", digits
    sounds: tuple[str, ...]
    expect: Expect


def _phone(n: str) -> list[str]:
    phone = getattr(say_ru, "phone_sounds", None)
    return phone(n) if phone else say_ru.digits_sounds(n)


def cases() -> list[Case]:
    out: list[Case] = []
    for amount in ("1234.56", "0.50", "15", "21.01", "3002.22", "100", "47.95", "11000",
                   "2541.13", "999.99", "612.40", "1.21"):
        out.append(Case("money", f"{Decimal(amount):.2f}",
                        tuple(say_ru.money_sounds(Decimal(amount))), Expect.INTENT))
    for d in (date(2026, 11, 23), date(2026, 1, 1), date(2026, 3, 8), date(2026, 5, 30),
              date(2026, 7, 15), date(2026, 12, 31), date(2026, 2, 2), date(2026, 9, 21)):
        out.append(Case("date", f"{d.day}.{d.month}", tuple(say_ru.date_sounds(d)),
                        Expect.INTENT))
    for t in (time(8, 30), time(21, 0), time(0, 5), time(17, 45), time(12, 1), time(9, 0),
              time(14, 22), time(23, 59)):
        out.append(Case("time", f"{t:%H:%M}", tuple(say_ru.time_sounds(t)), Expect.INTENT))
    for a, b in ((time(8), time(20)), (time(9), time(18)), (time(8, 30), time(17, 45)),
                 (time(10), time(0))):
        out.append(Case("time_span", f"{a:%H:%M}-{b:%H:%M}",
                        tuple(say_ru.time_span_sounds(a, b)), Expect.INTENT))
    for r in (12345, 1000, 10010, 457, 100000, 20020, 98765, 3011):
        out.append(Case("reading", str(r), tuple(say_ru.reading_sounds(r, with_unit=True)),
                        Expect.READING))
    for digits in ("0042", "1234", "7050", "123456", "908172", "0007"):
        out.append(Case("account_digits", digits, tuple(say_ru.digits_sounds(digits)),
                        Expect.NUMBER))
    for phone in ("89161234567", "84951002030", "88005553535"):
        out.append(Case("phone", phone, tuple(_phone(phone)), Expect.NUMBER))
    for n in (1, 2, 5, 11, 21, 34, 112, 7):
        out.append(Case("count", str(n), tuple(say_ru.number_sounds(n)), Expect.NUMBER))
    return out


class Voices:
    """Sound names -> 8 kHz float samples, as the PBX would find them (cached)."""

    def __init__(self, pack_root: Path, prompt_cache: Path,
                 post: Callable[[str, np.ndarray], np.ndarray] | None = None) -> None:
        self.pack_root = pack_root
        self.prompt_cache = prompt_cache
        self.post = post
        self.texts = {**prompts.PROMPTS, **getattr(hotline_prompts, "PROMPTS", {})}
        self._cache: dict[str, np.ndarray] = {}

    def path(self, name: str) -> Path:
        if name.startswith("hotline:"):
            return prompts.render(self.texts[name.split(":", 1)[1]], self.prompt_cache)
        return self.pack_root / f"{name}.wav"

    def samples(self, name: str) -> np.ndarray:
        if name not in self._cache:
            x, rate = load_wav(self.path(name))
            if rate != RATE:
                raise ValueError(f"{name}: {rate} Hz, the PBX plays 8 kHz files")
            self._cache[name] = self.post(name, x) if self.post else x
        return self._cache[name]

    def play(self, sounds: tuple[str, ...] | list[str]) -> np.ndarray:
        """``Playback(a&b&c)``: the files back to back; then the G.711 µ-law channel."""
        x = np.concatenate([self.samples(s) for s in sounds])
        return ulaw_decode(ulaw_encode(x))


# ---- parsing what was heard back ------------------------------------------------------------

_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
           "октябр", "ноябр", "декабр")
_ORDINAL_STEMS = {
    "перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7, "восьм": 8,
    "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13,
    "четырнадцат": 14, "пятнадцат": 15, "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18,
    "девятнадцат": 19, "двадцат": 20, "тридцат": 30,
}


def _number(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    cands = readings(text)
    return int(cands[0].digits) if cands and cands[0].digits.isdigit() else None


def _month(word: str) -> int | None:
    for n, stem in enumerate(_MONTHS, 1):
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май", "мае")):
            return n
    return None


def _day(text: str) -> int | None:
    words = text.split()
    m = re.search(r"(\d{1,2})", text)
    if m:
        return int(m.group(1))
    total, found = 0, False
    for w in words[-2:]:
        for stem, value in sorted(_ORDINAL_STEMS.items(), key=lambda kv: -len(kv[0])):
            if w.startswith(stem):
                total += value
                found = True
                break
        else:
            n = _number(w)
            if n is not None:
                total += n
                found = True
    return total if found else None


def parse(kind: str, text: str) -> str | None:
    """The value heard, in the canonical form of ``Case.expected`` (None: not understood)."""
    t = normalize(text)
    if kind == "money":
        m = re.search(r"(\d[\d ]*)[.,](\d{2})\b", t)
        if m and "рубл" not in t:
            return f"{int(m.group(1).replace(' ', ''))}.{m.group(2)}"
        rub_part, _, kop_part = t.partition("рубл")
        if not _:
            rub_part, kop_part = "", t
        kop_part = kop_part.split(" ", 1)[1] if " " in kop_part else ""
        rubles = _number(rub_part) if rub_part else 0
        kopecks = _number(kop_part.split("копе")[0]) if "копе" in kop_part or "копе" in t else 0
        if rubles is None or kopecks is None:
            return None
        return f"{rubles}.{kopecks:02d}"
    if kind == "date":
        words = t.split()
        for i, w in enumerate(words):
            month = _month(w)
            if month:
                day = _day(" ".join(words[max(0, i - 2):i]))
                return f"{day}.{month}" if day else None
        m = re.search(r"\b(\d{1,2})[.](\d{1,2})\b", t)
        return f"{int(m.group(1))}.{int(m.group(2))}" if m else None
    if kind == "time":
        m = re.search(r"\b(\d{1,2})[:.](\d{2})\b", t)
        if m:
            return f"{int(m.group(1)):02d}:{m.group(2)}"
        hours_part, sep, rest = t.partition("час")
        if not sep:
            return None
        hours = _number(hours_part)
        rest = rest.split(" ", 1)[1] if " " in rest else ""
        minutes = _number(rest.split("минут")[0]) if "минут" in rest else 0
        if hours is None or minutes is None:
            return None
        return f"{hours:02d}:{minutes:02d}"
    if kind == "time_span":
        m = re.search(r"(?:^| )от (.+?) до (.+)$", t)
        if not m:
            return None
        ends = [_clock(part) for part in m.groups()]
        if None in ends:
            return None
        return "-".join(e for e in ends if e)
    digits = re.sub(r"\D", "", t) if re.fullmatch(r"[\d ,.+\-]+", t or "x") else None
    if digits:
        return digits
    if kind in ("account_digits", "phone"):
        return "".join(c.digits for c in readings(t)[:1]) or None
    n = _number(t.replace("киловатт", " ").replace("час", " "))
    return str(n) if n is not None else None


def _clock(part: str) -> str | None:
    m = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?", part.strip())
    if m:
        hours, minutes = int(m.group(1)), int(m.group(2) or 0)
    else:
        words = part.split()
        if not words:
            return None
        hours = _number(words[0])
        if hours is not None and len(words) > 1:
            rest = _number(" ".join(words[1:]))
            if rest is not None and rest < 60:
                minutes = rest
            else:
                hours = _number(part)
                minutes = 0
        else:
            minutes = 0
    if hours is None:
        return None
    if hours == 24 or hours == 0 and minutes == 0:
        hours = 0
    return f"{hours:02d}:{minutes:02d}"


@dataclass
class Heard:
    case: Case
    text: str
    value: str | None

    @property
    def ok(self) -> bool:
        return self.value == self.case.expected


def roundtrip(engine: Engine, voices: Voices, only: list[Case] | None = None) -> list[Heard]:
    out = []
    for case in only or cases():
        audio = voices.play(case.sounds)
        transcript = engine.transcribe(to_engine_rate(audio, RATE), case.expect)
        text = transcript.text
        out.append(Heard(case, text, parse(case.kind, text)))
    return out


def accuracy(heard: list[Heard]) -> dict[str, float]:
    kinds: dict[str, list[bool]] = {}
    for h in heard:
        kinds.setdefault(h.case.kind, []).append(h.ok)
    out = {k: round(sum(v) / len(v), 3) for k, v in kinds.items()}
    out["all"] = round(sum(h.ok for h in heard) / max(1, len(heard)), 3)
    return out


def pack_root(settings: Settings) -> Path | None:
    from hotline.stack import pbx

    root = pbx.rootfs_path(settings) / "usr" / "share" / "asterisk" / "sounds" / PACK
    return root if (root / "digits" / "5.wav").exists() else None
