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


# Tuned on the test set's dev split (whisper-base, festival speech through G.711; understanding
# weighs the N-best with the previous reading). Readings exact, with / without the previous
# reading: no prompt 44 % / 30 %; a digits prompt ("12345. 00123.") 43 % / 28 %; number-word
# prompts 52-58 % / 34-38 % (Whisper then writes words, which keep the caller's grouping, and
# loops less); the prompt below, with the parser's later fixes, 70 % / 52 % (the same parser
# with no prompt: 44 % / 30 %). Zone words ("день, ночь") in the prompt made Whisper write them
# for "девять" and "ноль". Beam 10 / ten hypotheses rather than 5: the right reading among the
# top five candidates 53 % vs 48 %. Account digits: 46 % → 54 % with their prompt; intents
# 85 % → 89 % with theirs; yes/no 95 % either way. On silence, noise or hum the prompts are not
# echoed (checked: short non-number texts at confidence < 0.3).
READING_PROMPT = (
    "Показания: пятьдесят восемь тысяч двести четырнадцать; сто двадцать три сорок пять; "
    "ноль ноль шестьсот тридцать один; один два три."
)
NUMBER_PROMPT = "сорок семь двадцать один, ноль ноль три пять, девятьсот два шестьсот семьдесят три."
INTENT_PROMPT = (
    "Хочу передать показания. Соедините с оператором. Нет света. Сколько я должен? "
    "Перезвоните мне. Какой тариф? Как оплатить? Когда вы работаете?"
)
_TABLE: dict[Expect, DecodeOptions] = {
    Expect.READING: DecodeOptions(beam_size=10, num_hypotheses=10, max_length=40,
                                  initial_prompt=READING_PROMPT),
    Expect.NUMBER: DecodeOptions(beam_size=10, num_hypotheses=10, max_length=40,
                                 initial_prompt=NUMBER_PROMPT),
    Expect.YESNO: DecodeOptions(beam_size=3, num_hypotheses=3, max_length=12),
    Expect.INTENT: DecodeOptions(beam_size=3, num_hypotheses=3, max_length=64,
                                 initial_prompt=INTENT_PROMPT),
}


def for_expect(expect: Expect) -> DecodeOptions:
    return _TABLE[Expect(expect)]
