"""Russian number words and Whisper-style digit text → candidate readings (pure).

A caller says a meter reading in many ways: as one number ("двенадцать тысяч триста сорок
пять"), digit by digit ("один два три четыре пять"), in groups ("двенадцать триста сорок
пять", "сто двадцать три сорок пять"), with leading zeros ("ноль ноль один два три"), with a
decimal part ("... запятая пять") and, on a two-zone meter, per zone ("день ... ночь ...").
Whisper writes numbers as digits with separators (" 12,345", "12.345", "12 345"). The words are
often ambiguous ("двадцать три" is 23, or 2 then 3 digits "203"), so `readings` returns every
reading the text supports, each with a prior, and leaves the choice to `speech.understanding`,
which also knows the previous reading. Nothing here invents a digit the text does not hold.

A reading is whole kWh: a decimal part is dropped and reported in `Candidate.fraction`, so the
flow can read back what is kept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

# --- the lexicon -------------------------------------------------------------------------------

_UNITS = {
    "ноль": 0, "нуль": 0, "один": 1, "одна": 1, "одно": 1, "одну": 1, "одной": 1, "одного": 1,
    "два": 2, "две": 2, "двух": 2, "три": 3, "трех": 3, "четыре": 4, "четырех": 4, "пять": 5,
    "пяти": 5, "шесть": 6, "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8,
    "девять": 9, "девяти": 9,
}
_TEENS = {
    "десять": 10, "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18,
    "девятнадцать": 19,
}
_TENS = {
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
}
_HUNDREDS = {
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500,
    "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
}
_THOUSAND = {"тысяча", "тысячи", "тысяч", "тысячу", "тысячей", "тыща", "тыщи", "тыщ"}
_HALF = {"полторы": 1500, "полтора": 1500}  # only before "тысячи": 1.5 thousand
_DECIMAL = {"запятая", "запятой", "точка"}
_AND = {"и"}
_FRACTION_TAIL = {"десятых", "десятая", "сотых", "сотая", "тысячных", "киловатт", "квт"}

# Whisper's misspellings (and festival-voice mishearings) that fuzzy matching would not reach
_ALIASES = {
    "тристо": "триста", "пятсот": "пятьсот", "шестсот": "шестьсот", "семсот": "семьсот",
    "восемсот": "восемьсот", "девятсот": "девятьсот", "одинадцать": "одиннадцать",
    "питнадцать": "пятнадцать", "пядь": "пять", "сорак": "сорок", "дватцать": "двадцать",
    "тридцать": "тридцать", "читыре": "четыре", "чатыре": "четыре", "шездесят": "шестьдесят",
    "пятдесят": "пятьдесят", "семдесят": "семьдесят", "восемдесят": "восемьдесят",
    "девяноста": "девяносто", "тыщь": "тыщ", "тысячь": "тысяч", "нолик": "ноль",
    "раз": "один", "однадцать": "одиннадцать", "писячу": "тысячу", "писяча": "тысяча",
    "писячи": "тысячи", "песяч": "тысяч", "писяч": "тысяч", "тисяч": "тысяч", "тыщу": "тысячу",
    "запятаю": "запятая", "запятой": "запятая", "зопятая": "запятая", "шест": "шесть",
    "thousand": "тысяч", "one": "один", "two": "два", "three": "три", "four": "четыре",
    "five": "пять", "six": "шесть", "seven": "семь", "eight": "восемь", "nine": "девять",
    "нали": "ноль", "нель": "ноль", "нели": "ноль", "ныль": "ноль", "ноли": "ноль",
    "нол": "ноль", "нуля": "ноль", "ноля": "ноль", "ten": "десять", "fourteen": "четырнадцать", "twenty": "двадцать", "zero": "ноль",
}
# "ноль" at 8 kHz: "налив", "нолев", "ныль", "мали", "моли", "нель" (Whisper, festival's voice)
_ZERO_HEARD = re.compile(r"[нм][аоыеиу]л[аоеиыьюяй]{0,2}[вь]?")
# "тысяч" at 8 kHz: "песячут", "писячу", "тысячся"
_THOUSAND_HEARD = re.compile(r"[тпфц][ыиеэ]с[яеи]ч[аиуьсея]{0,3}т?")
_NOT_ZERO = {"мало", "мала", "мол", "мил", "мила", "мило", "нал", "мел", "мель", "мыл", "мыло",
             "мула", "нули", "милый", "мой", "малый", "моль", "мели", "милая", "налей"}
_HUNDRED_SUFFIX = {"сот", "сут", "ста", "сто", "стоц", "сотен", "hundred", "сод", "сот."}

_NUMBER_WORDS: dict[str, tuple[str, int]] = {}
for _w, _v in _UNITS.items():
    _NUMBER_WORDS[_w] = ("U", _v)
for _w, _v in _TEENS.items():
    _NUMBER_WORDS[_w] = ("E", _v)
for _w, _v in _TENS.items():
    _NUMBER_WORDS[_w] = ("T", _v)
for _w, _v in _HUNDREDS.items():
    _NUMBER_WORDS[_w] = ("H", _v)
for _w in _THOUSAND:
    _NUMBER_WORDS[_w] = ("K", 1000)
for _w, _v in _HALF.items():
    _NUMBER_WORDS[_w] = ("P", _v)

# words of other meaning that fuzzy matching must never turn into numbers
_STOP = {
    "день", "ночь", "дня", "сто", "все", "так", "тот", "сейчас", "счет", "есть", "два", "это",
    "да", "нет", "мои", "мой", "мне", "мы", "на", "не", "но", "по", "от", "до", "в", "у", "с",
    "ну", "вот", "там", "тут", "как", "а", "я", "он", "она", "они", "ты", "вы",
}

ZONE_DAY = "day"
ZONE_NIGHT = "night"
_ZONE_WORDS = {
    "день": ZONE_DAY, "дневной": ZONE_DAY, "дневные": ZONE_DAY, "дневная": ZONE_DAY,
    "дневное": ZONE_DAY, "дневного": ZONE_DAY, "днем": ZONE_DAY, "дневной:": ZONE_DAY,
    "ночь": ZONE_NIGHT, "ночной": ZONE_NIGHT, "ночные": ZONE_NIGHT, "ночная": ZONE_NIGHT,
    "ночное": ZONE_NIGHT, "ночного": ZONE_NIGHT, "ночью": ZONE_NIGHT,
    "т1": ZONE_DAY, "т2": ZONE_NIGHT, "t1": ZONE_DAY, "t2": ZONE_NIGHT,
}
_NIGHT_MISHEARD = {"но", "ноч", "моч", "ночи", "нош", "мочь", "точь"}
_ZONE_T = {"т", "t", "тариф", "те", "тэ", "та", "то", "ти"}
_T_ONE_GLUED = {"тодин", "тадин", "тодын", "теодин", "тэодин", "тоодин"}  # "т один", "тариф два"


def _levenshtein(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def normalize(text: str) -> str:
    """Lower case, ё → е, punctuation between words to spaces; digit separators kept."""
    t = text.lower().replace("ё", "е")
    t = re.sub(r"(?<=\d)[\s\u00a0\u202f](?=\d)", " ", t)
    t = re.sub(r"[^\w\s,.\-]", " ", t)
    t = re.sub(r"(?<!\d)[,.\-]|[,.\-](?!\d)", " ", t)  # keep , . - only between digits
    return re.sub(r"\s+", " ", t).strip()


@lru_cache(maxsize=4096)
def number_word(word: str) -> tuple[str, int] | None:
    """The number word `word` stands for, forgiving ASR spelling: (kind, value) or None.

    kind: U unit 0-9, E 10-19, T tens, H hundreds, K thousand, P "полторы" (1500)."""
    w = _ALIASES.get(word, word)
    if w in _NUMBER_WORDS:
        return _NUMBER_WORDS[w]
    if _ZERO_HEARD.fullmatch(w) and w not in _NOT_ZERO:
        return ("U", 0)
    if _THOUSAND_HEARD.fullmatch(w):
        return ("K", 1000)
    if w in _STOP or len(w) < 4 or not w.isalpha():
        return None
    limit = 1 if len(w) < 8 else 2
    best: tuple[int, tuple[str, int]] | None = None
    for lw, val in _NUMBER_WORDS.items():
        if len(lw) < 4:
            continue
        d = _levenshtein(w, lw, limit)
        if d <= limit and (best is None or d < best[0]):
            best = (d, val)
    return best[1] if best else None


def _exact(word: str) -> tuple[str, int] | None:
    """A number word without fuzzy matching: the lexicon, aliases, misheard zero/thousand."""
    w = _ALIASES.get(word, word)
    if w in _NUMBER_WORDS:
        return _NUMBER_WORDS[w]
    if _ZERO_HEARD.fullmatch(w) and w not in _NOT_ZERO:
        return ("U", 0)
    if _THOUSAND_HEARD.fullmatch(w):
        return ("K", 1000)
    return None


def _split_glued(word: str) -> list[tuple[str, int]] | None:
    """'двадцатьпять' → two number words (Whisper sometimes glues them)."""
    for i in range(3, len(word) - 2):
        a, b = _exact(word[:i]), _exact(word[i:])
        if a and b:
            return [a, b]
    return None


# --- atoms -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Atom:
    kind: str  # U E T H K P: number words; D: written digits; DEC: decimal mark; AND: "и"
    value: int = 0
    text: str = ""  # for D: the digits as written (leading zeros kept)


def atoms(text: str) -> list[list[Atom]]:
    """The text as runs of number atoms; a run ends at a word that is not a number.

    Written digits with separators become D atoms; "12,345" / "12.345" are kept as one token
    "12,345" here and split into alternatives by `_digit_alternatives`."""
    runs: list[list[Atom]] = []
    cur: list[Atom] = []
    prev_tok = ""
    for tok in normalize(text).split(" "):
        if not tok:
            continue
        before, prev_tok = prev_tok, tok
        tok = _ALIASES.get(tok, tok)
        if tok in _HUNDRED_SUFFIX and cur and cur[-1].kind == "U" and cur[-1].value >= 2:
            cur[-1] = Atom("H", cur[-1].value * 100)  # "шесть сот", "пять сут", "три сто"
            continue
        if tok == "пятая" and before == "за":  # "за пятая": "запятая" split by the ASR
            cur.append(Atom("DEC"))
            continue
        if re.fullmatch(r"\d+([,.\-]\d+)*", tok):
            cur.append(Atom("D", 0, tok))
            continue
        if tok in _DECIMAL:
            cur.append(Atom("DEC"))
            continue
        if tok in _AND and cur:
            cur.append(Atom("AND"))
            continue
        nw = number_word(tok)
        if nw is None and len(tok) >= 7:
            glued = _split_glued(tok)
            if glued:
                if glued[0] == ("H", 100) and cur and cur[-1].kind == "U" and cur[-1].value >= 2:
                    cur[-1] = Atom("H", cur[-1].value * 100)  # "три стосорок"
                    glued = glued[1:]
                cur.extend(Atom(k, v) for k, v in glued)
                continue
        if nw is not None:
            cur.append(Atom(nw[0], nw[1]))
            continue
        if tok in _FRACTION_TAIL:
            continue
        if cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    return [_trim(r) for r in runs if _trim(r)]


def _trim(run: list[Atom]) -> list[Atom]:
    while run and run[-1].kind in ("AND", "DEC"):
        run = run[:-1]
    while run and run[0].kind in ("AND", "DEC"):
        run = run[1:]
    return run


# --- parsing a run into digit strings ---------------------------------------------------------

ADD_COST = 0.4  # log-prior cost of reading "8500 67" as 8567 rather than 850067
GROUP_COST = 2.0  # log-prior cost of splitting what could be one number into two groups
_MAX_PARSES = 64


def _sub_thousand(run: list[Atom], i: int) -> list[tuple[int, int]]:
    """Every compositional number below 1000 starting at i: (value, end index)."""
    out: list[tuple[int, int]] = []
    n = len(run)

    def kind(j: int) -> str:
        return run[j].kind if j < n else ""

    j = i
    h = 0
    if kind(j) == "H":
        h = run[j].value
        j += 1
        out.append((h, j))
    if kind(j) == "E":
        out.append((h + run[j].value, j + 1))
    elif kind(j) == "T":
        t = run[j].value
        out.append((h + t, j + 1))
        if kind(j + 1) == "U" and run[j + 1].value > 0:
            out.append((h + t + run[j + 1].value, j + 2))
    elif kind(j) == "U" and (run[j].value > 0 or j == i):
        out.append((h + run[j].value, j + 1))
    return out


def _phrases(run: list[Atom], i: int) -> list[tuple[str, int]]:
    """Every one-number phrase starting at i: (digits, end index)."""
    out: list[tuple[str, int]] = []
    a = run[i]
    if a.kind == "D":
        return [(a.text, i + 1)]  # separators resolved later
    if a.kind == "P":
        if i + 1 < len(run) and run[i + 1].kind == "K":
            out.append(("1500", i + 2))
            for low, e in _sub_thousand(run, i + 2):
                if low < 500:
                    out.append((str(1500 + low), e))
        return out
    if a.kind == "K":  # "тысяча ..." = 1000 + ...
        out.append(("1000", i + 1))
        for low, e in _sub_thousand(run, i + 1):
            out.append((str(1000 + low), e))
        return out
    for high, e in _sub_thousand(run, i):
        out.append((str(high), e))
        if e < len(run) and run[e].kind == "K" and high > 0:
            out.append((str(high * 1000), e + 1))
            for low, e2 in _sub_thousand(run, e + 1):
                out.append((str(high * 1000 + low), e2))
    return out


def _parse_run(run: list[Atom]) -> list[tuple[list[str], float, str | None]]:
    """All ways to read a run as consecutive groups: (group digits, cost, fraction)."""
    results: list[tuple[list[str], float, str | None]] = []

    def rec(i: int, groups: list[str], cost: float) -> None:
        if len(results) >= _MAX_PARSES * 4:
            return
        if i >= len(run):
            results.append((groups, cost, None))
            return
        a = run[i]
        if a.kind in ("DEC", "AND"):
            frac = "".join(_digits_of(run[i + 1:]))
            if groups:
                c = 0.0 if a.kind == "DEC" else 1.0
                results.append((groups, cost + c, frac or "0"))
                if a.kind == "AND":  # "и" also joins ("8500 и 67"): read on, ignoring it
                    rec(i + 1, groups, cost + 0.3)
            else:
                rec(i + 1, groups, cost)
            return
        if a.kind == "K" and groups:  # a stray "тысяч" after a group multiplies nothing
            rec(i + 1, groups, cost + 1.5)
            return
        ph = _phrases(run, i)
        if not ph:
            rec(i + 1, groups, cost + 3.0)
            return
        longest = max(e for _, e in ph)
        for digits, e in ph:
            rec(e, groups + [digits], cost + (0.0 if e == longest else GROUP_COST))

    rec(0, [], 0.0)
    return results


def _digits_of(run: list[Atom]) -> list[str]:
    out = []
    for a in run:
        if a.kind == "D":
            out.append(re.sub(r"\D", "", a.text))
        elif a.kind in ("U", "E", "T", "H"):
            out.append(str(a.value))
    return out


def _digit_alternatives(token: str) -> list[tuple[str, float, str | None]]:
    """'12,345' → [('12345', cost, None), ('12', cost, '345')]; '12-34' → '1234'."""
    if re.fullmatch(r"\d+", token):
        return [(token, 0.0, None)]
    parts = re.split(r"([,.\-])", token)
    nums, seps = parts[0::2], parts[1::2]
    joined = "".join(nums)
    if all(s == "-" for s in seps):
        return [(joined, 0.0, None)]
    thousands = all(len(p) == 3 for p in nums[1:])
    if len(seps) == 1 and seps[0] in ",.":
        if thousands:
            return [(joined, 0.0, None), (nums[0], 1.2, nums[1])]
        return [(nums[0], 0.0, nums[1]), (joined, 1.0, None)]
    out = [(joined, 0.0 if thousands else 0.5, None)]
    added = _added(nums)  # "530,760,4": Whisper's addends inside one token
    if added != joined:
        out.append((added, 0.5 if thousands else 0.4, None))
    return out


def _added(parts: list[str]) -> str:
    acc = parts[0]
    for p in parts[1:]:
        zeros = len(acc) - len(acc.rstrip("0"))
        if acc.strip("0") and p.lstrip("0") and len(p) <= zeros:
            acc = acc[: len(acc) - len(p)] + p
        else:
            acc += p
    return acc


@dataclass(frozen=True)
class Candidate:
    digits: str  # the reading as said, leading zeros kept
    prior: float  # 0..1, the candidates of one text sum to 1
    fraction: str | None = None  # the decimal part dropped (a reading is whole kWh)
    groups: tuple[str, ...] = ()  # how it was read: ("12", "345")


def readings(text: str, max_candidates: int = 12) -> list[Candidate]:
    """Every reading the text supports, best prior first. Empty if it holds no number.

    Text with several runs of numbers separated by other words: the longest run wins (a
    caller's "мои показания ... двенадцать тысяч"), other runs give lower-prior candidates."""
    runs = atoms(text)
    if not runs:
        return []
    costs: dict[tuple[str, str | None], tuple[float, tuple[str, ...]]] = {}
    for r_i, run in enumerate(runs):
        run_cost = 0.0 if len(runs) == 1 else (
            0.0 if len(run) == max(len(r) for r in runs) else 2.5)
        for groups, cost, frac in _parse_run(run):
            for digits, dcost, dfrac in _expand_groups(groups):
                if not digits:
                    continue
                f = frac if frac is not None else dfrac
                key = (digits, f)
                total = cost + dcost + run_cost
                if key not in costs or total < costs[key][0]:
                    costs[key] = (total, tuple(groups))
        if len(runs) > 1 and r_i == 0:
            # "двенадцать ... триста сорок пять": the runs read as one
            pass
    if len(runs) > 1:
        merged = [a for run in runs for a in run]
        for groups, cost, frac in _parse_run(merged):
            for digits, dcost, dfrac in _expand_groups(groups):
                key = (digits, frac if frac is not None else dfrac)
                total = cost + dcost + 1.0
                if digits and (key not in costs or total < costs[key][0]):
                    costs[key] = (total, tuple(groups))
    ranked = sorted(costs.items(), key=lambda kv: kv[1][0])[:max_candidates]
    z = sum(math.exp(-c) for _, (c, _) in ranked)
    return [
        Candidate(digits=d, prior=math.exp(-c) / z, fraction=f, groups=g)
        for (d, f), (c, g) in ranked
    ]


def _expand_groups(groups: list[str]) -> list[tuple[str, float, str | None]]:
    """Join groups into digits; written-digit groups with separators fan out."""
    outs: list[tuple[str, float, str | None]] = [("", 0.0, None)]
    for g_i, g in enumerate(groups):
        alts = _digit_alternatives(g) if not g.isdigit() else [(g, 0.0, None)]
        nxt = []
        for digits, cost, frac in outs:
            if frac is not None:  # a decimal part ends the reading
                nxt.append((digits, cost, frac))
                continue
            for a, c, f in alts:
                nxt.append((digits + a, cost + c, f))
                # "8500 и 67", "60, 1, 412": Whisper splits one number into addends; a group
                # that fits in the zeros the digits so far end with adds to them
                zeros = len(digits) - len(digits.rstrip("0"))
                if g_i and digits.strip("0") and a.lstrip("0") and len(a) <= zeros:
                    nxt.append((digits[: len(digits) - len(a)] + a, cost + c + ADD_COST, f))
        outs = nxt
    return outs


# --- zones -------------------------------------------------------------------------------------


def split_zones(text: str) -> dict[str, str] | None:
    """'день 12345 ночь 6789' → {'day': '12345', 'night': '6789'} (text per zone), or None
    when the text names no zone."""
    toks = normalize(text).split(" ")
    marks: list[tuple[int, int, str]] = []  # (start, end, zone)
    i = 0
    while i < len(toks):
        t = toks[i]
        z = _ZONE_WORDS.get(t) or (
            ZONE_DAY if t.startswith("дневн") else ZONE_NIGHT if t.startswith("ночн") else None)
        if t in _T_ONE_GLUED:  # "тодин": "т один"
            marks.append((i, i + 1, ZONE_DAY))
        elif z:
            marks.append((i, i + 1, z))
        elif t in _ZONE_T and i + 1 < len(toks):
            n = toks[i + 1]
            if n in ("1", "один", "первый", "одын"):
                marks.append((i, i + 2, ZONE_DAY))
                i += 1
            elif n in ("2", "два", "второй"):
                marks.append((i, i + 2, ZONE_NIGHT))
                i += 1
        elif (t in ("под", "тдва", "тудва", "тэдва") and marks and marks[-1][2] == ZONE_DAY
              and (t != "под" or toks[i + 1:i + 2] in (["два"], ["2"]))):
            end = i + 2 if t == "под" else i + 1  # "под два": "т два" misheard
            marks.append((i, end, ZONE_NIGHT))
            i = end - 1
        elif t in _NIGHT_MISHEARD and marks and marks[-1][2] == ZONE_DAY:
            marks.append((i, i + 1, ZONE_NIGHT))  # "день 14,962, но 17,711": "ночь" misheard
        elif re.fullmatch(r"[тt][12]", t):
            marks.append((i, i + 1, ZONE_DAY if t.endswith("1") else ZONE_NIGHT))
        elif re.fullmatch(r"[тt]-?[12]\d+", t):  # "т112345": the marker glued to the number
            zone = ZONE_DAY if t.lstrip("тt-")[0] == "1" else ZONE_NIGHT
            toks[i] = t.lstrip("тt-")[1:]
            marks.append((i, i, zone))
        i += 1
    if not marks:
        return None
    out: dict[str, str] = {}
    for k, (_, end, zone) in enumerate(marks):
        stop = marks[k + 1][0] if k + 1 < len(marks) else len(toks)
        seg = " ".join(toks[end:stop]).strip()
        if seg and zone not in out:
            out[zone] = seg
    return out or None
