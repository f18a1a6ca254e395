"""Candidate readings scored by the recognition model itself (forced decoding).

The N-best texts of a beam search often hold the right reading only in a form the parser ranks
low, or not at all ("двенадцать тысяч триста сорок пять" heard as " 12,345" in one hypothesis
and "двенадцать тысяч три сто" in another). Here the candidates `speech.understanding` ranked
are widened with a few readings the same audio may support (a leading zero dropped or added,
a "тысяч" lost, the previous reading's leading digits before a short heard tail), each
candidate is written in the surface forms Whisper writes (" 12,345.", " 12345.", words as a
whole number, digit by digit or in groups), all forms are scored in one batch by
`Transcript.scorer` (log P(text | audio)), each candidate keeps its best form, and the
result is combined with the parser's share and the context's plausibility into a posterior.

Pure apart from the scorer: the engine's forced decoding is passed in by the transcript.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from speech import number_words as nw
from speech import numbers
from speech.engine import Transcript

# --- numbers as Whisper writes them -------------------------------------------------------------

def number_words(n: int) -> str:
    """0..999 999 in Russian words: 21345 → 'двадцать одна тысяча триста сорок пять'."""
    return " ".join(nw.number_words(n))


def group_words(group: str) -> str:
    """A dictated group: leading zeros one by one, then the number ('045' → 'ноль сорок пять')."""
    return " ".join(nw.group_words(group))


def digit_words(digits: str) -> str:
    return " ".join(nw.digit_words(digits))


_SPLITS = {4: (2, 2), 5: (2, 3), 6: (3, 3)}


def default_groups(digits: str) -> tuple[str, ...]:
    sizes = _SPLITS.get(len(digits))
    if not sizes:
        return (digits,)
    out, i = [], 0
    for s in sizes:
        out.append(digits[i:i + s])
        i += s
    return tuple(out)


def digit_forms(digits: str) -> list[str]:
    """How Whisper writes the reading in digits: ' 12,345', ' 12345'; zeros ' 0 0 1 2 3'."""
    if digits.startswith("0"):
        return [" " + " ".join(digits), " " + digits]
    if len(digits) >= 4:
        return [f" {int(digits):,}", " " + digits]
    return [" " + digits]


def word_forms(digits: str, groups: Sequence[str] = ()) -> list[str]:
    """How Whisper writes the reading in words: whole, in the groups heard, digit by digit."""
    out: list[str] = []
    stripped = digits.lstrip("0")
    zeros = len(digits) - len(stripped)
    if stripped and int(stripped) < 1_000_000:
        out.append(" " + " ".join(["ноль"] * zeros + [number_words(int(stripped))]))
    gs = tuple(groups) if groups and "".join(groups) == digits else default_groups(digits)
    if len(gs) > 1:
        out.append(" " + " ".join(group_words(g) for g in gs))
    if len(digits) > 1:
        out.append(" " + digit_words(digits))
    return list(dict.fromkeys(out))


# --- widening the candidate set ----------------------------------------------------------------


def widen(values: Sequence[str], *, previous: int | None = None, digits: int = 6,
          thousands_said: bool = False) -> list[str]:
    """A few readings the audio may support that the parser did not rank, for these values:
    a leading zero dropped or added, a number heard without its "тысяч" (×1000) when the
    texts say "тысяч", a teen heard as a unit or back (35101 / 35111), and the previous
    reading's leading digits before a tail heard alone.
    Every one keeps the digits heard; the model's own score decides."""
    out: list[str] = []
    seen = set(values)

    def add(v: str) -> None:
        if v and v not in seen and len(v) <= digits:
            seen.add(v)
            out.append(v)

    for v in values:
        if v.startswith("0") and v.lstrip("0"):
            add(v.lstrip("0"))
        elif len(v) < digits:
            add("0" + v)
        if thousands_said and len(v) <= 3 and v.lstrip("0"):
            add(str(int(v) * 1000))
        if len(v) >= 3 and v[-2] in "01":  # "сто один" / "сто одиннадцать": 101 vs 111
            add(v[:-2] + ("1" if v[-2] == "0" else "0") + v[-1])
        if previous is not None and len(v) < len(str(previous)):
            prev = str(previous)
            add(prev[: len(prev) - len(v)] + v)
    return out


# --- scoring -----------------------------------------------------------------------------------


# Tuned on the test set's dev split (123 readings and account numbers; whisper-base, beam 10
# with speech.decoding's prompts; festival and the sound pack through G.711). Scored with the
# plain start [sot, ru, transcribe, no timestamps] (the reading prompt as previous text scored
# no better and costs ~30 % more), forms after the top hypothesis's lead-in words (without
# them the model explained "Последние цифры" with the number: 47 % / 60 % exact), end of text
# included. Exact, without / with the previous reading: the parser alone 60.2 % / 69.9 %;
# rescoring every utterance (T=4, prior 1, +3 per digit) 62.6 % / 69.9 % at 160-470 ms more
# per utterance; without the per-digit bonus 56 % / 68 % (the model lets readings stop early:
# " один восемь два." outscores the six digits said); only where the parser's best share is
# below 0.4, 61.8 % / 70.7 %, ~6 % / ~2 % of utterances rescored. Small, within noise (one
# utterance in 123): the right value is among the candidates for only 74 % / 76 %, and where it
# is, whisper-base's own score is a weak judge. End to end on dev (fresh transcription, busy
# shared machine): readings 55.7 → 56.6 % / 69.8 → 70.8 %, but the p95 from end of speech to
# result 421 → 717 ms and the bench's reading p95 (two understandings) 425 → 832 ms: the
# utterances rescored are the slow tail (16 forms ≈ 150-450 ms). Fewer forms (8, 12) lost the
# gain. So the live path does not rescore (GATE 0: `refine` returns the parser's ranking);
# set GATE to 0.4 to rescore unsure parses where a better model or faster CPU makes it pay.
GATE = 0.0


@dataclass(frozen=True)
class Params:
    top: int = 4  # the parser's best values scored
    widened: int = 3  # widened values scored at most
    max_forms: int = 16  # texts per batch (latency: ~20 ms per text on one busy core)
    temperature: float = 4.0  # log-prob scale before the softmax over candidates
    prior_weight: float = 1.0  # the parser's share as a log prior (0: the model alone)
    period: bool = True  # end every form with "." as Whisper ends a sentence
    widened_prior: float = 0.02  # the parser's share stands for a widened value
    lead: bool = True  # score the forms after the top hypothesis's words before the number
    digit_bonus: float = 3.0  # log-score per digit: the model lets a reading stop early


DEFAULT = Params()


@dataclass(frozen=True)
class Rescored:
    ranked: list[tuple[str, float]]  # values with their posterior, best first
    logprob: dict[str, float]  # each value's best form's log-probability
    form: dict[str, str]  # which form it was


def _style(transcript: Transcript) -> tuple[bool, bool, bool]:
    """(words written, digits written, capitalised) over the N-best."""
    texts = [h.text for h in transcript.hypotheses]
    words = any(re.search(r"[а-яё]{3,}", t.lower()) for t in texts)
    digits = any(re.search(r"\d", t) for t in texts)
    cap = bool(texts) and texts[0][:1].isupper()
    return words, digits, cap


def lead_in(text: str) -> str:
    """The words before the first number word or digit ("Последние цифры", "Значит,"): every
    form is scored after them, so the model need not explain them with the number."""
    out: list[str] = []
    for raw in text.split():
        word = numbers.normalize(raw)
        if not word or re.search(r"\d", word) or any(
                numbers.number_word(w) is not None for w in word.split()):
            break
        out.append(raw)
    return " ".join(out)


def forms_for(value: str, groups: Sequence[str], words: bool, digits: bool, cap: bool,
              period: bool) -> list[str]:
    out: list[str] = []
    if digits or not words:
        out += digit_forms(value)
    if words:
        wf = word_forms(value, groups)
        if cap:
            wf = [" " + f[1:2].upper() + f[2:] for f in wf]
        out += wf
    if period:
        out = [f + "." for f in out]
    return out


def rescore(
    transcript: Transcript,
    ranked: Sequence[tuple[str, float]],
    plausibility: Callable[[str], float],
    *,
    groups: dict[str, tuple[str, ...]] | None = None,
    previous: int | None = None,
    digits: int = 6,
    params: Params = DEFAULT,
) -> Rescored | None:
    """Rank `ranked` (the parser's values and shares) again with the model's own scores.

    None when the transcript has no scorer (Vosk) or there is nothing to score."""
    scorer = transcript.scorer
    if scorer is None or not ranked:
        return None
    if groups is None:
        groups = {}
        for h in transcript.hypotheses:
            for c in numbers.readings(h.text):
                groups.setdefault(c.digits, c.groups)
    share = dict(ranked)
    values = [v for v, _ in ranked[: params.top]]
    said = " ".join(h.text.lower() for h in transcript.hypotheses)
    extra = widen(values, previous=previous, digits=max(digits, max(map(len, values))),
                  thousands_said="тыс" in said or "thousand" in said)
    extra = [v for v in extra if plausibility(v) > 0.05][: params.widened]
    values += extra
    words, written_digits, cap = _style(transcript)
    lead = lead_in(transcript.text) if params.lead else ""
    if lead:
        cap = False
    texts: list[str] = []
    owner: list[str] = []
    per_value = max(1, params.max_forms // max(1, len(values)))
    for v in values:
        for f in forms_for(v, groups.get(v, ()), words, written_digits, cap,
                           params.period)[:per_value]:
            texts.append(" " + lead + f if lead else f)
            owner.append(v)
    scores = scorer(texts)
    best: dict[str, float] = {}
    form: dict[str, str] = {}
    for v, t, s in zip(owner, texts, scores):
        if v not in best or s > best[v]:
            best[v], form[v] = s, t
    logits = {}
    for v, lp in best.items():
        prior = share.get(v, params.widened_prior)
        logits[v] = ((lp + params.digit_bonus * len(v)) / params.temperature + params.prior_weight * math.log(max(prior, 1e-6))
                     + math.log(max(plausibility(v), 1e-9)))
    top = max(logits.values())
    z = sum(math.exp(x - top) for x in logits.values())
    post = sorted(((v, math.exp(x - top) / z) for v, x in logits.items()), key=lambda kv: -kv[1])
    return Rescored(post, best, form)


def refine(
    transcript: Transcript,
    ranked: list[tuple[str, float]],
    plausibility: Callable[[str], float],
    *,
    previous: int | None = None,
    digits: int = 6,
    gate: float = GATE,
) -> list[tuple[str, float]]:
    """`ranked` (the parser's values and shares, best first) rescored by the model when the
    parser is unsure (best share below `gate`) and the engine can score; else unchanged."""
    if not ranked or ranked[0][1] >= gate or transcript.scorer is None:
        return ranked
    result = rescore(transcript, ranked, plausibility, previous=previous, digits=digits)
    return result.ranked if result else ranked
