"""speech.intents: free speech → intent (stems + exemplar similarity + patterns), and yes/no.

Pure logic. The phrasings here are written for these tests (not the test set's test split)."""

import time
from pathlib import Path

import pytest

from speech import intents
from speech.intents import ExemplarError, intent, intent_of_hypotheses, load_exemplars, yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("я бы хотела сдать показания электросчётчика", "readings"),
        ("сколько за мной числится долга", "balance"),
        ("во всём доме отключено электричество", "outage"),
        ("перезвоните мне попозже", "callback"),
        ("дайте живого человека", "operator"),
        ("почём сейчас киловатт час", "tariffs"),
        ("где заплатить за свет без комиссии", "payment"),
        ("в субботу приёмная открыта", "hours"),
    ],
)
def test_intents(text: str, expected: str) -> None:
    got = intent(text)
    assert got.intent == expected
    assert 0 < got.score <= 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # balance vs payment: how much → balance; how / where / with what, details → payment
        ("сколько мне платить за свет", "balance"),
        ("скажите сколько платить за октябрь", "balance"),
        ("как мне платить за свет", "payment"),
        ("где платить за электричество", "payment"),
        ("чем можно заплатить, картой или наличными", "payment"),
        ("продиктуйте реквизиты", "payment"),
        # tariffs vs balance: a price per kWh, not the amount due
        ("за один киловатт сколько сейчас берут", "tariffs"),
        ("скока с меня выходит за ноябрь", "balance"),
        # outage vs a bill for light
        ("у меня свет не горит с обеда", "outage"),
        ("сколько я задолжала за свет", "balance"),
        ("хочу заплатить за свет", "payment"),
        # callback vs operator
        ("пусть оператор мне перезвонит вечером", "callback"),
        ("соедините меня с оператором сейчас", "operator"),
        ("не могу ждать на линии, позвоните мне сами", "callback"),
        # connect me with someone vs get in touch with me
        ("свяжите меня со специалистом по счетам", "operator"),
        ("пусть ваши свяжутся со мной завтра", "callback"),
        # "почему" is not "почём"; "к оплате" is the amount due, glued or not
        ("почему опять нет света", "outage"),
        ("а сумма коплате у меня какая", "balance"),
        # a two-rate meter's readings mention the rates
        ("передаю показания по дневному тарифу и ночному", "readings"),
        # hours vs outage: "когда" alone is not a time-table question
        ("когда включат свет на нашей улице", "outage"),
        ("когда у вас касса открыта", "hours"),
    ],
)
def test_boundaries(text: str, expected: str) -> None:
    assert intent(text).intent == expected


def test_negation() -> None:
    assert intent("не надо оператора, перезвоните мне").intent == "callback"
    assert intent("не надо оператора").intent is None
    assert intent("оператор не нужен, лучше позвоните мне позже").intent == "callback"
    # a caller refusing the machine wants a person
    assert intent("не желаю говорить с роботом").intent == "operator"
    # negation does not turn a balance question into nothing
    assert intent("я вроде ничего не должна, проверьте").intent == "balance"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ператор пожалуйста", "operator"),  # ASR dropped a letter
        ("показанья щётчика", "readings"),
        ("пиредать паказания", "readings"),
        ("сколька с миня за свет", "balance"),
        ("аплатить через мобильный банк", "payment"),
        ("пирезвоните вечиром", "callback"),
        ("тарифы на электро энергию", "tariffs"),
        ("свет атключили", "outage"),
        ("до скольки касса работаит", "hours"),
        ("покозания пиридать хачу", "readings"),  # vowels and voicing as heard
        ("скалька с миня за свед", "balance"),
    ],
)
def test_misheard(text: str, expected: str) -> None:
    assert intent(text).intent == expected


def test_nothing() -> None:
    assert intent("алло алло").intent is None
    assert intent("").intent is None
    assert intent("ну это самое как его").intent is None


def test_hypotheses_vote() -> None:
    got = intent_of_hypotheses([("перезвоните мне", 0.6), ("перезвон и мне", 0.4)])
    assert got.intent == "callback" and got.score > 0.4
    assert intent_of_hypotheses([("алло", 1.0)]).intent is None


def test_exemplar_file_loads() -> None:
    ex = load_exemplars()
    assert set(ex) == set(intents.INTENTS) | {"none"}
    assert all(len(ex[k]) >= 30 for k in intents.INTENTS), {k: len(v) for k, v in ex.items()}
    assert ex["none"]  # what asks for nothing: a competitor, never an answer


def test_none_table_competes() -> None:
    assert intent("алло, девушка, алло").intent is None
    assert intent("подождите, я очки найду").intent is None
    assert intent("не надо мне перезванивать").intent is None


def test_extra_file_extends(tmp_path: Path) -> None:
    extra = tmp_path / "more.toml"
    extra.write_text('[outage]\nexamples = ["фаза ушла в щитке"]\n', encoding="utf-8")
    base = load_exemplars()
    before = intents.index().similarity("фаза ушла в щитке")["outage"]
    ex = load_exemplars(extra)
    assert ex["outage"] == base["outage"] + ["фаза ушла в щитке"]
    assert ex["balance"] == base["balance"]
    try:
        intents.configure(extra)
        assert intents.index().similarity("фаза ушла в щитке")["outage"] > before + 0.3
        assert intent("фаза ушла в щитке").intent == "outage"
    finally:
        intents.configure()
    assert intents.index().similarity("фаза ушла в щитке")["outage"] == pytest.approx(before)


def test_extra_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "more.toml"
    extra.write_text('[hours]\nexamples = ["обеденный час у кассира"]\n', encoding="utf-8")
    monkeypatch.setenv(intents.EXTRA_ENV, str(extra))
    monkeypatch.setattr(intents, "_index", None)
    assert "обеденный час у кассира" in intents.index().exemplars["hours"]
    monkeypatch.setattr(intents, "_index", None)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[outage\nexamples = ["x"]\n', "not valid TOML"),
        ('[weather]\nexamples = ["дождь"]\n', "unknown intent [weather]"),
        ('[outage]\nexample = ["нет света"]\n', "[outage] needs examples"),
        ('[outage]\nexamples = "нет света"\n', "[outage] needs examples"),
    ],
)
def test_broken_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(ExemplarError) as e:
        load_exemplars(bad)
    assert str(bad) in str(e.value) and message in str(e.value)
    with pytest.raises(ExemplarError, match="cannot read"):
        load_exemplars(tmp_path / "missing.toml")


def test_phonetic_key() -> None:
    assert intents.key("покозания") == intents.key("показания")
    assert intents.key("долг") != intents.key("дом")
    assert intents.key("звонок") == intents.key("свонок")


def test_fast() -> None:
    intent("прогрев")  # the index is built once
    texts = ["здравствуйте, девушка, мне бы узнать, сколько я должна за свет"] * 50
    t0 = time.perf_counter()
    for t in texts:
        intent(t)
    per_call_ms = (time.perf_counter() - t0) * 1000 / len(texts)
    assert per_call_ms < 5.0, per_call_ms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("да", "yes"), ("Да.", "yes"), ("верно", "yes"), ("правильно", "yes"),
        ("всё так", "yes"), ("да, всё верно", "yes"), ("конечно", "yes"),
        ("да да", "yes"), ("ага", "yes"), ("угу", "yes"), ("так точно", "yes"),
        ("ну да", "yes"), ("да, сохраняйте", "yes"), ("точно так", "yes"),
        ("нет", "no"), ("неверно", "no"), ("неправильно", "no"), ("не так", "no"),
        ("не верно", "no"), ("нет, ошибка", "no"), ("Нет!", "no"), ("нет нет", "no"),
        ("не правильно", "no"), ("это не так", "no"), ("нет, не верно", "no"),
        ("да нет, не так", "no"), ("не совсем", "no"), ("не то число", "no"),
        ("неправда", "no"), ("да нет", "no"), ("так и есть", "yes"), ("не-а", "no"),
    ],
)
def test_yes_no(text: str, expected: str) -> None:
    label, score = yes_no(text)
    assert label == expected and score > 0


def test_yes_no_unclear() -> None:
    assert yes_no("повторите вопрос пожалуйста")[0] is None
    assert yes_no("")[0] is None
    assert yes_no("не знаю")[0] is None
    assert yes_no("я не расслышала")[0] is None


def test_more_ways_of_saying_it() -> None:
    assert intent("у нас опять всё вырубило").intent == "outage"
    assert intent("свяжитесь со мной позже").intent == "callback"
    assert intent("можно через госуслуги").intent == "payment"
    assert intent("во сколько вы открываетесь").intent == "hours"
