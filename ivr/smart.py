"""The Smart IVR: the voice front door of the hotline, and the voice steps every flow uses.

Out of hours the Smart IVR greets the caller (after the disclosure and the configured hours):
they say in free speech what they need, or press the menu's keys as before. In hours the main
menu takes speech the same way (ivr.hotline.HOTLINE). What a spoken request leads to:
- readings, balance (only after identification), outages, a callback: the same flows as the
  keys;
- the operator: the queue in hours; out of hours a callback offer, never the queue;
- tariffs and payment: answers from the FAQ content file (ivr.faq), hours from the operators'
  configured schedule (ivr.telling.hours_sounds) — never a guess, and no answer when the file
  has none (the caller is offered the operator or a callback instead);
- not understood: one clarifying question, then the keypad menu.

Every question goes through `hear`: `FlowCall.listen` when the call has a voice path (speech
with keys, barge-in), else keys only (`FlowCall.ask`); a caller who only presses keys goes
through exactly as before. Speech is taken only at `CONFIDENT[expect]` or above; below it
the caller is asked again, never taken at a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.flow import Do, FlowDef, Menu, Node
from ivr.telling import hours_sounds
from speech.engine import Expect
from speech.understanding import RECOMMENDED_THRESHOLD
from telephony.agi import AgiHangup

log = logging.getLogger("ivr.smart")

# Speech below this confidence (speech.understanding's 0..1, per what was expected) is asked
# again, not acted on: the understanding module's thresholds, measured on its dev split.
CONFIDENT = dict(RECOMMENDED_THRESHOLD)


def confident(reply: Reply, expect: Expect) -> bool:
    return reply.kind == "speech" and reply.confidence >= CONFIDENT.get(expect, 0.5)

# What each understood intent (speech.engine.INTENTS) leads to in the menus' tables.
INTENT_OUTCOMES: dict[str, str] = {
    "readings": "readings", "balance": "balance", "outage": "outages", "callback": "callback",
    "operator": "operator", "tariffs": "tariffs", "payment": "payment", "hours": "hours",
}
YES_NO = {"yes": "yes", "no": "no"}

# The menus' keys, as before speech.
MAIN_KEYS = {"1": "readings", "2": "balance", "3": "outages", "4": "callback", "0": "operator"}
AFTER_HOURS_KEYS = {"1": "readings", "2": "balance", "3": "outages", "4": "callback"}


# ---- one question, by voice or keys ---------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What one question got (the voice path's `Heard`, or keys only)."""

    kind: str  # speech | keys | no_input | overload
    keys: str = ""
    value: str | None = None
    confidence: float = 0.0
    text: str = ""
    zones: dict[str, str] | None = None
    utterance_id: int | None = None



def voice_on(call: Any) -> bool:
    """Can this call answer by voice? (FlowCall.voice attached and its engine available)"""
    voice = getattr(call, "voice", None)
    return callable(getattr(call, "listen", None)) and voice is not None and bool(
        getattr(voice, "available", False))


async def hear(call: Any, prompt: list[str], expect: Expect, *, context: Any = None,
               max_digits: int = 1, timeout_ms: int = 5000, keys_only: bool = False) -> Reply:
    """Ask one question: speech or keys when the call has a voice path, else keys only.
    A hangup while answering ends the flow (AgiHangup), like a hangup during `ask`."""
    if keys_only or not voice_on(call):
        keys = await call.ask(prompt, max_digits=max_digits, timeout_ms=timeout_ms)
        return Reply("keys" if keys else "no_input", keys)
    heard = await call.listen(prompt, expect, context=context, max_digits=max_digits,
                              timeout_ms=timeout_ms)
    if heard.kind == "hangup":
        raise AgiHangup("the caller hung up while answering")
    # FlowCall.listen notes what it heard in the trail (account digits masked)
    return Reply(heard.kind, heard.keys or "", heard.value, float(heard.confidence or 0.0),
                 heard.text or "", heard.zones, heard.utterance_id)


# ---- a menu that takes keys and speech ------------------------------------------------------


@dataclass(frozen=True)
class VoiceMenu:
    """A menu answered by a key (`options`) or by speech understood as one of `said`.

    Keys behave exactly as `ivr.flow.Menu`: no input → "you did not choose" and again, an
    invalid key → "no such option" and again, after `retries` → `fail`. Speech:
    - understood (confidence ≥ CONFIDENT) as one of `said` → that outcome;
    - not understood, unsure, or recognition overloaded → the `unclear` outcome when the
      table has one (a clarifying question, the keypad menu), else asked again like an
      invalid key ("I did not catch that").
    With speech on, the prompt gains an invitation to speak (`invite`) after it.
    """

    title: str
    prompt: str | Callable[[Any], list[str]]
    options: Mapping[str, str]  # key -> outcome
    said: Mapping[str, str]  # understood value -> outcome
    expect: Expect = Expect.INTENT
    invite: str | None = "hotline:smart_or_say"
    unclear: str | None = "unclear"
    retries: int = 2
    timeout_ms: int = 5000
    outcomes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        extra = [self.unclear] if self.unclear else []
        outcomes = [*self.options.values(), *self.said.values(), *extra, "fail"]
        object.__setattr__(self, "outcomes", tuple(dict.fromkeys(outcomes)))

    async def run(self, call: Any) -> str:
        preface: list[str] = []
        for attempt in range(self.retries + 1):
            prompt = self.prompt(call) if callable(self.prompt) else [self.prompt]
            if self.invite and voice_on(call):
                prompt = [*prompt, self.invite]
            reply = await hear(call, [*preface, *prompt], self.expect, timeout_ms=self.timeout_ms)
            if reply.kind == "keys" and reply.keys in self.options:
                outcome = self.options[reply.keys]
                call.note("choice", menu=self.title, key=reply.keys, outcome=outcome)
                return outcome
            if reply.kind in ("keys", "no_input"):
                call.note("choice", menu=self.title, key=reply.keys or None,
                          outcome="invalid" if reply.keys else "no_input", attempt=attempt + 1)
                preface = ["hotline:invalid_choice" if reply.keys else "hotline:no_input"]
                continue
            if confident(reply, self.expect) and reply.value in self.said:
                outcome = self.said[reply.value]  # type: ignore[index]
                call.note("choice", menu=self.title, said=reply.value, outcome=outcome,
                          confidence=round(reply.confidence, 3))
                return outcome
            why = "overload" if reply.kind == "overload" else (
                "unsure" if reply.value is not None else "not_understood")
            call.note("choice", menu=self.title, said=reply.value, outcome=why, attempt=attempt + 1)
            if self.unclear:
                return self.unclear
            preface = ["hotline:speech_use_keys" if why == "overload" else "hotline:speech_not_understood"]
        return "fail"


# ---- answers the robot gives itself ---------------------------------------------------------


def tell_faq(topic: str) -> Callable[[Any], Any]:
    """Say the FAQ file's answer on `topic`; `none` when the file has none (never made up)."""

    async def tell(call: Any) -> str:
        faq = getattr(call, "faq", None)
        answer = None
        if faq is not None:
            try:
                answer = await faq.current(topic)
            except Exception:  # logged; the caller is offered help instead
                log.exception("FAQ answer on %s could not be read", topic)
        call.note("faq", topic=topic, told=answer is not None)
        if answer is None:
            call.preface(["hotline:faq_none"])
            return "none"
        await call.say([answer.sound])
        return "told"

    return tell


async def tell_hours(call: Any) -> str:
    """The operators' hours as configured (ivr.telling.hours_sounds), said as they stand now:
    open now, or closed with the next opening; when the schedule cannot be read, only that."""
    info = None
    if call.operator_hours is not None:
        try:
            info = call.operator_hours()
        except Exception:  # said as unavailable, logged
            log.exception("operators' hours could not be read for a spoken question")
    schedule, next_opening = info if info is not None else (None, None)
    try:
        open_now = bool(call.operators_open())
    except Exception:  # fail closed, as ivr.hotline.in_hours
        log.exception("operators' hours could not be checked: taken as closed")
        open_now = False
    if schedule is not None and open_now:
        sounds = ["hotline:hours_open_now", *hours_sounds(schedule, None)[1:]]
    else:
        sounds = hours_sounds(schedule, next_opening)
    call.note("hours", told="schedule" if schedule is not None else "unavailable", asked=True,
              open_now=open_now)
    await call.say(sounds)
    return "done"


# ---- the Smart IVR out of hours -------------------------------------------------------------


def _after_hours_menu(title: str, prompt: str, **kw: Any) -> VoiceMenu:
    return VoiceMenu(title, prompt, AFTER_HOURS_KEYS, INTENT_OUTCOMES, **kw)


_SMART_EXITS = {"readings": "@readings", "balance": "@balance", "outages": "@outages",
                "callback": "@callback", "operator": "@operator", "tariffs": "faq_tariffs",
                "payment": "faq_payment", "hours": "hours"}

SMART = FlowDef(
    "smart",
    title="Smart IVR: голосовой помощник в нерабочее время (речь или кнопки)",
    start="ask",
    nodes={
        "ask": Node(_after_hours_menu("Меню в нерабочее время (Smart IVR)", "hotline:menu_after_hours"),
                    {**_SMART_EXITS, "unclear": "clarify", "fail": "@fail"}),
        "clarify": Node(_after_hours_menu("Уточняющий вопрос (Smart IVR)", "hotline:smart_clarify",
                                          invite=None, retries=0),
                        {**_SMART_EXITS, "unclear": "keypad", "fail": "keypad"}),
        "keypad": Node(Menu("Меню в нерабочее время (кнопки)", "hotline:menu_after_hours", AFTER_HOURS_KEYS),
                       {"readings": "@readings", "balance": "@balance", "outages": "@outages",
                        "callback": "@callback", "fail": "@fail"}),
        "faq_tariffs": Node(Do("Ответ о тарифах (файл ответов)", tell_faq("tariffs"), ("told", "none")),
                            {"told": "@done", "none": "@no_answer"}),
        "faq_payment": Node(Do("Ответ об оплате (файл ответов)", tell_faq("payment"), ("told", "none")),
                            {"told": "@done", "none": "@no_answer"}),
        "hours": Node(Do("Часы работы операторов (по расписанию)", tell_hours), {"done": "@done"}),
    },
)

__all__ = ["AFTER_HOURS_KEYS", "CONFIDENT", "INTENT_OUTCOMES", "MAIN_KEYS", "SMART", "YES_NO",
           "Reply", "VoiceMenu", "confident", "hear", "tell_faq", "tell_hours", "voice_on"]
