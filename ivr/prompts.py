"""The hotline's spoken prompts: Russian text, rendered once to telephone-band audio and cached.

Prompts are rendered with Festival's Russian voice (Debian `festival` + `festvox-ru`), which
is more intelligible than espeak-ng's Russian; espeak-ng is the fallback when Festival is
missing. Files are 8 kHz mono 16-bit WAV (what Asterisk plays without resampling). The cache
key is the engine, voice and text, so editing a text re-renders just that prompt.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ivr.prompts")

# Name -> text. The disclosure is the first thing every caller hears (002 §5.1.1).
PROMPTS: dict[str, str] = {
    "disclosure": "Разговор записывается. Здравствуйте! Вы позвонили на горячую линию энергосбыта.",
    "welcome": "Мы рады вам помочь.",
    "goodbye": "Спасибо за звонок. До свидания!",
    "technical_problem": (
        "Извините, сервис временно недоступен. Пожалуйста, перезвоните немного позже."
    ),
    "voice_check": "Проверка связи. Говорите, и вы услышите свой голос.",
    # Words for numbers, sums, readings, dates and times spoken by ivr.say_ru, where the
    # Russian sound pack has no file (see ivr/say_ru.py for what the pack's files say).
    # One and two for feminine nouns (тысяча, копейка, минута); the pack's 1n/2n are neuter.
    "w_1f": "одна",
    "w_2f": "две",
    # Hundreds from 200 (the pack has сто only).
    "w_200": "двести",
    "w_300": "триста",
    "w_400": "четыреста",
    "w_500": "пятьсот",
    "w_600": "шестьсот",
    "w_700": "семьсот",
    "w_800": "восемьсот",
    "w_900": "девятьсот",
    # Counted nouns: _1 after 1, 21…; _2_4 after 2-4, 22-24…; _5 after 5-20, 0… (часов,
    # минута, минут: the pack's human voice, ivr.say_ru)
    "w_thousand_2_4": "тысячи",
    "w_thousand_5": "тысяч",
    "w_million_2_4": "миллиона",
    "w_million_5": "миллионов",
    "w_ruble_1": "рубль",
    "w_ruble_2_4": "рубля",
    "w_ruble_5": "рублей",
    "w_kopeck_1": "копейка",
    "w_kopeck_2_4": "копейки",
    "w_kopeck_5": "копеек",
    "w_kwh_1": "киловатт-час",
    "w_kwh_2_4": "киловатт-часа",
    "w_kwh_5": "киловатт-часов",
    "w_hour_1": "час",
    "w_hour_2_4": "часа",
    "w_minute_2_4": "минуты",
    # Neuter ordinals, for the day of a date (the pack's h-* are masculine).
    "w_ord_n_1": "первое",
    "w_ord_n_2": "второе",
    "w_ord_n_3": "третье",
    "w_ord_n_4": "четвёртое",
    "w_ord_n_5": "пятое",
    "w_ord_n_6": "шестое",
    "w_ord_n_7": "седьмое",
    "w_ord_n_8": "восьмое",
    "w_ord_n_9": "девятое",
    "w_ord_n_10": "десятое",
    "w_ord_n_11": "одиннадцатое",
    "w_ord_n_12": "двенадцатое",
    "w_ord_n_13": "тринадцатое",
    "w_ord_n_14": "четырнадцатое",
    "w_ord_n_15": "пятнадцатое",
    "w_ord_n_16": "шестнадцатое",
    "w_ord_n_17": "семнадцатое",
    "w_ord_n_18": "восемнадцатое",
    "w_ord_n_19": "девятнадцатое",
    "w_ord_n_20": "двадцатое",
    "w_ord_n_30": "тридцатое",
    # Decimal point of a reading.
    "w_comma": "запятая",
    # Clock hours from–to (ivr.say_ru.time_span_words): «от восьми до двадцати».
    "w_from": "от",
    "w_until": "до",
    "w_gen_0": "нуля",
    "w_gen_1": "одного",
    "w_gen_2": "двух",
    "w_gen_3": "трёх",
    "w_gen_4": "четырёх",
    "w_gen_5": "пяти",
    "w_gen_6": "шести",
    "w_gen_7": "семи",
    "w_gen_8": "восьми",
    "w_gen_9": "девяти",
    "w_gen_10": "десяти",
    "w_gen_11": "одиннадцати",
    "w_gen_12": "двенадцати",
    "w_gen_13": "тринадцати",
    "w_gen_14": "четырнадцати",
    "w_gen_15": "пятнадцати",
    "w_gen_16": "шестнадцати",
    "w_gen_17": "семнадцати",
    "w_gen_18": "восемнадцати",
    "w_gen_19": "девятнадцати",
    "w_gen_20": "двадцати",
    "w_gen_30": "тридцати",
    "w_gen_40": "сорока",
    "w_gen_50": "пятидесяти",
}


RENDER_VERSION = "2"  # bump when to_telephone_band changes, so cached prompts are rendered again


class TtsError(RuntimeError):
    pass


@dataclass(frozen=True)
class TtsEngine:
    name: str
    voice: str

    def available(self) -> bool:
        return shutil.which("text2wave" if self.name == "festival" else "espeak-ng") is not None

    def synthesize(self, text: str, out_wav: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            if self.name == "festival":
                src = Path(tmp) / "text.txt"
                src.write_text(text, encoding="utf-8")
                cmd = ["text2wave", "-eval", f"({self.voice})", str(src), "-o", str(raw)]
            else:
                cmd = ["espeak-ng", "-v", self.voice, "-s", "150", "-w", str(raw), text]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0 or not raw.exists() or raw.stat().st_size < 1000:
                raise TtsError(f"{self.name} could not speak {text!r}: {result.stderr.strip()}")
            to_telephone_band(raw, out_wav)


FESTIVAL = TtsEngine("festival", "voice_msu_ru_nsh_clunits")
ESPEAK = TtsEngine("espeak-ng", "ru")


def to_telephone_band(src: Path, dst: Path) -> None:
    """Any audio sox reads -> 8 kHz mono signed 16-bit WAV: the synthesiser's own silence
    trimmed at both ends (numbers are read out of several files, and each file's silence adds
    up to audible gaps), normalised, with a short lead-in."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dst.parent, suffix=".tmp.wav", delete=False) as f:
        tmp = Path(f.name)  # its own name: several stacks may render the same prompt at once
    result = subprocess.run(
        ["sox", str(src), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp),
         "silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%", "reverse",
         "norm", "-3", "pad", "0.1", "0.05"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise TtsError(f"sox could not convert {src}: {result.stderr.strip()}")
    tmp.replace(dst)


def default_engine() -> TtsEngine:
    for engine in (FESTIVAL, ESPEAK):
        if engine.available():
            return engine
    raise TtsError("no speech synthesiser: install festival and festvox-ru (run `make setup`)")


def render(text: str, cache_dir: Path, engine: TtsEngine | None = None) -> Path:
    engine = engine or default_engine()
    key = hashlib.sha256(f"{RENDER_VERSION}\0{engine.name}\0{engine.voice}\0{text}".encode()).hexdigest()[:20]
    path = cache_dir / f"{key}.wav"
    if not path.exists():
        engine.synthesize(text, path)
    return path


def install(sounds_dir: Path, cache_dir: Path, uid: int = -1, gid: int = -1) -> list[Path]:
    """Render (or reuse) every prompt and copy it into the PBX's sounds folder."""
    sounds_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for name, text in PROMPTS.items():
        target = sounds_dir / f"{name}.wav"
        shutil.copyfile(render(text, cache_dir), target)
        installed.append(target)
    moh = sounds_dir / "moh"
    moh.mkdir(exist_ok=True)
    tone = moh / "calm.wav"
    if not tone.exists():
        # A soft two-note pattern: music on hold the project can make itself.
        subprocess.run(
            ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(tone), "synth", "0.6", "sine", "440",
             "synth", "0.6", "sine", "mix", "554", "vol", "0.15", "pad", "0", "1.4", "repeat", "9"],
            check=True, capture_output=True,
        )
        installed.append(tone)
    for path in [sounds_dir, moh, *sounds_dir.iterdir(), *moh.iterdir()]:
        shutil.chown(path, uid if uid >= 0 else None, gid if gid >= 0 else None) if uid >= 0 else None
    return installed
