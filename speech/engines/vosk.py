"""Vosk (Kaldi) behind `Engine`: streaming recognition, a word grammar per `Expect`, N-best.

A model folder (`asr_models/vosk-model-small-ru-0.22`, any path, or a package's `model`
folder) is loaded once and shared: every utterance gets its own `KaldiRecognizer`, so several
threads may recognise at once (the model is read-only; cffi releases the GIL in Vosk's calls).

- Grammar: for readings, numbers and confirmations the recogniser is restricted to the words
  that can occur (Russian number words, zones, да/нет/верно, and `[unk]` for anything else);
  free speech (intents) uses the model's full language model. A grammar word the model does
  not know is dropped with a warning (Vosk would drop it too, logging `Ignoring word missing in
  vocabulary`); a grammar the model knows none of is refused (`EngineUnavailable`): the model
  is not a Russian one.
- N-best: `SetMaxAlternatives(N)`; a hypothesis's confidence is its share of the N-best's
  probability mass (softmax of Vosk's lattice scores), an estimate of the sentence posterior.
  With one hypothesis asked for, it is the mean word confidence (`SetWords(True)`).
- Streaming: `VoskEngine.stream(expect, rate)` accepts 16-bit PCM chunks, gives partial text,
  and reports Vosk's own end of utterance (`AcceptWaveform` returning True: trailing silence
  per the model's endpoint rules).
- Recognisers are reused: with a small (lookahead) model the first utterance of a fresh
  recogniser without a grammar costs ~1 s (the graph is composed on the fly), a reused one
  ~50 ms. A finished recogniser goes back to a small idle pool; reuse was checked to give the
  same words as a fresh one. One free recogniser is warmed up when the engine loads.
- Kaldi's feature extraction dithers (the models' mfcc.conf do not set --dither=0), so the
  same audio can give slightly different results from run to run on unclear speech.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from pathlib import Path

import numpy as np

from speech.audio import float_to_pcm16, resample
from speech.engine import (
    SAMPLE_RATE,
    EngineUnavailable,
    Expect,
    Hypothesis,
    Transcript,
    as_engine_audio,
)

log = logging.getLogger(__name__)

UNK = "[unk]"
_NUMBER_WORDS = (
    "ноль нуль ноля нуля один одна одно одного два две три четыре пять шесть семь восемь "
    "девять десять одиннадцать двенадцать тринадцать четырнадцать пятнадцать шестнадцать "
    "семнадцать восемнадцать девятнадцать двадцать тридцать сорок пятьдесят шестьдесят "
    "семьдесят восемьдесят девяносто сто двести триста четыреста пятьсот шестьсот семьсот "
    "восемьсот девятьсот тысяча тысячи тысяч миллион миллиона миллионов"
).split()
_READING_WORDS = (
    "запятая точка и целых целая десятых сотых день дневная дневной дневные ночь ночная "
    "ночной ночные зона пик полупик показания киловатт"
).split()
_YESNO_WORDS = (
    "да нет не верно неверно правильно неправильно так точно конечно ага угу хорошо "
    "ошибка отмена"
).split()

# The grammar (word list) per Expect for a Russian model; None: free recognition.
RUSSIAN_GRAMMARS: dict[Expect, list[str] | None] = {
    Expect.READING: [*_NUMBER_WORDS, *_READING_WORDS, UNK],
    Expect.NUMBER: [*_NUMBER_WORDS, UNK],
    Expect.YESNO: [*_YESNO_WORDS, UNK],
    Expect.INTENT: None,
}
IDLE_RECOGNIZERS = 4  # finished recognisers kept for reuse, per (Expect, rate)
DEFAULT_ALTERNATIVES = {Expect.READING: 5, Expect.NUMBER: 5, Expect.YESNO: 3, Expect.INTENT: 3}


def load_model(folder: str | Path):  # -> vosk.Model
    """Load a Vosk model folder (raises EngineUnavailable when Vosk or the model fails)."""
    try:
        import vosk
    except ImportError:  # pragma: no cover - a dependency of the project
        raise EngineUnavailable("the Vosk engine needs the vosk package: pip install "
                                "vosk==0.3.45") from None
    try:
        return vosk.Model(str(folder))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise EngineUnavailable(f"Vosk cannot load the model in {folder}: {exc}") from None


def model_rate(folder: str | Path) -> int:
    """The sample rate the model was trained at (conf/mfcc.conf), 16000 when not stated."""
    conf = Path(folder) / "conf" / "mfcc.conf"
    if conf.is_file():
        found = re.search(r"--sample-frequency=(\d+)", conf.read_text())
        if found:
            return int(found.group(1))
    return 16000


class VoskEngine:
    name = "vosk"

    def __init__(self, model_dir: str | Path,
                 grammars: dict[Expect, list[str] | None] | None = None,
                 alternatives: dict[Expect, int] | None = None) -> None:
        import vosk

        started = time.perf_counter()
        self._vosk = vosk
        self.model_dir = Path(model_dir)
        self.model = load_model(self.model_dir)
        self.rate = model_rate(self.model_dir)
        self.alternatives = {**DEFAULT_ALTERNATIVES, **(alternatives or {})}
        wanted = RUSSIAN_GRAMMARS if grammars is None else grammars
        self.grammars: dict[Expect, str | None] = {}
        self.dropped: dict[Expect, list[str]] = {}
        for expect in Expect:
            words = wanted.get(expect)
            self.grammars[expect] = None if words is None else self._grammar(expect, words)
        self._idle: dict[tuple[Expect, int], list] = {}
        self._idle_lock = threading.Lock()
        if self.grammars.get(Expect.INTENT) is None:  # compose the free graph once, now
            warm = self.stream(Expect.INTENT)
            warm.accept(bytes(2 * self.rate // 10))
            warm.result()
        self.load_s = time.perf_counter() - started
        log.info("vosk model %s loaded in %.2f s (%d Hz)", self.model_dir, self.load_s,
                 self.rate)

    def knows(self, word: str) -> bool:
        return self.model.vosk_model_find_word(word) >= 0

    def _grammar(self, expect: Expect, words: list[str]) -> str:
        kept: list[str] = []
        dropped: list[str] = []
        for phrase in words:
            if phrase == UNK:
                continue  # Vosk's own word for "anything else": kept when the model has it
            variants = dict.fromkeys([phrase, phrase.replace("ё", "е")])
            known = [v for v in variants if all(self.knows(w) for w in v.split())]
            (kept if known else dropped).extend(known or [phrase])
        if not kept:
            raise EngineUnavailable(
                f"the Vosk model in {self.model_dir} knows none of the {expect.value} grammar's "
                f"words ({', '.join(words[:6])}…): it is not a model for this language"
            )
        if dropped:
            log.warning("vosk model %s: %s grammar words not in its vocabulary, dropped: %s",
                        self.model_dir.name, expect.value, ", ".join(dropped))
        self.dropped[expect] = dropped
        if UNK in words and self.knows(UNK):
            kept.append(UNK)
        return json.dumps(kept, ensure_ascii=False)  # Vosk does not read \\u escapes

    def recognizer(self, expect: Expect, rate: int | None = None):
        grammar = self.grammars.get(Expect(expect))
        rate = rate or self.rate
        if grammar is None:
            rec = self._vosk.KaldiRecognizer(self.model, rate)
        else:
            rec = self._vosk.KaldiRecognizer(self.model, rate, grammar)
        rec.SetWords(True)
        rec.SetMaxAlternatives(max(0, self.alternatives.get(Expect(expect), 1)))
        return rec

    def _take(self, expect: Expect, rate: int):
        with self._idle_lock:
            idle = self._idle.get((expect, rate))
            if idle:
                return idle.pop()
        return self.recognizer(expect, rate)

    def _give(self, expect: Expect, rate: int, rec) -> None:
        """A recogniser back to the idle pool (it must be finished or reset)."""
        with self._idle_lock:
            idle = self._idle.setdefault((expect, rate), [])
            if len(idle) < IDLE_RECOGNIZERS:
                idle.append(rec)

    def stream(self, expect: Expect, rate: int | None = None) -> VoskStream:
        """A streaming recognition of one utterance: 16-bit PCM at `rate` (the model's)."""
        return VoskStream(self, Expect(expect), rate or self.rate)

    def transcribe(self, audio: np.ndarray, expect: Expect) -> Transcript:
        started = time.perf_counter()
        audio = as_engine_audio(audio)
        samples = resample(audio, SAMPLE_RATE, self.rate) if self.rate != SAMPLE_RATE else audio
        stream = self.stream(expect, self.rate)
        # The utterance was already cut by the endpointer: fed whole, so that Vosk does not
        # split it at a pause into segments (which would leave one joined hypothesis, no N-best)
        stream.accept(float_to_pcm16(samples))
        transcript = stream.result()
        return Transcript(transcript.hypotheses, self.name,
                          int(round(audio.size * 1000 / SAMPLE_RATE)),
                          (time.perf_counter() - started) * 1000)


class VoskStream:
    """One utterance fed in chunks. `accept` returns True when Vosk detects its end."""

    def __init__(self, engine: VoskEngine, expect: Expect, rate: int) -> None:
        self.engine = engine
        self.expect = expect
        self.rate = rate
        self.rec = engine._take(expect, rate)
        self.segments: list[dict] = []  # results of the segments Vosk ended
        self.samples = 0
        self.ended = False
        self._started = time.perf_counter()

    def accept(self, pcm16: bytes) -> bool:
        """Feed 16-bit PCM; True when this chunk completed an utterance (trailing silence)."""
        if self.rec is None:
            raise RuntimeError("this utterance is finished")
        if not pcm16:
            return False
        self.samples += len(pcm16) // 2
        if self.rec.AcceptWaveform(bytes(pcm16)):
            result = json.loads(self.rec.Result())
            if _texts(result):
                self.segments.append(result)
                self.ended = True
                return True
        return False

    def partial(self) -> str:
        if self.rec is None:
            return ""
        return json.loads(self.rec.PartialResult()).get("partial", "")

    def cancel(self) -> None:
        """Abandon the utterance (the caller hung up): the recogniser is finished for reuse
        (Vosk's Reset() was seen to keep the abandoned words; FinalResult() does not)."""
        if self.rec is not None:
            self.rec.FinalResult()
            self.engine._give(self.expect, self.rate, self.rec)
            self.rec = None

    def result(self) -> Transcript:
        """Finish: every segment's best text joined (N-best when there is one segment)."""
        if self.rec is None:
            raise RuntimeError("this utterance is finished")
        final = json.loads(self.rec.FinalResult())
        self.engine._give(self.expect, self.rate, self.rec)  # FinalResult reset it
        self.rec = None
        segments = [*self.segments, final] if _texts(final) else list(self.segments)
        if not segments:
            hypotheses: tuple[Hypothesis, ...] = ()
        elif len(segments) == 1:
            hypotheses = _hypotheses(segments[0])
        else:
            parts = [_hypotheses(s) for s in segments]
            parts = [p for p in parts if p]
            text = " ".join(p[0].text for p in parts)
            confidence = float(np.prod([p[0].confidence for p in parts]))
            hypotheses = (Hypothesis(text, confidence),)
        return Transcript(hypotheses, self.engine.name,
                          int(round(self.samples * 1000 / self.rate)),
                          (time.perf_counter() - self._started) * 1000)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _texts(result: dict) -> list[str]:
    if "alternatives" in result:
        return [t for a in result["alternatives"] if (t := _clean(a.get("text", "")))]
    text = _clean(result.get("text", ""))
    return [text] if text else []


def _hypotheses(result: dict) -> tuple[Hypothesis, ...]:
    if "alternatives" not in result:
        text = _clean(result.get("text", ""))
        words = result.get("result") or []
        if not text:
            return ()
        conf = float(np.mean([w.get("conf", 0.0) for w in words])) if words else 0.0
        return (Hypothesis(text, conf),)
    alternatives = [(_clean(a.get("text", "")), float(a.get("confidence", 0.0)))
                    for a in result["alternatives"]]
    if not alternatives:
        return ()
    top = max(score for _t, score in alternatives)
    weights = [(t, math.exp(score - top)) for t, score in alternatives]
    total = sum(w for _t, w in weights)
    merged: dict[str, float] = {}
    for text, w in weights:  # an empty text (silence / only [unk]) keeps its share of the mass
        merged[text] = merged.get(text, 0.0) + w / total
    return tuple(Hypothesis(t, c) for t, c in sorted(merged.items(), key=lambda kv: -kv[1])
                 if t)
