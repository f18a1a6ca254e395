"""A real FlowCall whose voice questions are answered from a script (pure flow logic: no PBX,
no engine). Each answer is keys (a str) or a spoken `Heard`; the prompts of every question
are recorded with how they were asked (voice or keys)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from base.clock import FixedClock
from ivr.context import FlowCall, Heard
from ivr.readings import Previous
from ivr.services import AccountView, CallbackResult, MeterView

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 12:00 in Kirov


def said(value: str | None, confidence: float = 0.9, text: str = "", zones: dict | None = None) -> Heard:
    return Heard("speech", value=value, confidence=confidence, text=text or str(value), zones=zones)


SILENCE = Heard("no_input")
OVERLOAD = Heard("overload")


class FakeAgi:
    async def exec(self, app: str, args: str) -> None:
        raise AssertionError(f"no AGI expected here: {app}({args})")

    async def get_variable(self, name: str) -> str:
        return "0" if name.startswith("QUEUE_WAITING_COUNT") else ""


@dataclass
class Voice:
    available: bool = True
    reason: str = ""


@dataclass
class Notes:
    items: list[tuple[str, dict]] = field(default_factory=list)

    def note(self, linkedid: str, kind: str, **data: Any) -> None:
        self.items.append((kind, data))

    def of(self, kind: str) -> list[dict]:
        return [d for k, d in self.items if k == kind]


class FakeData:
    def __init__(self, accounts: list[AccountView]) -> None:
        self.accounts = accounts
        self.stored: list[tuple] = []

    async def run(self, fn, *args):  # type: ignore[no-untyped-def]
        return fn(*args)

    def accounts_by_phone(self, phone: str) -> list[AccountView]:
        return self.accounts

    def account_by_number(self, number: str) -> AccountView | None:
        return next((a for a in self.accounts if a.number == number), None)

    def link_call(self, linkedid: str, account_id: int) -> None:
        pass

    def store_reading(self, meter_id: int, zone: str, value: int, linkedid: str, by: str,
                      source: str = "ivr_dtmf") -> int:
        self.stored.append((zone, value, str(source)))
        return len(self.stored)


class Identity:
    """Identification guard: never locked; records what was recorded."""

    def __init__(self) -> None:
        self.recorded: list[str] = []

    async def locked(self, phone: str, ids: Any) -> None:
        return None

    async def record(self, phone: str, linkedid: str, method: Any, result: Any, ids: Any = ()) -> None:
        self.recorded.append(str(getattr(result, "value", result)))


class ScriptedCall(FlowCall):
    """`listen` and `ask` answered from `script`; `asked` holds (how, prompt) per question."""

    script: list[str | Heard]
    asked: list[tuple[str, list[str]]]
    said_: list[list[str]]

    def _next(self) -> str | Heard:
        assert self.script, f"the flow asked more than scripted: {self.asked[-1]}"
        return self.script.pop(0)

    async def listen(self, prompt: list[str], expect: Any, *, context: Any = None, max_digits: int = 1,
                     timeout_ms: int = 5000, question: str = "") -> Heard:
        names = [*self._preface, *prompt]
        self._preface = []
        self.asked.append((f"voice:{expect}", names))
        self.contexts.append(context)
        answer = self._next()
        if isinstance(answer, str):  # '#' ends the keys, as Asterisk's Read: not part of them
            keys = answer.rstrip("#")
            return Heard("keys", keys=keys) if keys else SILENCE
        return answer

    async def ask(self, prompt: list[str], max_digits: int = 1, timeout_ms: int = 5000) -> str:
        names = [*self._preface, *prompt]
        self._preface = []
        self.asked.append(("keys", names))
        answer = self._next()
        assert isinstance(answer, str), f"a keypad question got speech: {names}"
        return answer.rstrip("#")

    async def say(self, sounds: list[str]) -> None:
        names = [*self._preface, *sounds]
        self._preface = []
        if names:
            self.said_.append(names)

    def steps(self) -> list[str]:
        return [d["step"] for d in self.notes.of("flow")]  # type: ignore[attr-defined]

    def prompts(self) -> list[str]:
        return [s for _, p in self.asked for s in p]


METER = MeterView(11, "000123", "single", 6, ("total",), {"total": Previous(Decimal(12345), date(2026, 11, 1))})
TWO_ZONE = MeterView(12, "000456", "two_zone", 6, ("day", "night"),
                     {"day": Previous(Decimal(5000), date(2026, 11, 1)),
                      "night": Previous(Decimal(2000), date(2026, 11, 1))})


def account(*meters: MeterView, number: str = "430100000011") -> AccountView:
    return AccountView(1, number, "Europe/Kirov", Decimal("-100.00"), date(2026, 11, 30), meters)


def make_call(script: list[str | Heard], *, meters: tuple[MeterView, ...] = (METER,), voice: bool = True,
              open_: bool = True, identified: bool = False, hours: Any = None, faq: Any = None,
              booked: list[str] | None = None) -> ScriptedCall:
    acc = account(*meters)
    booked = booked if booked is not None else []

    async def book(call: Any, source: str) -> CallbackResult:
        booked.append(source)
        return CallbackResult("created", 1)

    call = ScriptedCall(agi=FakeAgi(), linkedid="l-1", caller="79990000001", sounds="S", notes=Notes(),
                        data=FakeData([acc]), operators_open=lambda: open_, book_callback=book,
                        clock=FixedClock(NOW), timezone="Europe/Kirov", operator_hours=hours,
                        identity=Identity(), account=acc if identified else None)
    call.script = list(script)
    call.asked = []
    call.said_ = []
    call.contexts = []  # type: ignore[attr-defined]
    call.voice = Voice(available=voice)
    call.faq = faq  # type: ignore[attr-defined]
    call.booked = booked  # type: ignore[attr-defined]
    return call
