"""One call as the flows see it: ask, say, note, and what is known about the caller.

`ask` takes keys now; the speech issue adds a spoken answer behind the same call, so every
menu and question accepts both without the flows changing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Any, Callable, Protocol

from base.clock import Clock, SystemClock
from ivr.services import AccountView, IvrData

ALL_KEYS = "0123456789*#"
INPUT_VAR = "HOTLINE_INPUT"


class Notes(Protocol):
    def note(self, linkedid: str, kind: str, **data: Any) -> None: ...  # noqa: E704


class Latency(Protocol):
    def record(self, ms: float) -> None: ...  # noqa: E704


@dataclass
class QueueOptions:
    name: str = "operators"
    long_queue: int = 5  # this many callers already waiting: offer a callback at once
    # The longest wait in the queue, in one go: the caller keeps their place throughout, and
    # the queue's periodic announcement offers the callback (key 1, dialplans/queues.conf.j2);
    # after it, an apology and the callback offer once more.
    max_wait_s: int = 300


@dataclass
class FlowCall:
    agi: Any
    linkedid: str
    caller: str
    sounds: str
    notes: Notes
    data: IvrData
    operators_open: Callable[[], bool]
    book_callback: Callable[["FlowCall", str], Any]  # async (call, source) -> CallbackResult
    queue: QueueOptions = field(default_factory=QueueOptions)
    latency: Latency | None = None
    # Time is injected (base.clock): "today" for readings, "now" for outages and balance dates.
    clock: Clock = field(default_factory=SystemClock)
    timezone: str = "Europe/Moscow"  # the region's, for callers not identified yet
    # () -> (the operators' schedule, the next opening) or None when the hours cannot be read
    operator_hours: Callable[[], tuple[Any, Any] | None] | None = None
    identity: Any = None  # ivr.identification.IdentificationGuard: attempts and lockouts
    account: AccountView | None = None
    # working state of the flows, reset where they start over
    counters: dict[str, int] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)
    _input_at: float | None = None
    _preface: list[str] = field(default_factory=list)

    # -- trail -------------------------------------------------------------------------------

    def note(self, kind: str, **data: Any) -> None:
        self.notes.note(self.linkedid, kind, **data)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """The local date: the identified account's time zone, else the region's."""
        tz = self.account.timezone if self.account is not None else self.timezone
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo(self.timezone)
        return self.now().astimezone(zone).date()

    def count(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    # -- sound -------------------------------------------------------------------------------

    def resolve(self, name: str) -> str:
        """`hotline:x` is one of our prompts; anything else is a sound of Asterisk's pack."""
        if name.startswith("hotline:"):
            return f"{self.sounds}/{name.removeprefix('hotline:')}"
        return name

    def _responded(self) -> None:
        """The caller's key was answered by the next prompt: how long did they wait?"""
        if self._input_at is not None and self.latency is not None:
            self.latency.record((time.monotonic() - self._input_at) * 1000)
        self._input_at = None

    def preface(self, sounds: list[str]) -> None:
        """Sounds to say right before the next question, in the same command (see `ask`)."""
        self._preface += sounds

    async def say(self, sounds: list[str]) -> None:
        sounds = [*self._preface, *sounds]
        self._preface = []
        if not sounds:
            return
        self._responded()
        await self.agi.exec("Playback", "&".join(self.resolve(s) for s in sounds))

    async def ask(self, prompt: list[str], max_digits: int = 1, timeout_ms: int = 5000) -> str:
        """Play `prompt` (interruptible by the first key) and collect up to `max_digits` keys
        ('#' ends). Returns the keys ('' when none came in time).

        One AGI command for the whole question (Asterisk's Read with the parts joined by '&'):
        Asterisk drops keys pressed between two AGI commands, so a question made of several
        files played one command each would lose a key pressed at the seam — which under load
        is exactly when callers who know the menu press.
        """
        self._responded()
        prompt = [*self._preface, *prompt]
        self._preface = []
        parts = "&".join(self.resolve(s) for s in prompt) or "silence/1"
        await self.agi.exec("Read", f"{INPUT_VAR},{parts},{max_digits},,1,{timeout_ms / 1000:g}")
        result = (await self.agi.get_variable(INPUT_VAR)) or ""
        result = "".join(ch for ch in result if ch in ALL_KEYS)
        self._input_at = time.monotonic() if result else None
        return result
