"""The flow engine and the hotline's declared tables (pure: a fake call, no PBX)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from ivr.flow import Decide, Do, FlowDef, FlowError, Menu, Node, Say


@dataclass
class FakeCall:
    answers: list[str]
    said: list[list[str]] = field(default_factory=list)
    asked: list[list[str]] = field(default_factory=list)
    notes: list[tuple[str, dict]] = field(default_factory=list)

    def note(self, kind: str, **data: Any) -> None:
        self.notes.append((kind, data))

    def preface(self, sounds: list[str]) -> None:
        self.said.append(["(preface)", *sounds])

    async def say(self, sounds: list[str]) -> None:
        self.said.append(sounds)

    async def ask(self, prompt: list[str], max_digits: int = 1, timeout_ms: int = 0) -> str:
        self.asked.append(prompt)
        return self.answers.pop(0) if self.answers else ""

    def steps(self) -> list[str]:
        return [d["step"] for k, d in self.notes if k == "flow"]


MENU = Menu("menu", "hotline:menu", {"1": "one", "2": "two"})


def flow() -> FlowDef:
    return FlowDef("t", start="menu", nodes={
        "menu": Node(MENU, {"one": "say", "two": "@left", "fail": "@failed"}),
        "say": Node(Say("hello", ("hotline:hi",)), {"done": "@done"}),
    })


async def test_menu_choice_leads_where_the_table_says() -> None:
    call = FakeCall(["1"])
    assert await flow().run(call) == "done"
    assert call.steps() == ["menu", "say"]
    assert call.said == [["hotline:hi"]]


async def test_menu_reprompts_twice_then_fails_never_silent() -> None:
    call = FakeCall(["", "9", ""])
    assert await flow().run(call) == "failed"
    assert call.asked == [["hotline:menu"], ["hotline:no_input", "hotline:menu"],
                          ["hotline:invalid_choice", "hotline:menu"]]
    assert call.said == []
    outcomes = [d["outcome"] for k, d in call.notes if k == "choice"]
    assert outcomes == ["no_input", "invalid", "no_input"]


async def test_invalid_then_valid() -> None:
    call = FakeCall(["7", "2"])
    assert await flow().run(call) == "left"


def test_declaration_errors_are_caught_when_declared() -> None:
    with pytest.raises(FlowError, match="lead nowhere"):
        FlowDef("bad", start="menu", nodes={"menu": Node(MENU, {"one": "@x"})})
    with pytest.raises(FlowError, match="undeclared"):
        FlowDef("bad", start="menu", nodes={"menu": Node(MENU, {"one": "nowhere", "two": "@x", "fail": "@x"})})
    with pytest.raises(FlowError, match="no outcome"):
        FlowDef("bad", start="menu", nodes={"menu": Node(MENU, {"one": "@x", "two": "@x", "fail": "@x", "three": "@x"})})
    with pytest.raises(FlowError, match="start state"):
        FlowDef("bad", start="nope", nodes={"menu": Node(MENU, {"one": "@x", "two": "@x", "fail": "@x"})})


async def test_nested_flows_and_actions() -> None:
    async def act(call: Any) -> str:
        return "ok"

    inner = FlowDef("inner", start="a", nodes={"a": Node(Do("act", act, ("ok",)), {"ok": "@fine"})})
    outer = FlowDef("outer", start="d", nodes={
        "d": Node(Decide("branch", lambda c: "x", ("x", "y")), {"x": "inner", "y": "@other"}),
        "inner": Node(inner, {"fine": "@done"}),
    })
    call = FakeCall([])
    assert await outer.run(call) == "done"
    assert call.steps() == ["d", "inner", "a"]
    assert inner.outcomes == ("fine",)


async def test_do_must_return_a_declared_outcome() -> None:
    async def act(call: Any) -> str:
        return "surprise"

    f = FlowDef("f", start="a", nodes={"a": Node(Do("act", act, ("ok",)), {"ok": "@done"})})
    with pytest.raises(FlowError, match="undeclared outcome"):
        await f.run(FakeCall([]))


def test_the_hotline_tables_are_complete_and_readable() -> None:
    from ivr.hotline import HOTLINE

    text = HOTLINE.describe()
    assert "Главное меню" in text and "operator" in text
    # every menu of the hotline ends somewhere sensible on failure
    for name, node in HOTLINE.nodes.items():
        if isinstance(node.step, Menu):
            assert "fail" in node.on, name


class QueueAgi:
    """app_queue as the flow sees it over AGI: one Queue() per wait, then how it ended."""

    def __init__(self, *endings: tuple[str, str]) -> None:
        self.endings = list(endings)  # (QUEUESTATUS, CONTEXT) after each Queue()
        self.queued: list[str] = []
        self.status = ("", "hotline")

    async def get_variable(self, name: str) -> str:
        if name.startswith("QUEUE_WAITING_COUNT"):
            return "0"
        return self.status[0] if name == "QUEUESTATUS" else self.status[1] if name == "CONTEXT" else ""

    async def exec(self, app: str, args: str) -> None:
        if app == "Queue":
            self.queued.append(args)
            self.status = self.endings.pop(0)


def queue_call(agi: QueueAgi, answers: list[str]) -> FakeCall:
    from ivr.context import QueueOptions

    call = FakeCall(answers)
    call.agi = agi  # type: ignore[attr-defined]
    call.queue = QueueOptions(max_wait_s=300)  # type: ignore[attr-defined]
    call.counters = {}  # type: ignore[attr-defined]
    call.scratch = {}  # type: ignore[attr-defined]
    call.operators_open = lambda: True  # type: ignore[attr-defined]
    call.caller = "79990000006"  # type: ignore[attr-defined]
    call.account = None  # type: ignore[attr-defined]
    call.linkedid = "q-1"  # type: ignore[attr-defined]
    call.booked = []  # type: ignore[attr-defined]

    async def book(c: object, source: str) -> bool:
        call.booked.append(source)  # type: ignore[attr-defined]
        return True

    call.book_callback = book  # type: ignore[attr-defined]

    def count(name: str) -> int:
        call.counters[name] = call.counters.get(name, 0) + 1  # type: ignore[attr-defined]
        return call.counters[name]  # type: ignore[attr-defined]

    call.count = count  # type: ignore[attr-defined]
    return call


async def test_key_1_in_the_queue_books_a_callback_without_queueing_again() -> None:
    """The periodic offer's key 1 leaves the queue through its exit context: the flow books
    the callback; the caller is never put back at the end of the queue."""
    from ivr.hotline import HOTLINE, QUEUE_EXIT_CONTEXT

    agi = QueueAgi(("", QUEUE_EXIT_CONTEXT))
    call = queue_call(agi, ["0"])
    assert await HOTLINE.run(call) == "done"
    assert agi.queued == ["operators,,,,300"]  # one wait, with the maximum
    assert call.booked == ["ivr_queue"]  # type: ignore[attr-defined]
    assert call.steps()[-3:] == ["operator", "callback_from_queue", "goodbye"]
    assert ("queue", {"event": "leave", "status": "CALLBACK_KEY"}) in call.notes


async def test_a_silent_caller_waits_once_to_the_maximum_then_an_apology() -> None:
    """No operator and no key: one wait (the place kept throughout), then the apology with the
    callback offer once more; silence there ends politely. Bounded, never re-queued."""
    from ivr.hotline import HOTLINE

    agi = QueueAgi(("TIMEOUT", "hotline"))
    call = queue_call(agi, ["0", "", "", ""])
    assert await HOTLINE.run(call) == "done"
    assert len(agi.queued) == 1
    assert call.booked == []  # type: ignore[attr-defined]
    assert call.steps()[-3:] == ["queue_offer", "queue_gave_up", "goodbye"]


async def test_after_the_maximum_wait_key_1_books_the_callback() -> None:
    from ivr.hotline import HOTLINE

    agi = QueueAgi(("TIMEOUT", "hotline"))
    call = queue_call(agi, ["0", "1"])
    assert await HOTLINE.run(call) == "done"
    assert len(agi.queued) == 1 and call.booked == ["ivr_queue"]  # type: ignore[attr-defined]
    assert call.asked[-1] == ["hotline:queue_timeout_offer"]
