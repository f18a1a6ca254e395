"""speech.rescoring: candidate readings widened, written as Whisper writes them, and scored by
the model itself (pure parts with a fake scorer; one real Whisper case from the dev split)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from speech import numbers, testset
from speech.engine import Expect, Hypothesis, Transcript
from speech.rescoring import (
    Params,
    digit_forms,
    group_words,
    lead_in,
    number_words,
    refine,
    rescore,
    widen,
    word_forms,
)


def transcript(*texts: str, scorer=None) -> Transcript:
    return Transcript(tuple(Hypothesis(t, 0.5) for t in texts), "fake", 2000, 10.0,
                      scorer=scorer)


def test_number_words() -> None:
    assert number_words(21345) == "двадцать одна тысяча триста сорок пять"
    assert number_words(1000) == "тысяча"
    assert number_words(2002) == "две тысячи два"
    assert number_words(12000) == "двенадцать тысяч"
    assert number_words(809000) == "восемьсот девять тысяч"
    assert number_words(0) == "ноль"
    assert group_words("045") == "ноль сорок пять"
    assert group_words("007") == "ноль ноль семь"
    with pytest.raises(ValueError):
        number_words(1_000_000)


def test_forms_as_whisper_writes_them() -> None:
    assert digit_forms("12345") == [" 12,345", " 12345"]
    assert digit_forms("00123") == [" 0 0 1 2 3", " 00123"]
    assert digit_forms("110") == [" 110"]
    forms = word_forms("12345", ("12", "345"))
    assert forms == [" двенадцать тысяч триста сорок пять", " двенадцать триста сорок пять",
                     " один два три четыре пять"]
    assert word_forms("0012")[0] == " ноль ноль двенадцать"
    # groups that do not spell the value are not trusted: the default split is used
    assert " сто двадцать три сорок пять" not in word_forms("12345", ("123", "4"))


def test_widen_keeps_the_digits_heard() -> None:
    assert widen(["0505"])[0] == "505"
    assert "0505" in widen(["505"], digits=4)
    assert "35111" in widen(["35101"]) and "35101" in widen(["35111"])
    assert "19000" in widen(["19"], thousands_said=True)
    assert "19000" not in widen(["19"], thousands_said=False)
    assert "12345" in widen(["345"], previous=12100)
    assert all(len(v) <= 6 for v in widen(["123456", "99999"], previous=123000))
    wide = widen(["12", "012", "0012"])
    assert len(wide) == len(set(wide)) and not set(wide) & {"12", "012", "0012"}


def test_lead_in() -> None:
    assert lead_in("Последние цифры семь, семь, ноль один.") == "Последние цифры"
    assert lead_in("Значит, 74258.") == "Значит,"
    assert lead_in(" 12,345") == ""
    assert lead_in("двенадцать тысяч") == ""


def test_the_model_score_decides_between_candidates() -> None:
    seen: list[list[str]] = []

    def scorer(texts):
        seen.append(list(texts))
        return [-2.0 if "7276" in t or "семь два семь шесть" in t else -12.0 for t in texts]

    t = transcript("семь двадцать шесть", "семь два семь шесть", scorer=scorer)
    result = rescore(t, [("726", 0.7), ("7276", 0.3)], lambda v: 1.0)
    assert result is not None
    assert result.ranked[0][0] == "7276"
    assert abs(sum(p for _, p in result.ranked) - 1.0) < 1e-9
    assert len(seen) == 1 and len(seen[0]) <= Params().max_forms  # one bounded batch
    assert all(f.endswith(".") for f in seen[0])


def test_plausibility_and_prior_weigh_in() -> None:
    def flat(texts):
        return [-5.0] * len(texts)

    t = transcript("12345", scorer=flat)
    # equal model scores: the context decides (a value below the previous reading loses)
    result = rescore(t, [("12345", 0.5), ("12845", 0.5)],
                     lambda v: 0.03 if v == "12345" else 1.0)
    assert result is not None and result.ranked[0][0] == "12845"


def test_refine_only_when_unsure_and_only_with_a_scorer() -> None:
    calls = []

    def scorer(texts):
        calls.append(texts)
        return [0.0] * len(texts)

    ranked = [("12345", 0.9), ("1234", 0.1)]
    assert refine(transcript("12345", scorer=scorer), ranked, lambda v: 1.0, gate=0.4) == ranked
    assert not calls
    unsure = [("12", 0.3), ("12345", 0.25), ("345", 0.2)]
    assert refine(transcript("12 345"), unsure, lambda v: 1.0, gate=0.4) == unsure  # Vosk
    assert rescore(transcript("12 345"), unsure, lambda v: 1.0) is None
    # the live default (measured: no gain worth its latency) leaves the parser's ranking
    assert refine(transcript("12 345", scorer=scorer), unsure, lambda v: 1.0) == unsure
    assert not calls
    refine(transcript("12 345", scorer=scorer), unsure, lambda v: 1.0, gate=0.4)
    assert calls


# --- the real model -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine():
    from base.settings import Settings
    from speech import model_store
    from speech.engines.whisper import WhisperEngine

    return WhisperEngine(model_store.whisper_model_dir(Settings()), workers=1)


def dev_item_audio(folder: Path, item_id: str, text: str, variation: testset.Variation):
    """A dev item of the test set rebuilt exactly as `speech.testset.build` makes it."""
    from speech.audio import load_for_engine, load_wav

    rendered = testset.festival_batch([text], folder / "festival", workers=1)[text]
    x, rate = load_wav(rendered)
    x = testset._sox_float(x, rate, []) if rate != testset.WORK_RATE else x
    seed = int(hashlib.sha256(f"{testset.SEED}:{item_id}:{text}".encode()).hexdigest()[:8], 16)
    path = folder / f"{item_id}.wav"
    testset.telephone(testset.vary(x, variation, seed), path)
    return load_for_engine(path)


def test_a_reading_the_parser_ranked_low_wins_after_rescoring(engine, tmp_path) -> None:
    """Dev item re0063, Festival saying "ноль пять ноль пять ноль пять" (clean, 8 kHz µ-law):
    Whisper's first hypothesis parses as "05" (the block said three times reads as a loop);
    the model's own score for the six digits, end of text included, puts 050505 first."""
    from speech.understanding import ReadingContext, _hyp_weights, _rank_numbers, plausibility

    audio = dev_item_audio(tmp_path, "re0063", "ноль пять ноль пять ноль пять",
                           testset.Variation(level_db=-16.0))
    t = engine.transcribe(audio, Expect.READING)
    first = numbers.readings(t.text)
    assert not first or first[0].digits != "050505"
    ctx = ReadingContext()
    ranked, _ = _rank_numbers([h.text for h in t.hypotheses], _hyp_weights(t), ctx, True)
    assert ranked[0][0] != "050505"
    result = rescore(t, ranked, lambda v: plausibility(v, ctx, True), digits=ctx.digits)
    assert result is not None
    assert result.ranked[0][0] == "050505", result.ranked[:3]
    # the scorer itself: one batch, order kept, the said digits above the cut reading
    said, cut = " ноль пять ноль пять ноль пять.", " ноль пять."
    a, b = t.scorer([said, cut])
    assert t.scorer([cut, said]) == pytest.approx([b, a], abs=1e-3)
    assert a > b
