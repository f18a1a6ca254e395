"""A floor under real recognition: Festival speech through the telephone (8 kHz µ-law) into
Whisper base and `speech.understanding`. Small and fast; it fails when the pipeline breaks
(model, features, decoding options, parsers), not when accuracy moves by a point — the full
figures are `hotline bench asr`'s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from base.settings import Settings
from speech.audio import resample, to_engine_rate, ulaw_decode, ulaw_encode
from speech.engine import Expect
from speech.model_store import open_engine
from speech.testset import festival_batch
from speech.understanding import ReadingContext, understand

READINGS = [  # (what the caller says, expected, previous reading)
    ("тридцать одна тысяча двести сорок", "31240", 31100),
    ("восемь тысяч пятьсот шестьдесят семь", "8567", 8400),
    ("двадцать семь тысяч триста пятьдесят один", "27351", 27222),
    ("один пять ноль два три", "15023", 15000),
    ("шестьдесят один четыреста двенадцать", "61412", 61300),
]
OTHERS = [  # (text, expect, expected)
    ("да", Expect.YESNO, "yes"),
    ("нет", Expect.YESNO, "no"),
    ("соедините меня с оператором", Expect.INTENT, "operator"),
    ("хочу узнать график работы", Expect.INTENT, "hours"),
]


@pytest.fixture(scope="session")
def whisper():
    return open_engine(Settings(), engine="whisper", workers=1)


@pytest.fixture(scope="module")
def phone_audio(tmp_path_factory) -> dict[str, np.ndarray]:
    """Each text spoken by Festival, passed through G.711 µ-law at 8 kHz, back at 16 kHz."""
    texts = [t for t, *_ in READINGS] + [t for t, *_ in OTHERS]
    paths = festival_batch(texts, Path(tmp_path_factory.mktemp("festival")), workers=2)
    from speech.audio import load_wav

    out = {}
    for text, path in paths.items():
        x, rate = load_wav(path)
        phone = ulaw_decode(ulaw_encode(resample(x, rate, 8000)))
        out[text] = to_engine_rate(phone, 8000)
    return out


def test_readings_yes_no_and_intents_from_real_speech(whisper, phone_audio) -> None:
    right = []
    for text, expected, previous in READINGS:
        t = whisper.transcribe(phone_audio[text], Expect.READING)
        u = understand(t, Expect.READING, ReadingContext(previous=previous, days=30))
        right.append(u.value == expected)
        if u.value == expected:
            assert u.confidence > 0.3, (text, u)
    assert sum(right) >= 4, right  # festival at 8 kHz: most, not all (see `hotline bench asr`)
    for text, expect, expected in OTHERS:
        u = understand(whisper.transcribe(phone_audio[text], expect), expect)
        assert u.value == expected, (text, u)
