"""Free Russian speech → what the caller needs (one of `speech.engine.INTENTS`), and yes/no.

Pure and fast (about 1 ms a text once the index is built, ~50 ms). Three kinds of
evidence, added per intent:

- word stems with weights, matched forgivingly (a letter or two off, or the same under a coarse
  phonetic `key`: а/о, е/и, voicing), with cheap negation ("не надо оператора");
- similarity to example requests (`speech/intents_ru.toml` plus a staff file named by
  HOTLINE_INTENTS_FILE): character 3–4-gram TF-IDF cosine over phonetic keys, the mean of the
  two best examples per intent; a `none` table (greetings, refusals without a wish) competes;
- a few strong patterns for the borderlines ("как/где оплатить" payment, "сколько платить"
  balance, "не хочу с роботом" operator, "свяжите меня с" operator vs "свяжитесь со мной").

`decide` turns the scores into the winner and a calibrated confidence (softmax share against
the others and `none`, damped when the evidence is thin); None below MIN_CONFIDENCE, since a
wrong intent costs the caller more than one clarifying question.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from speech.engine import INTENTS

# stem → weight; a stem matches a word that starts with it (after ё → е)
_STEMS: dict[str, dict[str, float]] = {
    "readings": {
        "показан": 3.0, "показа": 2.0, "счетчик": 2.0, "передат": 1.5, "передач": 1.5,
        "сообщ": 1.0, "снят": 1.0, "цифр": 1.0, "сдат": 1.0, "внест": 1.0, "подат": 1.0,
        "расход": 1.0, "показател": 2.5, "данные": 0.7, "передам": 1.5,
    },
    "balance": {
        "баланс": 3.0, "задолжен": 3.0, "долг": 3.0, "должен": 3.0, "должн": 2.5,
        "остат": 2.0, "сальдо": 3.0, "переплат": 2.5, "начислен": 2.0, "сколько": 0.7,
        "лицев": 1.0, "счет": 0.5, "состояни": 2.0, "сумм": 1.0, "числится": 1.5,
    },
    "outage": {
        "свет": 3.0, "отключ": 3.0, "электричеств": 0.5, "аварi": 2.0, "авари": 2.5,
        "пропал": 2.0, "нет": 0.5, "напряжен": 2.0, "темно": 2.0, "выключ": 2.0,
        "дадут": 2.0, "включат": 2.0, "подача": 1.0, "обесточ": 3.0, "погас": 2.5, "вырубил": 3.0, "вырубает": 2.5, "электроснабжен": 2.0,
    },
    "callback": {
        "перезвон": 3.5, "обратн": 2.5, "звонок": 1.0, "позвонит": 2.0, "набер": 1.5,
        "перезвать": 3.0, "callback": 3.0, "свяжит": 2.5, "связат": 1.5,
    },
    "operator": {
        "оператор": 3.5, "человек": 2.5, "специалист": 2.5, "сотрудник": 2.5,
        "менеджер": 2.5, "консультант": 2.5, "соедин": 2.0, "пиратор": 2.5, "живой": 2.0, "живым": 2.0,
        "поговор": 1.5, "переключ": 1.5, "позов": 1.5, "девушк": 1.5,
    },
    "tariffs": {
        "тариф": 3.5, "стоимост": 2.0, "стоит": 1.5, "цена": 2.5, "цену": 2.5, "цены": 2.5,
        "киловат": 2.5, "расценк": 3.0, "почем": 2.5, "дорог": 1.0, "ставк": 1.5,
        "двухзон": 2.0, "подорож": 2.5, "повышен": 1.0, "однозон": 2.0, "многозон": 2.0,
    },
    "payment": {
        "оплат": 3.5, "оплач": 3.5, "платеж": 3.0, "заплат": 3.0, "плат": 1.5,
        "квитанц": 2.0, "карт": 1.0, "реквизит": 2.5, "банк": 1.0, "сбербанк": 1.5,
        "терминал": 1.5, "внести": 0.5, "госуслуг": 2.0, "онлайн": 1.0, "комисси": 1.5,
    },
    "hours": {
        "работает": 1.5, "работаете": 2.0, "работы": 1.0, "график": 2.5, "часы": 2.0,
        "режим": 2.0, "выходн": 1.5, "открыт": 1.5, "закрыва": 1.5, "офис": 1.5,
        "скольки": 2.0, "расписан": 2.5, "приемн": 1.0, "время": 0.7, "когда": 0.4,
        "обед": 2.5, "открыва": 2.0, "перерыв": 2.0, "суббот": 1.0, "воскресен": 1.0,
    },
}
# phrases that settle the matter (normalised text contains them)
_PHRASES: dict[str, tuple[str, ...]] = {
    "outage": ("нет света", "нет электричества", "отключили свет", "пропал свет"),
    "hours": ("до скольки", "во сколько", "часы работы", "когда вы работаете"),
    "balance": ("сколько я должен", "сколько платить", "сколько должен", "сумму к оплате",
                "сумма к оплате", "узнать сумму"),
    "tariffs": ("сколько стоит", "стоит свет", "стоит электр"),
    "callback": ("обратный звонок", "позвоните мне", "мне позвонит", "сам позвонит"),
}
assert set(_STEMS) == set(INTENTS)
_NOT_OUTAGE = ("за свет", "стоит свет", "за электр", "стоимость электр")

_NEG = {"не", "нельзя", "ненадо"}
_FALSE_FRIENDS = ("почему",)  # starts like a stem ("почем": tariffs) but means nothing here
_NEGATABLE = {"operator", "callback"}  # "я не должна" still asks about the balance
_NEG_SKIP = {"надо", "нужно", "хочу", "нужен", "нужна", "буду", "могу", "стоит", "с", "со"}

YES_WORDS = {
    "да": 3.0, "верно": 3.0, "правильно": 3.0, "точно": 2.0, "ага": 2.5, "угу": 2.0,
    "конечно": 2.5, "подтверждаю": 3.0, "согласен": 2.5, "согласна": 2.5, "так": 1.0,
    "именно": 2.0, "даа": 3.0, "все": 0.5, "хорошо": 1.5, "ладно": 1.0, "yes": 2.0,
    "окей": 1.5, "ок": 1.5, "подтвердить": 2.5, "правильный": 2.0, "сохранить": 1.5,
    "сохраните": 1.5, "вернo": 3.0, "дя": 1.5, "та": 0.7,
}
NO_WORDS = {
    "нет": 3.0, "неверно": 3.5, "неправильно": 3.5, "ошибка": 2.5, "ошиблись": 2.5,
    "неточно": 2.5, "отмена": 2.0, "отменить": 2.0, "заново": 2.0, "снова": 1.5,
    "ещераз": 2.0, "нее": 3.0, "не": 1.5, "неа": 3.0, "no": 2.0, "нету": 2.0, "иначе": 1.0,
    "неправильный": 3.0, "другое": 1.0, "другие": 1.0, "неправда": 3.0, "нэт": 2.5,
    "нееет": 3.0, "ниет": 2.0, "отнюдь": 2.0,
}
_UNSURE = {"знаю", "понял", "поняла", "понимаю", "слышу", "слышно", "расслышал", "расслышала",
           "уверен", "уверена", "помню"}
_NO_PHRASES = ("не так", "не то", "не верно", "не правильно", "не да", "ещё раз", "еще раз",
               "не совсем", "да нет")  # "да нет" is a colloquial no
_YES_PHRASES = ("все так", "все верно", "все правильно", "да да", "так точно", "так и есть")


def normalize(text: str) -> list[str]:
    t = text.lower().replace("ё", "е")
    return [w for w in re.split(r"[^a-zа-я0-9]+", t) if w]


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@lru_cache(maxsize=8192)
def _stem_match(word: str, stem: str) -> float:
    """1 for a word starting with the stem, less for a near miss (ASR spelling), else 0."""
    if word.startswith(stem):
        return 1.0
    kw, ks = key(word), key(stem)
    if kw.startswith(ks) and len(ks) >= 3:  # "покозания", "щётчик": spelt as heard
        return 0.85
    if len(ks) >= 5 and len(kw) >= len(ks) - 1:
        d = _lev(kw[: len(ks)], ks)
        if d <= (1 if len(ks) < 8 else 2):
            return 0.7
    return 0.0


_KEY_MAP = str.maketrans({"о": "а", "я": "а", "е": "и", "э": "и", "ы": "и", "ю": "у",
                          "з": "с", "д": "т", "б": "п", "г": "к", "в": "ф", "ж": "ш",
                          "щ": "ш", "ч": "ш", "ь": None, "ъ": None, "й": "и"})


@lru_cache(maxsize=8192)
def key(word: str) -> str:
    """A coarse phonetic key of a (normalised) word: unstressed vowels merged (а/о, е/и),
    voiced and voiceless consonants merged, soft signs dropped, doubled letters collapsed —
    what Whisper's spelling of telephone Russian varies in."""
    k = word.translate(_KEY_MAP)
    return re.sub(r"(.)\1+", r"\1", k)


def stem_scores(text: str) -> dict[str, float]:
    """Weighted word stems per intent, matched forgivingly, with negation."""
    words = normalize(text)
    joined = " ".join(words)
    scores = {k: 0.0 for k in INTENTS}
    for i, w in enumerate(words):
        if w.startswith(_FALSE_FRIENDS):
            continue
        negated = _negated(words, i)
        for name, stems in _STEMS.items():
            best = 0.0
            for stem, weight in stems.items():
                m = _stem_match(w, stem)
                if m:
                    best = max(best, m * weight)
            if best:  # "не надо оператора": negation flips only the wish for a person/call
                scores[name] += -best if negated and name in _NEGATABLE else best
    for name, phrases in _PHRASES.items():
        for p in phrases:
            if p in joined:
                scores[name] += 3.0
    if "нет" in words and scores["outage"] > 0.5:
        scores["outage"] += 1.0
    for p in _NOT_OUTAGE:  # "за свет", "стоит свет": light as a bill or a price, not a fault
        if p in joined:
            scores["outage"] -= 3.0
    return scores


def _negated(words: list[str], i: int) -> bool:
    j = i - 1
    while j >= 0 and words[j] in _NEG_SKIP and i - j <= 3:
        j -= 1
    return j >= 0 and words[j] in _NEG and i - j <= 3



# ---- exemplars: what callers say, as data (speech/intents_ru.toml + staff files) -------------

DEFAULT_EXEMPLARS = Path(__file__).with_name("intents_ru.toml")
EXTRA_ENV = "HOTLINE_INTENTS_FILE"  # one extra exemplar file (Settings.intents_file)


class ExemplarError(ValueError):
    """An exemplar file that cannot be used; the message names the file and the reason."""


NONE = "none"  # the exemplar table of things that ask for nothing ("не надо оператора", "алло")
LABELS = (*INTENTS, NONE)


def load_exemplars(*paths: Path | str) -> dict[str, list[str]]:
    """Examples per intent (and `none`) from the default file, then each of `paths` (added)."""
    out: dict[str, list[str]] = {k: [] for k in LABELS}
    for path in (DEFAULT_EXEMPLARS, *paths):
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise ExemplarError(f"{path}: cannot read the intent examples: {e}") from e
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ExemplarError(f"{path}: not valid TOML: {e}") from e
        for name, table in data.items():
            if name not in out:
                raise ExemplarError(f"{path}: unknown intent [{name}]; expected one of "
                                    f"{', '.join(LABELS)}")
            examples = table.get("examples") if isinstance(table, dict) else None
            if not isinstance(examples, list) or not all(isinstance(x, str) for x in examples):
                raise ExemplarError(f"{path}: [{name}] needs examples = [\"...\", ...] "
                                    "(a list of strings)")
            out[name].extend(x for x in examples if normalize(x))
    return out


def _grams(text: str) -> dict[str, float]:
    """Character 3- and 4-grams of the normalised text (spaces pad the words), sublinear tf."""
    s = " " + " ".join(key(w) for w in normalize(text)) + " "
    counts: dict[str, int] = {}
    for n in (3, 4):
        for i in range(len(s) - n + 1):
            g = s[i:i + n]
            if g.strip():
                counts[g] = counts.get(g, 0) + 1
    return {g: 1.0 + math.log(c) for g, c in counts.items()}


class ExemplarIndex:
    """TF-IDF over character n-grams of the exemplars; cosine similarity per intent."""

    def __init__(self, exemplars: dict[str, list[str]]) -> None:
        self.exemplars = {k: list(v) for k, v in exemplars.items()}
        self.labels: list[int] = []
        docs = []
        for k, name in enumerate(LABELS):
            for text in exemplars.get(name, ()):
                docs.append(_grams(text))
                self.labels.append(k)
        if not docs:
            raise ExemplarError("no intent examples at all")
        df: dict[str, int] = {}
        for d in docs:
            for g in d:
                df[g] = df.get(g, 0) + 1
        self.vocab = {g: i for i, g in enumerate(sorted(df))}
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in sorted(df)])
        m = np.zeros((n, len(self.vocab)), dtype=np.float32)
        for r, d in enumerate(docs):
            for g, tf in d.items():
                m[r, self.vocab[g]] = tf * self.idf[self.vocab[g]]
        m /= np.linalg.norm(m, axis=1, keepdims=True) + 1e-9
        self.matrix = np.asfortranarray(m)  # column gathers are the hot path
        self.spans: dict[str, tuple[int, int]] = {}  # rows of each label (added in order)
        for k, name in enumerate(LABELS):
            rows = [r for r, lab in enumerate(self.labels) if lab == k]
            if rows:
                self.spans[name] = (rows[0], rows[-1] + 1)

    def similarity(self, text: str) -> dict[str, float]:
        """Per intent (and `none`): the mean of its best `_TOP_K` exemplar cosines (0..1)."""
        cols, vals = [], []
        for g, tf in _grams(text).items():
            i = self.vocab.get(g)
            if i is not None:
                cols.append(i)
                vals.append(tf * self.idf[i])
        out = {k: 0.0 for k in LABELS}
        if not cols:
            return out
        q = np.array(vals, dtype=np.float32)
        sims = self.matrix[:, cols] @ (q / float(np.linalg.norm(q)))  # only the query's grams
        for name, (lo, hi) in self.spans.items():
            s = np.sort(sims[lo:hi])[-_TOP_K:]
            out[name] = float(s.mean())
        return out


_TOP_K = 2
_index: ExemplarIndex | None = None


def configure(*extra: Path | str) -> ExemplarIndex:
    """(Re)build the exemplar index from the default file plus `extra` files; returns it."""
    global _index
    _index = ExemplarIndex(load_exemplars(*extra))
    return _index


def index() -> ExemplarIndex:
    """The index, built once on first use (default file + $HOTLINE_INTENTS_FILE)."""
    if _index is None:
        extra = os.environ.get(EXTRA_ENV, "")
        return configure(*([extra] if extra else []))
    return _index


# ---- strong patterns: a few unambiguous constructions ---------------------------------------

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx)) for name, rx in (
        # "как / где / чем / куда ... оплатить", реквизиты: how to pay, not how much
        ("payment", r"\b(как|где|чем|куда|через)\b.{0,30}\b(о|за)?пла[тч]"),
        ("payment", r"\bреквизит"),
        # "сколько ... платить / должен / с меня / за свет": the amount due
        ("balance", r"\bск[оа]л?ь?к[оа]\b.{0,25}\b(плат|долж|задолж|с меня|начисл|за свет|за электр)"),
        ("balance", r"\bс меня\b.{0,20}\b(за свет|за электр)"),
        # a caller refusing the machine wants a person
        ("operator", r"\bне\b.{0,20}\b(робот|машин|автомат|автоответчик)"),
        # "свяжите меня с менеджером" connects; "свяжитесь со мной" calls back
        ("operator", r"\bсвяжите\s(меня\s|нас\s)?со?\s(?!мной|нами)"),
        ("callback", r"\bсвяж\w*\s(со\sмной|с\sнами)"),
        # "сумма к оплате", "сколько к оплате": the amount due
        ("balance", r"\bк\s?[оа]пла[тч]"),  # Whisper glues it: "коплате"
        # readings of a two-rate meter mention the rates
        ("readings", r"\bпо[кг][ао][зс]ан\w*\b.{0,40}\bтари|\bтари\w*\b.{0,30}\bпо[кг][ао][зс]ан"),
        ("outage", r"\bне\s(горит|горят|горет|гарит)\b"),
        ("outage", r"\b(нет|нету|без|пропал\w*|отключ\w*)\b.{0,6}\bсвет"),
        ("hours", r"\b(до|во|с)\s(скольки|скольк\w*|какого час\w*|котор\w* час\w*)\b"),
        ("callback", r"\b(пере)?звон\w*\b.{0,25}\b(мне|меня|на мой|номер)"),
        ("callback", r"\b(мне|меня)\b.{0,20}\b(пере|по)звон"),
        ("callback", r"\bнабер\w*\s(мне|меня)\b"),
    )
)


def _patterns(text: str) -> dict[str, float]:
    joined = " ".join(normalize(text))
    out = {k: 0.0 for k in INTENTS}
    for name, rx in _PATTERNS:
        if rx.search(joined):
            out[name] = 1.0
    return out


# ---- combining the evidence ------------------------------------------------------------------

W_STEMS = 1.0  # per unit of stem evidence (capped at STEM_CAP)
STEM_CAP = 6.0
W_EXEMPLAR = 12.0  # per unit of cosine
W_PATTERN = 2.5
TEMPERATURE = 1.0
MIN_EVIDENCE = 1.5  # below this combined score nothing points anywhere: None
MIN_CONFIDENCE = 0.3  # below this the intent is not given (the flow asks a question)


@dataclass(frozen=True)
class IntentScore:
    intent: str | None
    score: float  # calibrated confidence 0..1 (the winner's share, damped when evidence is thin)
    scores: dict[str, float]  # combined evidence per intent


def intent_scores(text: str) -> dict[str, float]:
    """Combined evidence per intent: stems (fuzzy), exemplar similarity, strong patterns; and
    under `none`, the similarity to requests for nothing (a competitor, never an answer)."""
    stems = stem_scores(text)
    sims = index().similarity(text)
    pats = _patterns(text)
    out = {k: W_STEMS * max(-STEM_CAP, min(STEM_CAP, stems[k])) + W_EXEMPLAR * sims[k]
           + W_PATTERN * pats[k] for k in INTENTS}
    out[NONE] = W_EXEMPLAR * sims[NONE]
    return out


def decide(scores: dict[str, float]) -> IntentScore:
    """The best intent and its calibrated confidence from combined scores (None when unsure):
    the winner's softmax share against the other intents and `none`, damped when the evidence
    is thin."""
    scores = dict(scores)
    nothing = scores.pop(NONE, 0.0)
    best = max(scores, key=lambda k: scores[k])
    top = scores[best]
    if top < MIN_EVIDENCE or nothing >= top:
        return IntentScore(None, 0.0, scores)
    z = [math.exp((v - top) / TEMPERATURE) for v in (*scores.values(), nothing)]
    share = 1.0 / sum(z)
    strength = min(1.0, top / (2 * MIN_EVIDENCE + 1.0))
    conf = round(share * strength, 3)
    if conf < MIN_CONFIDENCE:
        return IntentScore(None, conf, scores)
    return IntentScore(best, conf, scores)


def intent(text: str) -> IntentScore:
    return decide(intent_scores(text))


def intent_of_hypotheses(weighted: list[tuple[str, float]]) -> IntentScore:
    """Several recognition hypotheses with weights (summing to about 1) → one decision."""
    total = sum(w for _t, w in weighted) or 1.0
    agg = {k: 0.0 for k in LABELS}
    for text, w in weighted:
        for k, v in intent_scores(text).items():
            agg[k] += v * w / total
    return decide(agg)


def yes_no(text: str) -> tuple[str | None, float]:
    """('yes' | 'no' | None, score 0..1) for a confirmation."""
    words = normalize(text)
    joined = " ".join(words)
    yes = no = 0.0
    for i, w in enumerate(words):
        if w == "не" and i + 1 < len(words) and words[i + 1] in _UNSURE:
            continue  # "не знаю", "не расслышал": no answer yet, the flow asks again
        if w in NO_WORDS:
            no += NO_WORDS[w]
        elif w in YES_WORDS:
            if i > 0 and words[i - 1] == "не":  # "не верно", "не так"
                no += YES_WORDS[w] + 1.0
            else:
                yes += YES_WORDS[w]
        elif re.fullmatch(r"\w*верн[оа]", w) and not w.startswith("не"):  # "соверна": всё верно
            yes += 2.0
        else:
            for lex, bucket in ((NO_WORDS, "no"), (YES_WORDS, "yes")):
                for lw, wt in lex.items():
                    if len(lw) >= 6 and len(w) >= 5 and _lev(w, lw) <= 1:
                        if bucket == "no":
                            no += wt * 0.7
                        else:
                            yes += wt * 0.7
                        break
    for p in _NO_PHRASES:
        if p in joined:
            no += 2.0
    for p in _YES_PHRASES:
        if p in joined:
            yes += 2.0
    if yes == no:
        return None, 0.0
    label = "yes" if yes > no else "no"
    top, other = max(yes, no), min(yes, no)
    score = (top - other) / (top + other) * min(1.0, top / 2.5)
    return label, round(score, 3)
