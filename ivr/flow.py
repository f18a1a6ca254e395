"""Call flows as declared state machines.

A flow is a table: each state names a step and where each of the step's outcomes leads.
Steps do the talking (a menu, a question, a lookup) and return an outcome label; the table
decides what happens next, so a supervisor can read the whole flow without reading code
(`FlowDef.describe()`, `hotline flows`). Rules it keeps:
- every outcome a step can return leads somewhere (checked when the flow is declared);
- a target is a state of the same flow, or `@label` to leave the flow with that outcome
  (a flow is itself a step, so flows nest: identification inside readings and balance);
- every state entered is noted in the call's trail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class FlowError(RuntimeError):
    pass


class Call(Protocol):
    """What a step may use of the call (ivr.context.FlowCall implements it)."""

    def note(self, kind: str, **data: Any) -> None: ...  # noqa: E704


class Step(Protocol):
    outcomes: tuple[str, ...]
    title: str

    async def run(self, call: Any) -> str: ...  # noqa: E704


@dataclass(frozen=True)
class Node:
    step: Step
    on: Mapping[str, str]


@dataclass
class FlowDef:
    """A declared flow; also a Step, so it can be a state of another flow."""

    name: str
    start: str
    nodes: dict[str, Node]
    title: str = ""
    outcomes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        exits: set[str] = set()
        if self.start not in self.nodes:
            raise FlowError(f"{self.name}: start state {self.start!r} is not declared")
        for state, node in self.nodes.items():
            missing = set(node.step.outcomes) - set(node.on) - ({"*"} if "*" in node.on else set())
            if missing and "*" not in node.on:
                raise FlowError(f"{self.name}.{state}: outcomes {sorted(missing)} lead nowhere")
            for outcome, target in node.on.items():
                if outcome != "*" and outcome not in node.step.outcomes:
                    raise FlowError(f"{self.name}.{state}: {node.step.title} has no outcome {outcome!r}")
                if target.startswith("@"):
                    exits.add(target[1:])
                elif target not in self.nodes:
                    raise FlowError(f"{self.name}.{state}: {outcome!r} leads to undeclared {target!r}")
        self.outcomes = tuple(sorted(exits))
        self.title = self.title or f"flow {self.name}"

    async def run(self, call: Any) -> str:
        state = self.start
        for _ in range(500):  # a flow that never ends is a bug, not a long call
            node = self.nodes[state]
            call.note("flow", flow=self.name, step=state)
            outcome = await node.step.run(call)
            target = node.on.get(outcome) or node.on.get("*")
            if target is None:
                raise FlowError(f"{self.name}.{state}: unexpected outcome {outcome!r}")
            if target.startswith("@"):
                return target[1:]
            state = target
        raise FlowError(f"{self.name}: more than 500 steps, stopping")

    def describe(self, indent: str = "") -> str:
        lines = [f"{indent}{self.title} [{self.name}], starts at {self.start}"]
        for state, node in self.nodes.items():
            arrows = ", ".join(f"{o} → {t}" for o, t in node.on.items())
            lines.append(f"{indent}  {state}: {node.step.title}; {arrows}")
        return "\n".join(lines)


# ---- generic steps ------------------------------------------------------------------------


@dataclass(frozen=True)
class Decide:
    """Branches on a condition of the call, without talking."""

    title: str
    decide: Callable[[Any], Awaitable[str] | str]
    outcomes: tuple[str, ...]

    async def run(self, call: Any) -> str:
        result = self.decide(call)
        if not isinstance(result, str):
            result = await result
        return result


@dataclass(frozen=True)
class Do:
    """Runs an action (a lookup, a booking) that returns one of its declared outcomes."""

    title: str
    action: Callable[[Any], Awaitable[str]]
    outcomes: tuple[str, ...] = ("done",)

    async def run(self, call: Any) -> str:
        outcome = await self.action(call)
        if outcome not in self.outcomes:
            raise FlowError(f"{self.title}: returned undeclared outcome {outcome!r}")
        return outcome


@dataclass(frozen=True)
class Say:
    """Plays prompts (names, or a function of the call giving sound names)."""

    title: str
    sounds: tuple[str, ...] | Callable[[Any], list[str]]
    outcomes: tuple[str, ...] = ("done",)

    async def run(self, call: Any) -> str:
        sounds = self.sounds(call) if callable(self.sounds) else list(self.sounds)
        await call.say(sounds)
        return "done"


@dataclass(frozen=True)
class Preface:
    """Sounds said at the start of the next question (one command: no key lost in between)."""

    title: str
    sounds: tuple[str, ...]
    outcomes: tuple[str, ...] = ("done",)

    async def run(self, call: Any) -> str:
        call.preface(list(self.sounds))
        return "done"


@dataclass(frozen=True)
class Menu:
    """Asks for one choice. A key now; a spoken answer later maps to the same options.

    No input → "you did not choose" and the question again; an invalid key → "no such
    option" and again; after `retries` re-prompts the outcome is `fail` — the flow decides
    what a failed menu means (operator in hours, callback out of hours), never dead air.
    """

    title: str
    prompt: str | Callable[[Any], list[str]]
    options: Mapping[str, str]  # key -> outcome
    retries: int = 2
    timeout_ms: int = 5000
    outcomes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcomes", tuple(dict.fromkeys([*self.options.values(), "fail"])))

    async def run(self, call: Any) -> str:
        preface: list[str] = []
        for attempt in range(self.retries + 1):
            prompt = self.prompt(call) if callable(self.prompt) else [self.prompt]
            # "You did not choose" and the question again are one prompt: a key pressed at
            # any moment of it counts.
            answer = await call.ask([*preface, *prompt], max_digits=1, timeout_ms=self.timeout_ms)
            if answer in self.options:
                call.note("choice", menu=self.title, key=answer, outcome=self.options[answer])
                return self.options[answer]
            call.note("choice", menu=self.title, key=answer or None, outcome="invalid" if answer else "no_input",
                      attempt=attempt + 1)
            preface = ["hotline:invalid_choice" if answer else "hotline:no_input"]
        return "fail"
