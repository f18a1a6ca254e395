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

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from base.settings import Settings
from ivr import hotline_prompts, prompts, say_ru
from speech.audio import load_wav, to_engine_rate, ulaw_decode, ulaw_encode
from speech.engine import Engine, Expect
from speech.numbers import normalize, number_word, readings

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


def cases(seed: int = 7) -> list[Case]:
    """Fixed examples of every kind (the tricky ones), then seeded random ones."""
    rng = random.Random(seed)
    amounts = ["1234.56", "0.50", "15", "21.01", "3002.22", "100", "11000", "1.21"]
    amounts += [f"{rng.randrange(0, 20000)}.{rng.randrange(100):02d}" for _ in range(10)]
    days = [date(2026, 11, 23), date(2026, 1, 1), date(2026, 12, 31), date(2026, 2, 2)]
    days += [date(2026, 1, 1) + timedelta(days=rng.randrange(365)) for _ in range(12)]
    clock = [time(8, 30), time(21, 0), time(0, 5), time(12, 1), time(23, 59)]
    clock += [time(rng.randrange(24), rng.choice((0, rng.randrange(60)))) for _ in range(9)]
    spans = [(time(8), time(20)), (time(9), time(18)), (time(8, 30), time(17, 45)),
             (time(10), time(0)), (time(7), time(22)), (time(9, 30), time(16, 15))]
    values = [12345, 1000, 10010, 457, 100000, 20020, 3011]
    values += [rng.randrange(100, 100000) for _ in range(11)]
    digits = ["0042", "1234", "0007", "123456"]
    digits += [f"{rng.randrange(10**6):06d}"[: rng.choice((4, 6))] for _ in range(8)]
    phones = ["89161234567", "84951002030"] + [f"89{rng.randrange(10**9):09d}" for _ in range(4)]
    counts = [1, 2, 5, 11, 21, 112] + [rng.randrange(1, 60) for _ in range(8)]

    out: list[Case] = []
    for amount in amounts:
        out.append(Case("money", f"{Decimal(amount):.2f}",
                        tuple(say_ru.money_sounds(Decimal(amount))), Expect.INTENT))
    for d in days:
        out.append(Case("date", f"{d.day}.{d.month}", tuple(say_ru.date_sounds(d)),
                        Expect.INTENT))
    for t in clock:
        out.append(Case("time", f"{t:%H:%M}", tuple(say_ru.time_sounds(t)), Expect.INTENT))
    for a, b in spans:
        out.append(Case("time_span", f"{a:%H:%M}-{b:%H:%M}",
                        tuple(say_ru.time_span_sounds(a, b)), Expect.INTENT))
    for r in values:
        out.append(Case("reading", str(r), tuple(say_ru.reading_sounds(r, with_unit=True)),
                        Expect.READING))
    for digit_string in digits:
        out.append(Case("account_digits", digit_string,
                        tuple(say_ru.digits_sounds(digit_string)), Expect.NUMBER))
    for phone in phones:
        out.append(Case("phone", phone, tuple(_phone(phone)), Expect.NUMBER))
    for n in counts:
        out.append(Case("count", str(n), tuple(say_ru.number_sounds(n)), Expect.NUMBER))
    return out


class Voices:
    """Sound names -> 8 kHz float samples, as the PBX would find them (cached)."""

    def __init__(self, pack_root: Path, prompt_cache: Path,
                 post: Callable[[str, np.ndarray], np.ndarray] | None = None) -> None:
        """``post``: a change to each file's samples, to try a rendering before adopting it."""
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


def _number(text: str, below: int | None = None) -> int | None:
    """The best number the text supports (under ``below`` when given)."""
    text = text.strip()
    if not text:
        return None
    for cand in readings(text):
        if cand.digits.isdigit() and (below is None or int(cand.digits) < below):
            return int(cand.digits)
    return None


def _month(word: str) -> int | None:
    for n, stem in enumerate(_MONTHS, 1):
        if word.startswith(stem) and (stem != "ма" or word in ("мая", "май", "мае")):
            return n
    return None


def _day(text: str) -> int | None:
    """The day before a month: «23», «двадцать третье», «30 1» (тридцать первое)."""
    words = text.split()
    total, found = 0, False
    for w in words[-2:]:
        for stem, value in sorted(_ORDINAL_STEMS.items(), key=lambda kv: -len(kv[0])):
            if w.startswith(stem):
                total += value
                found = True
                break
        else:
            n = int(w) if w.isdigit() else _number(w)
            if n is not None:
                total += n
                found = True
    return total if found and 1 <= total <= 31 else None


def _thousands(t: str) -> str:
    """«11 тысяч», «2 тысячи 500» as Whisper writes them -> 11000, 2500."""
    def join(m: re.Match) -> str:
        return str(int(m.group(1)) * 1000 + int(m.group(2) or 0))
    return re.sub(r"\b(\d{1,3}) тысяч\w*(?: (\d{1,3})\b)?", join, t)


def _is_number(word: str) -> bool:
    return word.isdigit() or number_word(word) is not None


def _before(words: list[str], i: int) -> str:
    """The number words right before position i."""
    j = i
    while j > 0 and _is_number(words[j - 1]):
        j -= 1
    return " ".join(words[j:i])


def _after(words: list[str], i: int) -> str:
    """The number words right after position i."""
    j = i + 1
    while j < len(words) and _is_number(words[j]):
        j += 1
    return " ".join(words[i + 1:j])


def _unit_value(words: list[str], stem: str, after: bool,
                below: int = 100) -> tuple[int | None, int | None]:
    """(the number before the unit word, the one after it, under ``below``); None: absent."""
    for i, w in enumerate(words):
        if w.startswith(stem):
            return (_number(_before(words, i)),
                    _number(_after(words, i), below) if after else None)
    return None, None


def parse(kind: str, text: str) -> str | None:
    """The value heard, in the canonical form of ``Case.expected`` (None: not understood)."""
    t = _thousands(normalize(text))
    words = t.split()
    if kind == "money":
        m = re.fullmatch(r"(\d+)[.,](\d{2})", t)
        if m:
            return f"{int(m.group(1))}.{m.group(2)}"
        rubles, kopecks = _unit_value(words, "рубл", after=True)
        if rubles is None:
            kop_only, _ = _unit_value(words, "копе", after=False)
            return f"0.{kop_only:02d}" if kop_only is not None and kop_only < 100 else None
        kopecks = kopecks or 0
        return f"{rubles}.{kopecks:02d}" if kopecks < 100 else None
    if kind == "date":
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
        hours, minutes = _unit_value(words, "час", after=True)
        if hours is None:
            return None
        return f"{hours:02d}:{(minutes or 0):02d}" if (minutes or 0) < 60 else None
    if kind == "time_span":
        m = re.search(r"(?:^| )от (.+?) до (.+)$", t)
        if not m:
            return None
        ends = [_clock(part) for part in m.groups()]
        if None in ends:
            return None
        return "-".join(e for e in ends if e)
    if kind == "reading":
        for i, w in enumerate(words):
            if w.startswith("килов"):
                words = words[:i]
                break
        n = _number(" ".join(words))
        return str(n) if n is not None else None
    if kind in ("account_digits", "phone"):
        digits = "".join(re.findall(r"\d", t))
        if re.fullmatch(r"[\d ,.+\-]+", t or "x"):
            return digits
        cands = readings(t)
        return cands[0].digits if cands else None
    n = _number(t)
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


NUMERIC = ("reading", "count")  # digits and phone numbers: every digit, any length (parse)
LEAD_S = 0.3  # the value follows a prompt's end and is followed by silence, as in a call


def roundtrip(engine: Engine, voices: Voices, only: list[Case] | None = None) -> list[Heard]:
    """Play, recognise, understand: numbers through `speech.understanding` (as a caller's
    answer would be), sums, dates and times through `parse` on the de-looped text."""
    from speech.understanding import understand, unloop

    out = []
    pad = np.zeros(int(LEAD_S * RATE), np.float32)
    for case in only or cases():
        audio = np.concatenate([pad, voices.play(case.sounds), pad])
        transcript = engine.transcribe(to_engine_rate(audio, RATE), case.expect)
        if case.kind in NUMERIC:
            value = understand(transcript, case.expect).value
        else:
            value = parse(case.kind, unloop(transcript.text))
        out.append(Heard(case, transcript.text, value))
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
