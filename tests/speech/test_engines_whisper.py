"""Whisper base through CTranslate2, for real, on Festival's Russian in telephone band."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from base.settings import Settings
from speech import model_store
from speech.audio import load_wav, resample, to_engine_rate, ulaw_decode, ulaw_encode
from speech.decoding import DecodeOptions, for_expect
from speech.engine import SAMPLE_RATE, Expect
from speech.engines.whisper import WhisperEngine

SPEECH = {
    "number": "двенадцать тысяч триста сорок пять",
    "yes": "да",
    "digits": "четыре пять шесть семь",
}


def telephone(path: Path) -> np.ndarray:
    """A file through the telephone: 8 kHz µ-law and back, at the engines' rate."""
    x, rate = load_wav(path)
    narrow = ulaw_decode(ulaw_encode(resample(x, rate, 8000)))
    return to_engine_rate(narrow, 8000)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("festival")
    out = {}
    for name, text in SPEECH.items():
        (folder / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
        subprocess.run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)",
                        str(folder / f"{name}.txt"), "-o", str(folder / f"{name}.wav")],
                       check=True, capture_output=True)
        out[name] = telephone(folder / f"{name}.wav")
    return out


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    return WhisperEngine(model_store.whisper_model_dir(Settings()), workers=2)


def digits(text: str) -> str:
    """The number a hypothesis holds, written in digits or (with the number prompts) words."""
    from speech import numbers

    found = numbers.readings(text)
    return found[0].digits if found else re.sub(r"\D", "", text)


def test_a_number_in_telephone_band(engine: WhisperEngine, clips) -> None:
    transcript = engine.transcribe(clips["number"], Expect.NUMBER)
    assert transcript.engine == "whisper"
    assert "12345" in [digits(h.text) for h in transcript.hypotheses]
    assert len(transcript.hypotheses) >= 2  # N-best for understanding to weigh
    confidences = [h.confidence for h in transcript.hypotheses]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 < c <= 1 for c in confidences)
    assert transcript.audio_ms == round(clips["number"].size * 1000 / SAMPLE_RATE)
    # the encoder sees the utterance's own length, not Whisper's 30 s window
    assert transcript.decode_ms < 1500


def test_yes_and_digits(engine: WhisperEngine, clips) -> None:
    yes = engine.transcribe(clips["yes"], Expect.YESNO)
    assert re.sub(r"[^а-яё]", "", yes.text.lower()) == "да"
    assert "4567" in [digits(h.text) for h in engine.transcribe(clips["digits"],
                                                                  Expect.NUMBER).hypotheses]


def test_the_window_is_the_utterance_padded(engine: WhisperEngine, clips) -> None:
    options = for_expect(Expect.NUMBER)
    mel = engine.mel(clips["number"], options)
    seconds = clips["number"].size / SAMPLE_RATE + options.pad_s
    assert mel.shape[0] == engine.model.n_mels
    assert mel.shape[1] % 2 == 0
    assert abs(mel.shape[1] - seconds * 100) <= 2  # 100 frames a second, not 3000
    short = engine.mel(np.zeros(800, np.float32), DecodeOptions(min_window_s=1.0, pad_s=0.0))
    assert short.shape[1] == 100
    huge = engine.mel(np.zeros(40 * SAMPLE_RATE, np.float32), options)
    assert huge.shape[1] == 3000  # never more than Whisper's window


def test_length_limit(engine: WhisperEngine, clips) -> None:
    options = DecodeOptions(beam_size=2, num_hypotheses=2, max_length=3)
    transcript = engine.transcribe(clips["number"], Expect.NUMBER, options)
    for h in transcript.hypotheses:
        assert len(engine.tokenizer.encode(" " + h.text)) <= 3 + 1  # +1: a re-split space


def test_initial_prompt_starts_with_the_previous_text_token(engine: WhisperEngine) -> None:
    tok = engine.tokenizer
    plain = engine.prompt(None)
    assert plain == [*tok.sot_sequence, tok.no_timestamps]
    prompted = engine.prompt("показания счётчика")
    assert prompted[0] == tok.sot_prev and prompted[-len(plain):] == plain
    assert tok.decode(prompted[1:-len(plain)]).strip() == "показания счётчика"


def test_empty_audio_gives_no_hypotheses(engine: WhisperEngine) -> None:
    transcript = engine.transcribe(np.zeros(0, np.float32), Expect.NUMBER)
    assert transcript.hypotheses == () and transcript.text == "" and transcript.audio_ms == 0


def concurrency(engine: WhisperEngine, audio: np.ndarray, callers: int) -> tuple[int, int, list]:
    """Run `callers` threads at once; the most batches CTranslate2 was running at once, and
    the most waiting (its num_active_batches counts both, num_queued_batches the waiting)."""
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(
        engine.transcribe(audio, Expect.NUMBER).hypotheses)) for _ in range(callers)]
    running = queued = 0
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        waiting = engine.model.num_queued_batches
        running = max(running, engine.model.num_active_batches - waiting)
        queued = max(queued, waiting)
        time.sleep(0.002)
    for t in threads:
        t.join()
    return running, queued, results


def test_two_workers_decode_at_once(engine: WhisperEngine, clips) -> None:
    """One model with inter_threads=2 serves two threads at once (CTranslate2 reports both
    batches in work), with the same answers as one at a time; a one-worker model queues the
    second caller instead."""
    audio = np.concatenate([clips["number"]] * 3)  # ~9 s: long enough to watch
    expected = engine.transcribe(audio, Expect.NUMBER).hypotheses
    assert engine.model.num_workers == 2
    running, _queued, results = concurrency(engine, audio, 2)
    assert running == 2
    assert results == [expected, expected]
    single = WhisperEngine(model_store.whisper_model_dir(Settings()), workers=1)
    running, queued, results = concurrency(single, audio, 2)
    assert running == 1 and queued == 1
    assert results == [expected, expected]
