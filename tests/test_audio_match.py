"""The audio matcher (tests/audio_match.py) on synthetic mixes: prompts found in order, at the
right offsets, through silence, noise and G.711; a prompt that was not played is not found."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from audio_match import (
    RATE,
    contains_run,
    find_prompts,
    first_audio_s,
    load_prompts,
    names,
    ulaw_decode,
    ulaw_encode,
)


def speechlike(seed: int, seconds: float) -> np.ndarray:
    """Band-limited noise in syllable-like bursts: as hard to tell apart as speech of one voice."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[(freqs < 200) | (freqs > 3400)] = 0
    band = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6.28))
    x = band * envelope
    return (x / np.abs(x).max() * 12000).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def g711(x: np.ndarray) -> np.ndarray:
    return ulaw_decode(ulaw_encode(x))


PROMPTS = {
    "hotline:disclosure": speechlike(1, 2.5),
    "hotline:bal_debt": speechlike(2, 1.2),
    "digits/5": speechlike(3, 0.45),
    "hotline:w_ruble_5": speechlike(4, 0.6),
    "digits/20": speechlike(5, 0.5),
}


def test_g711_round_trip_is_close() -> None:
    x = speechlike(9, 1.0)
    y = g711(x)
    assert np.corrcoef(x, y)[0, 1] > 0.999
    assert ulaw_decode(bytes([0xFF]))[0] == 0 and ulaw_decode(bytes([0x7F]))[0] == 0


def test_prompts_found_in_order_with_offsets_through_noise_and_g711() -> None:
    p = PROMPTS
    rng = np.random.default_rng(0)
    parts = [silence(0.3), p["hotline:disclosure"], silence(0.7), p["hotline:bal_debt"],
             p["digits/20"], p["digits/5"], silence(0.1), p["hotline:w_ruble_5"], silence(0.5)]
    mix = np.concatenate(parts).astype(np.float64)
    mix += rng.standard_normal(len(mix)) * 150  # noise about 35 dB below the speech
    received = g711(np.clip(mix, -32768, 32767).astype(np.int16))

    found = find_prompts(received, PROMPTS)
    assert names(found) == ["hotline:disclosure", "hotline:bal_debt", "digits/20", "digits/5",
                            "hotline:w_ruble_5"]
    starts = np.cumsum([0] + [len(x) for x in parts])[:-1] / RATE
    expected = [starts[1], starts[3], starts[4], starts[5], starts[7]]
    assert [m.start_s for m in found] == pytest.approx(expected, abs=0.002)
    assert all(m.score > 0.95 for m in found), found
    assert first_audio_s(received) == pytest.approx(0.3, abs=0.021)


def test_a_prompt_not_played_is_not_found() -> None:
    """The negative case: a prompt of the same kind (same band, same rhythm) that was not played."""
    played = np.concatenate([silence(0.2), PROMPTS["digits/5"], silence(0.2), PROMPTS["digits/20"]])
    other = {"digits/7": speechlike(7, 0.45), "digits/50": speechlike(8, 0.5)}
    assert find_prompts(g711(played), other) == []
    found = find_prompts(g711(played), {**PROMPTS, **other})
    assert names(found) == ["digits/5", "digits/20"]


def test_repeated_prompt_is_found_each_time() -> None:
    x = np.concatenate([PROMPTS["digits/5"], silence(0.3), PROMPTS["digits/5"]])
    assert names(find_prompts(g711(x), PROMPTS)) == ["digits/5", "digits/5"]


def test_prompt_cut_short_is_not_found() -> None:
    """A caller who hung up in the middle of a prompt did not hear it."""
    cut = PROMPTS["hotline:disclosure"][: len(PROMPTS["hotline:disclosure"]) // 3]
    assert find_prompts(g711(np.concatenate([silence(0.2), cut])), PROMPTS) == []


def test_silence_and_empty_input() -> None:
    assert find_prompts(silence(3.0), PROMPTS) == []
    assert find_prompts(np.zeros(0, dtype=np.int16), PROMPTS) == []
    assert first_audio_s(silence(1.0)) is None


def test_contains_run() -> None:
    assert contains_run(["a", "b", "c", "d"], ["b", "c"])
    assert not contains_run(["a", "b", "x", "c"], ["b", "c"])
    assert contains_run(["a"], [])


def test_load_prompts_names_files_by_prefix_and_path(tmp_path: Path) -> None:
    def write(path: Path, x: np.ndarray, rate: int = RATE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(x.astype("<i2").tobytes())

    write(tmp_path / "sounds" / "disclosure.wav", PROMPTS["hotline:disclosure"])
    write(tmp_path / "pack" / "digits" / "5.wav", PROMPTS["digits/5"])
    folders = {"hotline:": tmp_path / "sounds", "": tmp_path / "pack"}
    loaded = load_prompts(folders)
    assert sorted(loaded) == ["digits/5", "hotline:disclosure"]
    assert np.array_equal(loaded["digits/5"], PROMPTS["digits/5"])
    with pytest.raises(FileNotFoundError, match="digits/7"):
        load_prompts(folders, ["digits/5", "digits/7"])
    write(tmp_path / "bad" / "x.wav", PROMPTS["digits/5"], rate=16000)
    with pytest.raises(ValueError, match="8 kHz"):
        load_prompts({"": tmp_path / "bad"})
