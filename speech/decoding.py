"""Whisper decoding options per `Expect`: what the engine is asked to do for each question.

`speech.engines.whisper` applies these; `speech.understanding` tunes them. A short answer
("да") needs few tokens and few hypotheses; a reading needs N-best so that understanding can
weigh alternatives against the previous reading; free speech needs a longer limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from speech.engine import Expect


@dataclass(frozen=True)
class DecodeOptions:
    beam_size: int = 5
    num_hypotheses: int = 5  # N-best returned (<= beam_size)
    initial_prompt: str | None = None  # previous-text prompt biasing the decoder
    suppress_tokens: tuple[int, ...] = (-1,)  # -1: Whisper's default set of suppressed tokens
    max_length: int = 48  # generated tokens at most: no utterance loops to the window's end
    min_window_s: float = 1.0  # the encoder sees at least this much audio (silence padded)
    # silence added after the utterance before encoding: with less than ~2 s, Whisper tends to
    # repeat the utterance to fill the window ("0,1,2,3,4,5. 0,1,2,3,4," on 2.5 s of digits)
    pad_s: float = 2.0


# Measured on the test set's dev split (understanding.py weighs the N-best): beam 10 with 10
# hypotheses puts the right reading among the candidates more often than beam 5 (53 % vs 48 %
# of dev readings in the top five, 44 % vs 43 % exact with the previous reading). An initial
# prompt of digits ("12345. 00123.") gained 2 points on readings but lost every zone reading
# ("день ... ночь ..." came back as digits only); none is set. Padding: see pad_s.
_TABLE: dict[Expect, DecodeOptions] = {
    Expect.READING: DecodeOptions(beam_size=10, num_hypotheses=10, max_length=40),
    Expect.NUMBER: DecodeOptions(beam_size=10, num_hypotheses=10, max_length=40),
    Expect.YESNO: DecodeOptions(beam_size=3, num_hypotheses=3, max_length=12),
    Expect.INTENT: DecodeOptions(beam_size=3, num_hypotheses=3, max_length=64),
}


def for_expect(expect: Expect) -> DecodeOptions:
    return _TABLE[Expect(expect)]
