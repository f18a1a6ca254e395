"""speech.intents: free speech → intent, and yes/no."""

import pytest

from speech.intents import intent, yes_no


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
        ("какой у вас режим работы в субботу", "hours"),
        ("ператор пожалуйста", "operator"),  # ASR dropped a letter
        ("показанья щётчика", "readings"),
    ],
)
def test_intents(text: str, expected: str) -> None:
    got = intent(text)
    assert got.intent == expected
    assert 0 < got.score <= 1


def test_negation() -> None:
    assert intent("не надо оператора, перезвоните мне").intent == "callback"
    assert intent("не надо оператора").intent is None


def test_nothing() -> None:
    assert intent("алло алло").intent is None
    assert intent("").intent is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("да", "yes"), ("Да.", "yes"), ("верно", "yes"), ("правильно", "yes"),
        ("всё так", "yes"), ("да, всё верно", "yes"), ("конечно", "yes"),
        ("нет", "no"), ("неверно", "no"), ("неправильно", "no"), ("не так", "no"),
        ("не верно", "no"), ("нет, ошибка", "no"), ("Нет!", "no"),
    ],
)
def test_yes_no(text: str, expected: str) -> None:
    label, score = yes_no(text)
    assert label == expected and score > 0


def test_yes_no_unclear() -> None:
    assert yes_no("повторите вопрос пожалуйста")[0] is None


def test_more_ways_of_saying_it() -> None:
    assert intent("у нас опять всё вырубило").intent == "outage"
    assert intent("свяжитесь со мной позже").intent == "callback"
    assert intent("можно через госуслуги").intent == "payment"
    assert intent("во сколько вы открываетесь").intent == "hours"
