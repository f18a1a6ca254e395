"""What every speech engine gives, and what the rest of the project may rely on.

An engine turns one utterance (mono float32 at 16 kHz, already cut by the endpointer) into
ranked hypotheses. It understands nothing: turning words into a reading, a yes or an intent
is `speech.understanding`, which weighs several hypotheses and what is known of the account.

Engines are blocking and CPU-bound; the live path runs them in worker threads
(`speech.pool`), one engine instance per worker, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

SAMPLE_RATE = 16000  # what every engine is fed; telephone audio (8 kHz) is resampled up


class Expect(StrEnum):
    """What the caller is expected to say: it selects the grammar / decoding bias."""

    READING = "reading"  # a meter reading: a number, digits, zones ("день ... ночь ...")
    NUMBER = "number"  # an account number or its last digits: digits, kept as a string
    YESNO = "yesno"  # a confirmation: да / нет / верно / неверно
    INTENT = "intent"  # free speech: what the caller needs (speech.intents)


INTENTS = ("readings", "balance", "outage", "callback", "operator", "tariffs", "payment", "hours")


class EngineUnavailable(RuntimeError):
    """The engine or its model is missing: the message says what to install, and how."""


@dataclass(frozen=True)
class Hypothesis:
    text: str
    # the engine's confidence in this text, 0..1 (Whisper: exp of the mean token log-prob;
    # Vosk: the mean word confidence). Comparable within one transcript, roughly across.
    confidence: float


@dataclass(frozen=True)
class Transcript:
    hypotheses: tuple[Hypothesis, ...]  # best first; may be empty (nothing recognised)
    engine: str
    audio_ms: int  # length of the utterance
    decode_ms: float  # time the engine took
    # The log-probability the engine gives each text for this utterance (forced decoding), or
    # None when it cannot (Vosk). `speech.rescoring` uses it to weigh candidate readings the
    # hypotheses only hint at. Blocking, CPU-bound: call it on the worker thread.
    scorer: Callable[[Sequence[str]], list[float]] | None = field(
        default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        return self.hypotheses[0].text if self.hypotheses else ""


class Engine(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, expect: Expect) -> Transcript:
        """Recognise one utterance (float32 mono, SAMPLE_RATE). Blocking; one call at a time
        per instance."""
        ...  # noqa: E704


def as_engine_audio(audio: np.ndarray | Sequence[float]) -> np.ndarray:
    """Contiguous float32 mono, as engines take it."""
    return np.ascontiguousarray(np.asarray(audio, dtype=np.float32).reshape(-1))
