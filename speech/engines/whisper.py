"""Whisper base through CTranslate2 directly: N-best hypotheses with scores, per `Expect`.

faster-whisper's `transcribe()` pads every utterance to Whisper's 30 s window, so the encoder
costs ~0.7 s whatever the length. Here the encoder sees the utterance's own length (plus a
little silence, `DecodeOptions.pad_s`, and at least `min_window_s`), which keeps a 5 s answer
near 0.1 s on one core; the decoder then returns `num_hypotheses` texts from a beam search
with their length-normalised log-probabilities. A hypothesis's confidence is
exp(mean token log-prob). `max_length` bounds the generated tokens, so no utterance loops.
The encoder runs once; its output (~0.7 MB for 7 s) stays with the transcript as
`Transcript.scorer`, which scores any texts by forced decoding (`speech.rescoring`).

Thread safety: one `ctranslate2.models.Whisper` with `inter_threads=workers, intra_threads=1`
serves up to `workers` Python threads at once over one copy of the weights (CTranslate2 runs
each call on one of its workers and releases the GIL meanwhile; a further caller waits in its
queue). Checked by the tests through the model's own counters: two callers on a two-worker
model run together, on a one-worker model the second waits. One model costs ~210 MB of RSS
whatever the number of workers; int8 weights, ~0.5-1 s to load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from speech.decoding import DecodeOptions, for_expect
from speech.engine import (
    SAMPLE_RATE,
    EngineUnavailable,
    Expect,
    Hypothesis,
    Transcript,
    as_engine_audio,
)

log = logging.getLogger(__name__)

HOP = 160  # samples per feature frame (10 ms at 16 kHz)
MAX_FRAMES = 3000  # Whisper's window: 30 s
MAX_TOKENS = 448  # Whisper's decoder context


class WhisperEngine:
    """One Whisper model (CTranslate2 format, int8 on CPU) serving up to `workers` threads."""

    name = "whisper"

    def __init__(self, model_dir: str | Path, *, workers: int = 1, language: str = "ru",
                 compute_type: str = "int8") -> None:
        try:
            import ctranslate2
            import tokenizers
            from faster_whisper.feature_extractor import FeatureExtractor
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:  # pragma: no cover - dependencies of the project
            raise EngineUnavailable(
                f"the Whisper engine needs faster-whisper and ctranslate2 ({exc}): "
                "pip install faster-whisper==1.2.1"
            ) from None
        model_dir = Path(model_dir)
        started = time.perf_counter()
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(
            str(model_dir), device="cpu", compute_type=compute_type,
            inter_threads=max(1, workers), intra_threads=1,
        )
        self.workers = max(1, workers)
        self.features = FeatureExtractor(feature_size=self.model.n_mels)
        self.tokenizer = Tokenizer(
            tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json")),
            self.model.is_multilingual, task="transcribe", language=language,
        )
        self._prompt_cache: dict[str | None, list[int]] = {}
        self.load_s = time.perf_counter() - started
        log.info("whisper model %s loaded in %.2f s (%d workers)", model_dir, self.load_s,
                 self.workers)

    def prompt(self, initial_prompt: str | None) -> list[int]:
        """The decoder's start: [previous-text prompt] sot, language, transcribe, no timestamps."""
        cached = self._prompt_cache.get(initial_prompt)
        if cached is None:
            tok = self.tokenizer
            cached = []
            if initial_prompt:
                cached = [tok.sot_prev, *tok.encode(" " + initial_prompt.strip())]
            cached += [*tok.sot_sequence, tok.no_timestamps]
            self._prompt_cache[initial_prompt] = cached
        return cached

    def mel(self, audio: np.ndarray, options: DecodeOptions) -> np.ndarray:
        """Log-mel features of the utterance padded with silence: [n_mels, frames], even."""
        pad = int(options.pad_s * SAMPLE_RATE)
        shortest = int(options.min_window_s * SAMPLE_RATE)
        total = min(max(audio.size + pad, shortest), MAX_FRAMES * HOP)
        padded = np.zeros(total, dtype=np.float32)
        padded[: min(audio.size, total)] = audio[:total]
        mel = self.features(padded, padding=0)
        frames = min(mel.shape[-1] - mel.shape[-1] % 2, MAX_FRAMES)  # the encoder halves it
        return np.ascontiguousarray(mel[:, :frames], dtype=np.float32)

    def transcribe(self, audio: np.ndarray, expect: Expect,
                   options: DecodeOptions | None = None) -> Transcript:
        started = time.perf_counter()
        audio = as_engine_audio(audio)
        options = options or for_expect(expect)
        audio_ms = round(audio.size * 1000 / SAMPLE_RATE)
        if audio.size == 0:
            return Transcript((), self.name, 0, (time.perf_counter() - started) * 1000)
        mel = self.mel(audio, options)
        features = self._ct2.StorageView.from_array(mel[None])
        prompt = self.prompt(options.initial_prompt)
        beam = max(1, options.beam_size)
        encoded = self.model.encode(features, to_cpu=True)
        result = self.model.generate(
            encoded, [prompt],
            beam_size=beam,
            num_hypotheses=max(1, min(options.num_hypotheses, beam)),
            return_scores=True,
            max_length=min(MAX_TOKENS, len(prompt) + options.max_length),
            suppress_tokens=list(options.suppress_tokens),
            suppress_blank=True,
        )[0]
        hypotheses: dict[str, Hypothesis] = {}
        for ids, score in zip(result.sequences_ids, result.scores):
            text = self.tokenizer.decode(ids).strip()
            if not text or text in hypotheses:
                continue
            hypotheses[text] = Hypothesis(text, float(np.exp(min(0.0, score))))
        ranked = tuple(sorted(hypotheses.values(), key=lambda h: -h.confidence))
        scorer = self._scorer(np.array(encoded), mel.shape[-1], prompt)
        return Transcript(ranked, self.name, audio_ms, (time.perf_counter() - started) * 1000,
                          scorer=scorer)

    def _scorer(self, encoded: np.ndarray, frames: int,
                prompt: list[int]) -> Callable[[Sequence[str]], list[float]]:
        """log P(text | this utterance) for any texts: a closure over the encoder output
        (~0.7 MB for 7 s; freed with the transcript that holds it)."""

        memo: dict[str, float] = {}  # a text asked again (a second understanding) is free

        def score(texts: Sequence[str]) -> list[float]:
            todo = list(dict.fromkeys(t for t in texts if t not in memo))
            memo.update(zip(todo, self.score(encoded, frames, prompt, todo)))
            return [memo[t] for t in texts]

        return score

    def score(self, encoded: np.ndarray, frames: int, prompt: list[int],
              texts: Sequence[str], *, eot: bool = True) -> list[float]:
        """Forced decoding: the sum of the token log-probabilities of each text (written as
        the decoder writes it, e.g. " 12,345"), end of text included, in one batch.

        The texts are decoder prefixes; CTranslate2 returns the vocabulary's logits at every
        step, forced ones included. The end-of-text token makes a text that stops early pay
        for it ("1." for "7701"). (`Whisper.align` cannot: its probabilities exclude
        end-of-text.) The same model, so the same thread safety as `transcribe`."""
        if not texts:
            return []
        tokens = [self.tokenizer.encode(t) for t in texts]
        n = len(tokens)
        batch = self._ct2.StorageView.from_array(
            np.ascontiguousarray(np.repeat(encoded, n, axis=0)))
        longest = max(len(t) for t in tokens)
        results = self.model.generate(
            # CTranslate2 counts the forced prefix against max_length more than once: this
            # leaves room for every forced step and the end (checked below)
            batch, [prompt + t for t in tokens], beam_size=1,
            max_length=min(MAX_TOKENS, len(prompt) + 2 * (longest + 2)),
            return_logits_vocab=True, suppress_tokens=[], suppress_blank=False,
        )
        out = []
        eot_id = self.tokenizer.eot
        for toks, result in zip(tokens, results):
            steps = result.logits[0]
            want = toks + ([eot_id] if eot else [])
            total = 0.0
            for k, tok in enumerate(want):
                if k >= len(steps):  # no step for a forced token: max_length too short
                    raise RuntimeError(f"forced decoding returned {len(steps)} steps for "
                                       f"{len(want)} tokens")
                logits = np.asarray(steps[k], dtype=np.float32).reshape(-1)
                top = float(logits.max())
                total += float(logits[tok]) - top - float(np.log(np.exp(logits - top).sum()))
            out.append(total)
        return out
