"""One call as the flows see it: ask, say, note, and what is known about the caller.

`ask` takes keys now; the speech issue adds a spoken answer behind the same call, so every
menu and question accepts both without the flows changing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from base.clock import Clock, SystemClock
from ivr.services import AccountView, IvrData
from speech.engine import Expect
from telephony.agi import AgiHangup

log = logging.getLogger("ivr.context")

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


@dataclass(frozen=True)
class Heard:
    """What a voice question heard (FlowCall.listen).

    kind: ``speech`` (recognised: `value`, `confidence`, `text`, `zones`), ``keys`` (the
    caller used the keypad: `keys`), ``no_input``, ``overload`` (speech was heard but could not
    be recognised in time: ask again with the keypad) or ``hangup`` (noted in the trail; the
    flow ends with AgiHangup as with `ask`).
    """

    kind: str
    keys: str = ""
    value: str | None = None
    confidence: float = 0.0
    text: str = ""
    zones: dict[str, str] | None = None
    utterance_id: int | None = None


@dataclass
class FlowCall:
    agi: Any
    linkedid: str
    caller: str
    sounds: str
    notes: Notes
    data: IvrData
    operators_open: Callable[[], bool]
    book_callback: Callable[[FlowCall, str], Any]  # async (call, source) -> CallbackResult
    queue: QueueOptions = field(default_factory=QueueOptions)
    latency: Latency | None = None
    # Time is injected (base.clock): "today" for readings, "now" for outages and balance dates.
    clock: Clock = field(default_factory=SystemClock)
    timezone: str = "Europe/Moscow"  # the region's, for callers not identified yet
    # () -> (the operators' schedule, the next opening) or None when the hours cannot be read
    operator_hours: Callable[[], tuple[Any, Any] | None] | None = None
    identity: Any = None  # ivr.identification.IdentificationGuard: attempts and lockouts
    voice: Any = None  # ivr.handlers.VoiceQuestions: None or unavailable -> keys only
    faq: Any = None  # ivr.faq.FaqStore: the FAQ content file's answers (ivr.smart)
    account: AccountView | None = None
    # working state of the flows, reset where they start over
    counters: dict[str, int] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)
    _input_at: float | None = None
    _preface: list[str] = field(default_factory=list)
    _step: str = ""  # the flow's last step noted: names the question of an utterance
    _utterances: int = 0

    # -- trail -------------------------------------------------------------------------------

    def note(self, kind: str, **data: Any) -> None:
        if kind == "flow" and data.get("step"):
            self._step = str(data["step"])
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

    async def listen(self, prompt: list[str], expect: Expect, *, context: Any = None,
                     max_digits: int = 1, timeout_ms: int = 5000, question: str = "") -> Heard:
        """Ask by voice: play `prompt` and take a spoken answer (barge-in allowed) or keys
        (ended like `ask`). Speech off, no engine, or a prompt with no audio here: asked with
        `ask` (keys only), the trail says why. The utterance is kept for audit
        (speech_utterances); a hangup raises AgiHangup once it is kept."""
        from speech.listen import Question
        from speech.prompt_audio import PromptMissing

        question = question or self._step or "question"
        voice = self.voice
        if voice is None or not voice.available:
            reason = voice.reason if voice is not None else "speech is not set up"
            return await self._keys_instead(prompt, max_digits, timeout_ms, question, reason)
        names = [*self._preface, *prompt]
        try:
            pcm = voice.prompts.joined(names)
        except PromptMissing as exc:
            log.error("voice question %s: %s", question, exc)
            return await self._keys_instead(prompt, max_digits, timeout_ms, question,
                                            "prompt audio missing")
        self._preface = []
        self._responded()
        listened = await voice.ask(self.agi, Question(pcm, max_digits, timeout_ms, voice.vad_for(expect)))
        if listened is None:
            return await self._keys_instead(names, max_digits, timeout_ms, question,
                                            "audio stream failed")
        base = {"question": question, "expect": str(expect), "barged_in": listened.barged_in,
                "played_ms": listened.played_ms, "prompt_ms": listened.prompt_ms}
        if listened.kind in ("keys", "no_input"):
            self.note("speech", **base, heard=listened.kind, ended_by=listened.ended_by)
            self._input_at = time.monotonic() if listened.keys else None
            return Heard(listened.kind, keys=listened.keys)
        if listened.kind == "hangup" and not listened.audio:
            self.note("speech", **base, heard="hangup", utterance_id=None)
            raise AgiHangup(f"{self.linkedid}: the caller hung up during a voice question")
        self._utterances += 1
        kept = await voice.service.recognise_and_keep(
            linkedid=self.linkedid, n=self._utterances, question=question, expect=expect,
            context=context, pcm=listened.audio, ended_by=listened.ended_by,
            speech_end_at=listened.speech_end_at, recognise=listened.kind == "speech")
        if listened.kind == "hangup":
            self.note("speech", **base, heard="hangup", utterance_id=kept.utterance_id)
            raise AgiHangup(f"{self.linkedid}: the caller hung up during a voice question")
        rec = kept.recognition
        if rec is None:
            self.note("speech", **base, heard="overload", outcome=kept.outcome,
                      utterance_id=kept.utterance_id, fallback="keys")
            return Heard("overload", utterance_id=kept.utterance_id)
        # account numbers are not written into the trail whole
        shown = rec.value if expect != Expect.NUMBER or rec.value is None else \
            f"…{rec.value[-2:]} ({len(rec.value)} digits)"
        self.note("speech", **base, heard="speech", ended_by=listened.ended_by, value=shown,
                  confidence=round(rec.confidence, 3), ms=round(kept.recognition_ms or rec.ms),
                  engine=rec.engine, utterance_id=kept.utterance_id)
        log.info("voice question %s (%s): recognised in %.0f ms from the end of speech "
                 "(engine %s, confidence %.2f; prompt played %d of %d ms)", question, expect,
                 kept.recognition_ms or rec.ms, rec.engine, rec.confidence, listened.played_ms,
                 listened.prompt_ms)
        self._input_at = time.monotonic()
        return Heard("speech", value=rec.value, confidence=rec.confidence, text=rec.text,
                     zones=rec.zones, utterance_id=kept.utterance_id)

    async def _keys_instead(self, prompt: list[str], max_digits: int, timeout_ms: int,
                            question: str, reason: str) -> Heard:
        self.note("speech", question=question, heard="unavailable", reason=reason[:200],
                  fallback="keys")
        keys = await self.ask(prompt, max_digits, timeout_ms)
        return Heard("keys" if keys else "no_input", keys=keys)
