"""The hotline flow, declared: what a caller goes through after the recording disclosure.

Read `HOTLINE.describe()` (or `hotline flows`) for the whole table. The steps' actions below
do the talking and the lookups; the tables decide where each answer leads.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from ivr.context import FlowCall
from ivr.flow import Decide, Do, FlowDef, Menu, Node, Preface, Say
from ivr.identification import TAIL_DIGITS, match_tail
from ivr.models import IdMethod, IdResult
from ivr.readings import check_reading
from ivr.say_ru import date_sounds, digits_sounds, number_sounds, reading_sounds
from ivr.services import AccountView
from ivr.smart import (
    INTENT_OUTCOMES,
    MAIN_KEYS,
    SMART,
    Reply,
    VoiceMenu,
    confident,
    hear,
    tell_faq,
    tell_hours,
    voice_on,
)
from ivr.telling import balance_told, hours_sounds, outages_told
from speech.engine import Expect
from telephony.agi import AgiError

log = logging.getLogger("ivr.hotline")

ACCOUNT_MIN, ACCOUNT_MAX = 6, 20
ID_ATTEMPTS = 3
ENTRY_ATTEMPTS = 4
VOICE_FAILURES = 2  # failed spoken answers to one kind of question before the keypad alone


def _voice_left(call: FlowCall, kind: str) -> bool:
    """May this question still be answered by voice? (speech on, fewer than VOICE_FAILURES)"""
    return voice_on(call) and call.counters.get(f"voice_failed:{kind}", 0) < VOICE_FAILURES


def _voice_failed(call: FlowCall, kind: str, reply: Reply) -> list[str]:
    """Count a failed spoken answer; what to say before the question is asked again."""
    failures = call.count(f"voice_failed:{kind}")
    if reply.kind == "overload":
        call.counters[f"voice_failed:{kind}"] = VOICE_FAILURES  # no waiting: keys at once
        return ["hotline:speech_use_keys"]
    reason = "hotline:no_input" if reply.kind == "no_input" else "hotline:speech_not_understood"
    if failures >= VOICE_FAILURES:
        call.note("speech", fallback="keys", question=kind)
        return [reason, "hotline:speech_use_keys"]
    return [reason]


def _spoken_digits(reply: Reply) -> str | None:
    """The digits of a confident spoken number, else None (asked again, not guessed)."""
    if confident(reply, Expect.NUMBER) and reply.value and reply.value.isdigit():
        return reply.value
    return None


def _tail_sounds(tail: str) -> list[str]:
    return digits_sounds(tail) if tail.startswith("0") else number_sounds(int(tail))


# ---- identification -----------------------------------------------------------------------
#
# The caller proves knowledge of the account (ivr.identification): the last four digits of the
# account their number is on, or the whole account number. Nothing of the account is said
# before that; wrong guesses are counted across calls, per number and per account, and a
# lockout refuses identification by phone for a while.


async def by_caller_number(call: FlowCall) -> str:
    if call.account is not None:
        return "known"
    call.counters.pop("id", None)
    accounts = await call.data.run(call.data.accounts_by_phone, call.caller) if call.caller else []
    call.scratch["candidates"] = {a.id: a for a in accounts}
    if await _refused(call, [a.id for a in accounts]):
        return "locked"
    return "ask_tail" if accounts else "ask_number"


async def _refused(call: FlowCall, account_ids: list[int]) -> bool:
    """Is this number, or one of these accounts, locked out now? (noted in the trail)"""
    lock = await call.identity.locked(call.caller, account_ids)
    if lock is None:
        return False
    call.note("identification", result="locked", subject=str(lock.subject))
    return True


async def _identified(call: FlowCall, how: str) -> None:
    assert call.account is not None
    call.note("identified", how=how, account_id=call.account.id)
    await call.data.run(call.data.link_call, call.linkedid, call.account.id)


async def _wrong(call: FlowCall, method: IdMethod, account_ids: list[int], result: str) -> bool:
    """Record a wrong guess; True when it tripped a lockout (recorded, noted)."""
    call.note("identification", result=result, attempt=call.counters.get("id", 0))
    lock = await call.identity.record(call.caller, call.linkedid, method, IdResult.WRONG, account_ids)
    if lock is not None:
        call.note("identification", result="locked_out", subject=str(lock.subject),
                  until=lock.until.isoformat())
        return True
    return False


async def _accept(call: FlowCall, account: AccountView, method: IdMethod, how: str) -> str:
    if await _refused(call, [account.id]):
        await call.identity.record(call.caller, call.linkedid, method, IdResult.REFUSED, [account.id])
        return "locked"
    await call.identity.record(call.caller, call.linkedid, method, IdResult.OK, [account.id])
    call.account = account
    await _identified(call, how)
    return "found"


async def _by_number(call: FlowCall, number: str) -> str | None:
    """A whole account number keyed in: 'found', 'locked', or None (a wrong guess, counted)."""
    account = await call.data.run(call.data.account_by_number, number)
    if account is not None:
        return await _accept(call, account, IdMethod.NUMBER, "account_number")
    if await _wrong(call, IdMethod.NUMBER, [], "not_found"):
        return "locked"
    return None


async def _retry_or_fail(call: FlowCall, attempt: int, reason: str) -> str:
    return await _retry_or_fail_all(call, attempt, [reason])


async def _retry_or_fail_all(call: FlowCall, attempt: int, reasons: list[str]) -> str:
    if attempt >= ID_ATTEMPTS:
        await call.say([*[r for r in reasons if r != "hotline:speech_use_keys"], "hotline:id_failed"])
        return "failed"
    call.preface(reasons)  # said together with the next question
    return "retry"


async def enter_tail(call: FlowCall) -> str:
    """The caller's number is on an account: key in its last four digits (or, after '*', the
    whole number; a whole number keyed in here counts as well)."""
    attempt = call.count("id")
    voice = _voice_left(call, "id")
    prompt = ["hotline:id_enter_tail", *(["hotline:id_or_say"] if voice else [])]
    reply = await hear(call, prompt, Expect.NUMBER, max_digits=ACCOUNT_MAX, timeout_ms=7000,
                       keys_only=not voice)
    keyed = reply.keys
    if voice and reply.kind != "keys":
        spoken = _spoken_digits(reply)
        if spoken is None:  # not a wrong guess: nothing checked against the accounts
            call.note("identification", result="not_understood" if reply.kind != "no_input" else "no_input",
                      attempt=attempt, by="voice")
            return await _retry_or_fail_all(call, attempt, _voice_failed(call, "id", reply))
        keyed = spoken
    candidates: dict[int, AccountView] = call.scratch["candidates"]
    if keyed.startswith("*"):
        call.counters["id"] -= 1  # a choice, not a guess
        return "ask_number"
    if len(keyed) == TAIL_DIGITS and keyed.isdigit():
        chosen = match_tail({i: a.number for i, a in candidates.items()}, keyed)
        if chosen is not None:
            return await _accept(call, candidates[chosen], IdMethod.TAIL, "last_digits")
        if await _wrong(call, IdMethod.TAIL, list(candidates), "wrong_tail"):
            return "locked"
        return await _retry_or_fail(call, attempt, "hotline:id_wrong_tail")
    if ACCOUNT_MIN <= len(keyed) <= ACCOUNT_MAX and keyed.isdigit():
        outcome = await _by_number(call, keyed)
        if outcome is not None:
            return outcome
        return await _retry_or_fail(call, attempt, "hotline:id_not_found")
    call.note("identification", result="bad_format" if keyed else "no_input", attempt=attempt)
    return await _retry_or_fail(call, attempt, "hotline:id_tail_format" if keyed else "hotline:no_input")


async def enter_account_number(call: FlowCall) -> str:
    attempt = call.count("id")
    voice = _voice_left(call, "id")
    prompt = ["hotline:id_enter", *(["hotline:id_or_say_number"] if voice else [])]
    reply = await hear(call, prompt, Expect.NUMBER, max_digits=ACCOUNT_MAX, timeout_ms=7000,
                       keys_only=not voice)
    number = reply.keys
    if voice and reply.kind != "keys":
        spoken = _spoken_digits(reply)
        if spoken is None:
            call.note("identification", result="not_understood" if reply.kind != "no_input" else "no_input",
                      attempt=attempt, by="voice")
            return await _retry_or_fail_all(call, attempt, _voice_failed(call, "id", reply))
        number = spoken
    if not (ACCOUNT_MIN <= len(number) <= ACCOUNT_MAX and number.isdigit()):
        call.note("identification", result="bad_format", attempt=attempt)
        reason = "hotline:id_bad_format" if number else "hotline:no_input"
    else:
        outcome = await _by_number(call, number)
        if outcome is not None:
            return outcome
        reason = "hotline:id_not_found"
    return await _retry_or_fail(call, attempt, reason)


IDENTIFY = FlowDef(
    "identify",
    title="Идентификация лицевого счёта (знание номера счёта)",
    start="by_phone",
    nodes={
        "by_phone": Node(Do("Найти счёт по номеру звонящего (ничего не сообщая)", by_caller_number,
                            ("known", "ask_tail", "ask_number", "locked")),
                         {"known": "@identified", "ask_tail": "enter_tail", "ask_number": "enter_number",
                          "locked": "locked"}),
        "enter_tail": Node(Do("Ввести последние 4 цифры номера счёта", enter_tail,
                              ("found", "retry", "failed", "locked", "ask_number")),
                           {"found": "@identified", "retry": "enter_tail", "failed": "@failed",
                            "locked": "locked", "ask_number": "enter_number"}),
        "enter_number": Node(Do("Ввести номер лицевого счёта", enter_account_number,
                                ("found", "retry", "failed", "locked")),
                             {"found": "@identified", "retry": "enter_number", "failed": "@failed",
                              "locked": "locked"}),
        "locked": Node(Say("Слишком много неверных попыток: проверка временно недоступна",
                           ("hotline:id_locked",)), {"done": "@failed"}),
    },
)


# ---- readings -----------------------------------------------------------------------------


def _meter(call: FlowCall):  # type: ignore[no-untyped-def]
    return call.scratch["meter"]


async def choose_meter(call: FlowCall) -> str:
    assert call.account is not None
    meters = call.account.meters
    if not meters:
        return "none"
    if len(meters) == 1:
        chosen = meters[0]
    else:
        prompt: list[str] = ["hotline:rd_choose_meter"]
        for i, m in enumerate(meters[:9], start=1):
            prompt += ["hotline:rd_meter_n", *_tail_sounds(m.serial[-2:]), "hotline:rd_press", *number_sounds(i)]
        chosen = None
        for attempt in range(3):
            key = await call.ask(prompt, max_digits=1)
            if key.isdigit() and 1 <= int(key) <= min(len(meters), 9):
                chosen = meters[int(key) - 1]
                break
            if attempt < 2:
                call.preface(["hotline:invalid_choice" if key else "hotline:no_input"])
        if chosen is None:
            return "fail"
    call.scratch.update(meter=chosen, zones=list(chosen.zones), zone_index=0)
    call.note("readings", event="meter", meter_id=chosen.id, tariff=chosen.tariff)
    return "chosen"


def reading_context(call: FlowCall, meter, zone: str):  # type: ignore[no-untyped-def]
    """What recognition may weigh a spoken reading against: the zone's previous reading, the
    days since, the meter's digits and zones (speech.understanding.ReadingContext)."""
    from speech.understanding import ReadingContext

    previous = meter.last.get(zone)
    days = None if previous is None else max((call.today() - previous.taken_on).days, 0)
    return ReadingContext(previous=None if previous is None else int(previous.value), days=days,
                          digits=meter.digits, zones=tuple(meter.zones) or ("total",))


_DECIMAL = re.compile(r"запят|десят|сотых|\d[.,]\d{1,2}(?!\d)")


def _spoken_reading(reply: Reply, zone: str) -> tuple[str, dict[str, str], bool] | None:
    """(this zone's whole kWh, the other zones said in the same breath, a decimal part was
    dropped) from a confident spoken reading; None when not one."""
    if not confident(reply, Expect.READING):
        return None
    zones = {z: v for z, v in (reply.zones or {}).items() if v}
    value = reply.value if reply.value is not None else zones.pop(zone, None)
    zones.pop(zone, None)
    if not value:
        return None
    whole = re.split(r"[.,]", value, maxsplit=1)[0]
    dropped = whole != value or bool(_DECIMAL.search(reply.text or ""))
    if not whole.isdigit():
        return None
    others = {z: re.split(r"[.,]", v, maxsplit=1)[0] for z, v in zones.items()}
    return whole, {z: v for z, v in others.items() if v.isdigit()}, dropped


async def enter_reading(call: FlowCall) -> str:
    """The zone's reading: spoken (read back and confirmed next) or keyed. Two failed spoken
    answers (not understood, unsure, silence) → the keypad; then the flow's help."""
    meter = _meter(call)
    zone = call.scratch["zones"][call.scratch["zone_index"]]
    if call.count(f"entry:{meter.id}:{zone}") > ENTRY_ATTEMPTS:
        return "fail"
    said_before = call.scratch.setdefault("spoken_zones", {}).pop(zone, None)
    if said_before is not None:  # "день … ночь …": this zone was said with the previous one
        call.scratch.update(entered=said_before, entered_by="voice", decimal_dropped=False)
        return "entered"
    for attempt in range(3):
        voice = _voice_left(call, "reading")
        invite = "hotline:rd_or_say_zones" if len(call.scratch["zones"]) > 1 else "hotline:rd_or_say"
        prompt = [f"hotline:rd_zone_{zone}", *([invite] if voice else [])]
        reply = await hear(call, prompt, Expect.READING, context=reading_context(call, meter, zone) if voice
                           else None, max_digits=meter.digits + 2, timeout_ms=8000, keys_only=not voice)
        if reply.kind == "keys":
            call.scratch.update(entered=reply.keys, entered_by="keys", decimal_dropped=False)
            return "entered"
        if voice:
            spoken = _spoken_reading(reply, zone)
            if spoken is not None:
                value, others, dropped = spoken
                later = call.scratch["zones"][call.scratch["zone_index"] + 1:]
                call.scratch["spoken_zones"] = {z: v for z, v in others.items() if z in later}
                call.scratch.update(entered=value, entered_by="voice", decimal_dropped=dropped)
                call.note("readings", event="spoken", zone=zone, value=value, decimal_dropped=dropped,
                          with_zones=sorted(call.scratch["spoken_zones"]))
                return "entered"
            reasons = _voice_failed(call, "reading", reply)
        else:
            reasons = ["hotline:no_input"]
        if attempt < 2:
            call.preface(reasons)
    return "fail"


def forget_spoken(call: FlowCall) -> str:
    """Entering again: zones said together with the rejected one are not kept either."""
    call.scratch["spoken_zones"] = {}
    return "done"


def check_format(call: FlowCall) -> str:
    meter = _meter(call)
    verdict = check_reading(call.scratch["entered"], None, call.today(), meter.digits)
    if verdict.kind != "ok":
        call.note("readings", event="rejected", reason=verdict.kind)
    return verdict.kind


def read_back_prompt(call: FlowCall) -> list[str]:
    """Always the value that will be stored: "you said" (with the zone on a multi-zone meter)
    or "you entered"; a spoken decimal part dropped is said so, with the whole kWh kept."""
    value = reading_sounds(int(call.scratch["entered"]))
    if call.scratch.get("entered_by") != "voice":
        return ["hotline:rd_you_entered", *value, "hotline:rd_confirm"]
    zone = call.scratch["zones"][call.scratch["zone_index"]]
    intro = ["hotline:rd_decimal_dropped"] if call.scratch.get("decimal_dropped") else ["hotline:rd_you_said"]
    if len(call.scratch["zones"]) > 1:
        intro.append(f"hotline:rd_of_zone_{zone}")
    return [*intro, *value, "hotline:rd_confirm"]


def check_against_previous(call: FlowCall) -> str:
    meter = _meter(call)
    zone = call.scratch["zones"][call.scratch["zone_index"]]
    today = call.scratch.get("today") or call.today()
    verdict = check_reading(call.scratch["entered"], meter.last.get(zone), today, meter.digits)
    if verdict.kind != "ok":
        call.note("readings", event="check", result=verdict.kind, zone=zone,
                  consumption=str(verdict.consumption) if verdict.consumption is not None else None)
    return verdict.kind


async def store_reading(call: FlowCall) -> str:
    meter = _meter(call)
    zone = call.scratch["zones"][call.scratch["zone_index"]]
    value = int(call.scratch["entered"])
    by = call.caller or "unknown"
    spoken = call.scratch.get("entered_by") == "voice"
    # a spoken reading is stored as such (accounts.models.ReadingSource.IVR_VOICE)
    args = (meter.id, zone, value, call.linkedid, by, *(("ivr_voice",) if spoken else ()))
    reading_id = await call.data.run(call.data.store_reading, *args)
    call.note("readings", event="stored", reading_id=reading_id, meter_id=meter.id, zone=zone, value=value,
              by="voice" if spoken else "keys")
    call.preface(["hotline:rd_saved"])
    call.scratch["zone_index"] += 1
    return "more" if call.scratch["zone_index"] < len(call.scratch["zones"]) else "all_done"


def replaced_prompt(call: FlowCall) -> list[str]:
    follow = "hotline:rd_replaced" if call.operators_open() else "hotline:rd_replaced_after_hours"
    return ["hotline:rd_below_previous", follow]


def _yes_no(title: str, prompt, yes: str, no: str) -> VoiceMenu:  # type: ignore[no-untyped-def]
    """A yes/no question: key 1 or «да» / «верно», key 2 or «нет»; unsure speech is asked
    again ("I did not catch that"), never taken as a yes."""
    return VoiceMenu(title, prompt, {"1": yes, "2": no}, {"yes": yes, "no": no}, expect=Expect.YESNO,
                     invite="hotline:yes_no_or_say", unclear=None)


READINGS = FlowDef(
    "readings",
    title="Передача показаний (голосом или с клавиатуры; всегда повтор и подтверждение)",
    start="identify",
    nodes={
        "identify": Node(IDENTIFY, {"identified": "choose_meter", "failed": "@failed"}),
        "choose_meter": Node(Do("Выбрать счётчик", choose_meter, ("chosen", "none", "fail")),
                             {"chosen": "enter", "none": "@no_meters", "fail": "@failed"}),
        "enter": Node(Do("Ввести показания зоны", enter_reading, ("entered", "fail")),
                      {"entered": "format", "fail": "@failed"}),
        "format": Node(Decide("Проверить формат", check_format, ("ok", "malformed", "too_many_digits")),
                       {"ok": "read_back", "malformed": "say_malformed", "too_many_digits": "say_too_long"}),
        "say_malformed": Node(Preface("Только цифры", ("hotline:rd_malformed",)), {"done": "enter"}),
        "say_too_long": Node(Preface("Лишние цифры", ("hotline:rd_too_many_digits",)), {"done": "enter"}),
        "read_back": Node(_yes_no("Повторить и подтвердить", read_back_prompt, "confirmed", "reenter"),
                          {"confirmed": "validate", "reenter": "reenter", "fail": "@failed"}),
        "reenter": Node(Decide("Ввести заново (голосом или с клавиатуры)", forget_spoken, ("done",)),
                        {"done": "enter"}),
        "validate": Node(Decide("Сравнить с предыдущими", check_against_previous,
                                ("ok", "below_previous", "implausible_jump")),
                         {"ok": "store", "below_previous": "below_previous", "implausible_jump": "jump"}),
        "below_previous": Node(_yes_no("Меньше предыдущих: замена счётчика?", replaced_prompt,
                                       "replaced", "reenter"),
                               {"replaced": "@replaced", "reenter": "reenter", "fail": "@failed"}),
        "jump": Node(_yes_no("Большой расход: подтвердить ещё раз",
                             lambda call: ["hotline:rd_jump", *read_back_prompt(call)], "confirmed", "reenter"),
                     {"confirmed": "store", "reenter": "reenter", "fail": "@failed"}),
        "store": Node(Do("Сохранить показания", store_reading, ("more", "all_done")),
                      {"more": "enter", "all_done": "thanks"}),
        "thanks": Node(Say("Все показания приняты", ("hotline:rd_all_saved",)), {"done": "@done"}),
    },
)


# ---- balance ------------------------------------------------------------------------------


def _balance(call: FlowCall) -> list[str] | None:
    assert call.account is not None
    return balance_told(Decimal(call.account.balance), call.account.balance_at, call.today())


def balance_known(call: FlowCall) -> str:
    """The balance is told only with the date billing computed it (ivr.telling.balance_told):
    a figure without a date would be presented as current when it may be months old, and a
    customer may pay by it. Then the operator (in hours) or a callback is offered instead."""
    if _balance(call) is None:
        assert call.account is not None
        call.note("balance", told=False, reason="no_date" if call.account.balance_at is None
                  else "date_out_of_range")
        return "unknown"
    return "known"


def balance_sounds(call: FlowCall) -> list[str]:
    sounds = _balance(call)
    assert sounds is not None and call.account is not None and call.account.balance_at is not None
    call.note("balance", told=True)
    call.note("balance_date", as_of=call.account.balance_at.isoformat())
    return sounds


BALANCE = FlowDef(
    "balance",
    title="Баланс и задолженность (только после идентификации)",
    start="identify",
    nodes={
        "identify": Node(IDENTIFY, {"identified": "tell", "failed": "@failed"}),
        "tell": Node(Decide("Известна дата баланса?", balance_known, ("known", "unknown")),
                     {"known": "say", "unknown": "unavailable"}),
        "say": Node(Say("Сообщить баланс с датой («по состоянию на …»)", balance_sounds), {"done": "@done"}),
        "unavailable": Node(Say("Баланс без даты не сообщается", ("hotline:bal_unavailable",)),
                            {"done": "@unavailable"}),
    },
)


# ---- planned outages ----------------------------------------------------------------------


async def tell_outages(call: FlowCall) -> str:
    """The outages at the identified caller's address (outages.service.for_address), said
    with the date the data was loaded; "none" only from current data, else "unavailable"."""
    assert call.account is not None
    answer = await call.data.run(call.data.outages_at, call.account.address, call.now(),
                                 call.account.timezone)
    outcome, sounds = outages_told(answer)
    call.note("outages", status=answer.status, count=len(answer.outages), detail=answer.detail,
              loaded_at=None if answer.loaded_at is None else answer.loaded_at.isoformat())
    await call.say(sounds)
    return outcome


async def tell_locality(call: FlowCall) -> str:
    """A caller not identified yet: when the accounts on their number are all in one locality,
    the count of planned outages there (the address needs identification). "None in your
    locality" only from current data — then the address cannot have one either."""
    accounts = await call.data.run(call.data.accounts_by_phone, call.caller) if call.caller else []
    if not accounts:
        return "offer"
    answer = await call.data.run(call.data.outages_in_locality, [a.address for a in accounts],
                                 call.now(), accounts[0].timezone)
    if answer is None:
        return "offer"
    call.note("outages", status="locality", count=answer.count, current=answer.current)
    loaded = [] if answer.loaded_at is None else ["hotline:out_data_of",
                                                  *date_sounds(answer.loaded_at.date())]
    if answer.count:
        call.preface(["hotline:out_locality_count", *number_sounds(answer.count), *loaded])
        return "offer"
    if answer.current:
        await call.say(["hotline:out_locality_none", *loaded])
        return "none"
    return "offer"


OUTAGES = FlowDef(
    "outages",
    title="Плановые отключения по адресу (по лицевому счёту)",
    start="check",
    nodes={
        "check": Node(Decide("Лицевой счёт уже известен?",
                             lambda call: "known" if call.account is not None else "unknown",
                             ("known", "unknown")),
                      {"known": "tell", "unknown": "locality"}),
        "locality": Node(Do("Отключения в населённом пункте (по номеру звонящего)", tell_locality,
                            ("offer", "none")),
                         {"offer": "offer_identify", "none": "@done"}),
        "offer_identify": Node(Menu("Определить счёт, чтобы узнать об отключениях по адресу?",
                                    "hotline:out_need_id", {"1": "identify", "2": "menu"}),
                               {"identify": "identify", "menu": "@menu", "fail": "@menu"}),
        "identify": Node(IDENTIFY, {"identified": "tell", "*": "@failed"}),
        "tell": Node(Do("Сообщить отключения по адресу", tell_outages, ("told", "unavailable")),
                     {"told": "@done", "unavailable": "@unavailable"}),
    },
)


# ---- operator, queue, callbacks -----------------------------------------------------------


QUEUE_EXIT_CONTEXT = "hotline-queue-exit"  # where app_queue sends a caller who pressed 1


async def to_operator(call: FlowCall) -> str:
    """Wait in the operators' queue, in one go: the caller keeps their place to the end.

    While waiting, the queue's periodic announcement offers a callback: key 1 leaves the
    queue through its exit context (dialplans/queues.conf.j2), and the flow books the order.
    No key: the caller waits for an operator up to `max_wait_s`, then hears an apology.
    """
    agi = call.agi
    q = call.queue
    waiting = int(await agi.get_variable(f"QUEUE_WAITING_COUNT({q.name})") or 0)
    if waiting >= q.long_queue and not call.scratch.get("offered_long"):
        call.scratch["offered_long"] = True
        call.note("queue", event="long_queue", waiting=waiting)
        return "long_queue"
    await call.say(["hotline:queue_connecting"])
    call.note("queue", event="join", queue=q.name, waiting=waiting)
    await agi.exec("Queue", f"{q.name},,,,{q.max_wait_s}")
    if await agi.get_variable("CONTEXT") == QUEUE_EXIT_CONTEXT:
        call.note("queue", event="leave", status="CALLBACK_KEY")
        return "callback"
    status = await agi.get_variable("QUEUESTATUS") or ""
    call.note("queue", event="leave", status=status or "CONNECTED")
    if status in ("TIMEOUT", "JOINEMPTY", "LEAVEEMPTY", "FULL", "JOINUNAVAIL", "LEAVEUNAVAIL"):
        return "timeout"
    return "served"


def _callback(source: str):  # type: ignore[no-untyped-def]
    async def book(call: FlowCall) -> str:
        if not call.caller:
            await call.say(["hotline:cb_no_number"])
            return "failed"
        try:
            result = await call.book_callback(call, source)
        except Exception:  # noqa: BLE001 - the caller hears an apology, the log has the reason
            log.exception("callback order for call %s failed", call.linkedid)
            result = None
        # What really happened (ivr.services.CallbackResult), not an "accepted" regardless.
        what = getattr(result, "result", None)
        if what == "refused" and getattr(result, "reason", None) == "invalid-phone":
            prompt = "hotline:cb_refused_number"
        else:
            prompt = {"created": "hotline:cb_accepted", "updated": "hotline:cb_updated"}.get(
                what or "", "hotline:cb_failed")
        await call.say([prompt])
        return "booked" if what in ("created", "updated") else "failed"

    return book


def in_hours(call: FlowCall) -> str:
    """Fails closed: an error in the hours check means closed (and is logged)."""
    try:
        return "open" if call.operators_open() else "closed"
    except Exception:  # noqa: BLE001 - never "always open" by accident
        log.exception("operators' hours could not be checked: taken as closed")
        return "closed"


async def after_hours_preface(call: FlowCall) -> str:
    """The after-hours menu's preface: the configured hours (ivr.telling.hours_sounds), or,
    when they cannot be read, only that operators are not available now."""
    info = None
    if call.operator_hours is not None:
        try:
            info = call.operator_hours()
        except Exception:  # noqa: BLE001 - said as unavailable, logged
            log.exception("operators' hours could not be read for the after-hours prompt")
    schedule, next_opening = info if info is not None else (None, None)
    call.note("hours", told="schedule" if schedule is not None else "unavailable",
              next_opening=None if next_opening is None else next_opening.isoformat())
    call.preface(hours_sounds(schedule, next_opening))
    return "done"


_IN_HOURS = {"readings": "readings", "balance": "balance", "outages": "outages", "callback": "callback",
             "operator": "operator", "tariffs": "faq_tariffs", "payment": "faq_payment", "hours": "tell_hours"}

HOTLINE = FlowDef(
    "hotline",
    title="Горячая линия",
    start="hours_check",
    nodes={
        "hours_check": Node(Decide("Рабочее время операторов?", in_hours, ("open", "closed")),
                            {"open": "main_menu", "closed": "after_hours_intro"}),
        "after_hours_intro": Node(Do("Часы работы операторов (как настроены)", after_hours_preface),
                                  {"done": "after_hours_menu"}),
        # In hours the menu's keys stay, and the caller may say what they need instead.
        "main_menu": Node(VoiceMenu("Главное меню", "hotline:menu_main", MAIN_KEYS, INTENT_OUTCOMES),
                          {**_IN_HOURS, "unclear": "clarify", "fail": "operator"}),
        "clarify": Node(VoiceMenu("Уточняющий вопрос", "hotline:smart_clarify_in_hours", MAIN_KEYS,
                                  INTENT_OUTCOMES, invite=None, retries=0),
                        {**_IN_HOURS, "unclear": "main_menu_keys", "fail": "main_menu_keys"}),
        "main_menu_keys": Node(Menu("Главное меню (кнопки)", "hotline:menu_main", MAIN_KEYS),
                               {"readings": "readings", "balance": "balance", "outages": "outages",
                                "callback": "callback", "operator": "operator", "fail": "operator"}),
        "faq_tariffs": Node(Do("Ответ о тарифах (файл ответов)", tell_faq("tariffs"), ("told", "none")),
                            {"told": "more", "none": "need_help"}),
        "faq_payment": Node(Do("Ответ об оплате (файл ответов)", tell_faq("payment"), ("told", "none")),
                            {"told": "more", "none": "need_help"}),
        "tell_hours": Node(Do("Часы работы операторов (по расписанию)", tell_hours), {"done": "more"}),
        # Out of hours the Smart IVR greets: speech or the after-hours keys (ivr.smart.SMART).
        "after_hours_menu": Node(SMART, {"readings": "readings", "balance": "balance", "outages": "outages",
                                         "callback": "callback_after_hours", "operator": "need_help",
                                         "done": "more", "no_answer": "need_help",
                                         "fail": "offer_callback"}),
        "readings": Node(READINGS, {"done": "more", "failed": "need_help", "replaced": "need_help",
                                    "no_meters": "need_help"}),
        "balance": Node(BALANCE, {"done": "more", "failed": "need_help", "unavailable": "need_help"}),
        "outages": Node(OUTAGES, {"done": "more", "menu": "hours_check", "failed": "need_help",
                                  "unavailable": "need_help"}),
        "callback": Node(Do("Заказ обратного звонка (меню)", _callback("ivr_menu"), ("booked", "failed")),
                         {"booked": "goodbye", "failed": "goodbye"}),
        "callback_after_hours": Node(Do("Заказ обратного звонка (нерабочее время)", _callback("ivr_after_hours"),
                                        ("booked", "failed")), {"booked": "goodbye", "failed": "goodbye"}),
        "callback_from_queue": Node(Do("Заказ обратного звонка вместо ожидания", _callback("ivr_queue"),
                                       ("booked", "failed")), {"booked": "goodbye", "failed": "goodbye"}),
        "need_help": Node(Decide("Помощь оператора: рабочее время?", in_hours, ("open", "closed")),
                          {"open": "operator", "closed": "offer_callback"}),
        "operator": Node(Do("Очередь к операторам (место сохраняется; 1 — обратный звонок)", to_operator,
                            ("served", "timeout", "long_queue", "callback")),
                         {"served": "@done", "timeout": "queue_offer", "long_queue": "long_queue_offer",
                          "callback": "callback_from_queue"}),
        "queue_gave_up": Node(Say("Операторы заняты слишком долго", ("hotline:queue_gave_up",)), {"done": "goodbye"}),
        "queue_offer": Node(Menu("Ожидание слишком долгое: перезвонить?", "hotline:queue_timeout_offer",
                                 {"1": "callback", "2": "bye"}),
                            {"callback": "callback_from_queue", "bye": "queue_gave_up", "fail": "queue_gave_up"}),
        "long_queue_offer": Node(Menu("Длинная очередь: перезвонить?", "hotline:queue_busy_offer",
                                      {"1": "callback", "2": "stay"}),
                                 {"callback": "callback_from_queue", "stay": "operator", "fail": "operator"}),
        "offer_callback": Node(_yes_no("Предложить обратный звонок", "hotline:cb_offer_after_hours",
                                       "book", "menu"),
                               {"book": "callback_after_hours", "menu": "hours_check", "fail": "goodbye"}),
        "more": Node(Menu("Ещё вопрос?", "hotline:more_or_goodbye", {"1": "menu", "2": "bye"}),
                     {"menu": "hours_check", "bye": "goodbye", "fail": "goodbye"}),
        "goodbye": Node(Say("Прощание", ("hotline:goodbye",)), {"done": "@done"}),
    },
)

__all__ = ["BALANCE", "HOTLINE", "IDENTIFY", "OUTAGES", "READINGS", "SMART", "AgiError"]
