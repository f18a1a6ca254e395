"""One call as the flows see it: ask, say, note, and what is known about the caller.

`ask` takes keys now; the speech issue adds a spoken answer behind the same call, so every
menu and question accepts both without the flows changing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ivr.services import AccountView, IvrData

ALL_KEYS = "0123456789*#"


class Notes(Protocol):
    def note(self, linkedid: str, kind: str, **data: Any) -> None: ...  # noqa: E704


class Latency(Protocol):
    def record(self, ms: float) -> None: ...  # noqa: E704


@dataclass
class QueueOptions:
    name: str = "operators"
    offer_callback_after_s: int = 40  # the seeds' target: answer within 40 s
    long_queue: int = 5  # this many callers already waiting: offer a callback at once


@dataclass
class FlowCall:
    agi: Any
    linkedid: str
    caller: str
    sounds: str
    notes: Notes
    data: IvrData
    operators_open: Callable[[], bool]
    book_callback: Callable[["FlowCall", str], Any]  # async (call, source) -> bool
    queue: QueueOptions = field(default_factory=QueueOptions)
    latency: Latency | None = None
    account: AccountView | None = None
    # working state of the flows, reset where they start over
    counters: dict[str, int] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)
    _input_at: float | None = None

    # -- trail -------------------------------------------------------------------------------

    def note(self, kind: str, **data: Any) -> None:
        self.notes.note(self.linkedid, kind, **data)

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

    async def say(self, sounds: list[str]) -> None:
        if not sounds:
            return
        self._responded()
        await self.agi.exec("Playback", "&".join(self.resolve(s) for s in sounds))

    async def ask(self, prompt: list[str], max_digits: int = 1, timeout_ms: int = 5000) -> str:
        """Play `prompt` (interruptible by a key) and collect up to `max_digits` keys ('#' ends).

        Returns the keys ('' when none came in time).
        """
        self._responded()
        parts = [self.resolve(s) for s in prompt] or ["silence/1"]
        pressed = ""
        for part in parts[:-1]:
            digit = await self.agi.stream_file(part, escape_digits=ALL_KEYS)
            if digit:
                pressed = digit
                break
        if pressed:
            if pressed == "#" or max_digits == 1:
                result = "" if pressed == "#" else pressed
            else:
                result = pressed + await self.agi.get_data("silence/1", timeout_ms, max_digits - 1)
        else:
            result = await self.agi.get_data(parts[-1], timeout_ms, max_digits)
        self._input_at = time.monotonic() if result else None
        return result
