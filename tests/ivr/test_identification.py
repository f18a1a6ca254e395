"""Identification by knowledge, with attempts limited across calls (ivr.identification).

The guard runs on a real database (SQLite and PostgreSQL, tests/db_fixtures.py) with a clock
the test moves; the flow runs with a fake call that records what the caller hears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from base.clock import FixedClock
from ivr.identification import (
    IdentificationGuard,
    IdPolicy,
    caller_key,
    failures_since,
    match_tail,
    policy_from,
)
from ivr.models import IdentificationAttempt, IdentificationLockout, IdMethod, IdResult, IdSubject
from ivr.services import AccountView

SECRET = b"test-secret-for-identification"
PHONE = "79990000001"
OTHER = "79990000002"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


# ---- pure rules -----------------------------------------------------------------------------


def test_tail_must_be_four_digits_and_match_exactly_one_account() -> None:
    numbers = {1: "430100000011", 2: "430100000022", 3: "990000000022"}
    assert match_tail(numbers, "0011") == 1
    assert match_tail(numbers, "0022") is None  # two accounts end so: not enough to tell
    assert match_tail(numbers, "11") is None
    assert match_tail(numbers, "9999") is None
    assert match_tail(numbers, "00a1") is None


def test_caller_key_is_an_hmac_of_the_number_in_any_form() -> None:
    key = caller_key(SECRET, "+79990000001")
    assert key == caller_key(SECRET, "89990000001") == caller_key(SECRET, "9990000001")
    assert key is not None and "9990000001" not in key
    assert caller_key(b"another", "+79990000001") != key
    assert caller_key(SECRET, "") is None


def test_failures_count_within_the_window_after_the_last_lockout() -> None:
    policy = IdPolicy(window=timedelta(hours=24))
    assert failures_since(T0, policy, None) == T0 - timedelta(hours=24)
    assert failures_since(T0, policy, T0 - timedelta(hours=2)) == T0 - timedelta(hours=2)
    assert failures_since(T0, policy, T0 - timedelta(days=3)) == T0 - timedelta(hours=24)


def test_policy_from_the_admin_document() -> None:
    assert policy_from(None) == IdPolicy()
    p = policy_from({"max_failures": 3, "window_hours": 1, "lock_hours": 0.5})
    assert p == IdPolicy(3, timedelta(hours=1), timedelta(minutes=30))


# ---- the guard on a real database -----------------------------------------------------------


@pytest.fixture
def accounts(session_factory: sessionmaker[Session]) -> dict[str, int]:
    from accounts.demo import seed_demo
    from accounts.models import Account

    with session_factory.begin() as s:
        seed_demo(s)
    with session_factory() as s:
        return {a.number: a.id for a in s.scalars(select(Account))}


def guard_for(session_factory: sessionmaker[Session], clock: FixedClock, **policy: Any) -> IdentificationGuard:
    return IdentificationGuard(session_factory, clock, SECRET, lambda: IdPolicy(**policy))


def test_five_wrong_guesses_across_calls_lock_the_number_and_the_account(
    session_factory: sessionmaker[Session], accounts: dict[str, int]
) -> None:
    clock = FixedClock(T0)
    guard = guard_for(session_factory, clock)
    account = accounts["430100000011"]
    for n in range(4):  # two calls of two wrong guesses each, minutes apart
        clock.advance(minutes=5)
        assert guard.record_now(PHONE, f"call-{n // 2}", IdMethod.TAIL, IdResult.WRONG, [account]) is None
    assert guard.locked_now(PHONE, [account]) is None
    clock.advance(minutes=5)
    lock = guard.record_now(PHONE, "call-2", IdMethod.TAIL, IdResult.WRONG, [account])
    assert lock is not None and lock.created and lock.until == clock.now() + timedelta(hours=24)
    assert lock.subject == IdSubject.PHONE
    # Locked: for this number with any account, and for this account from any number.
    assert guard.locked_now(PHONE, []) is not None
    assert guard.locked_now(OTHER, [account]) is not None
    assert guard.locked_now(OTHER, [accounts["430100000022"]]) is None
    with session_factory() as s:
        lockouts = list(s.scalars(select(IdentificationLockout).order_by(IdentificationLockout.id)))
        attempts = list(s.scalars(select(IdentificationAttempt)))
    assert [(lo.subject, lo.failures, lo.linkedid) for lo in lockouts] == [
        (IdSubject.PHONE, 5, "call-2"), (IdSubject.ACCOUNT, 5, "call-2")]
    assert lockouts[1].account_id == account
    assert len(attempts) == 5
    # The number is kept only as an HMAC and masked.
    assert all(a.caller_key == caller_key(SECRET, PHONE) and a.caller_masked == "+7 *** ***-**-01"
               for a in attempts)
    # A day later the lock has run out.
    clock.advance(hours=24, seconds=1)
    assert guard.locked_now(PHONE, [account]) is None


def test_old_failures_and_a_success_start_the_count_again(
    session_factory: sessionmaker[Session], accounts: dict[str, int]
) -> None:
    clock = FixedClock(T0)
    guard = guard_for(session_factory, clock, max_failures=3)
    account = accounts["430100000011"]
    guard.record_now(PHONE, "a", IdMethod.TAIL, IdResult.WRONG, [account])
    guard.record_now(PHONE, "a", IdMethod.TAIL, IdResult.WRONG, [account])
    clock.advance(hours=25)  # out of the window
    assert guard.record_now(PHONE, "b", IdMethod.TAIL, IdResult.WRONG, [account]) is None
    guard.record_now(PHONE, "b", IdMethod.TAIL, IdResult.WRONG, [account])
    guard.record_now(PHONE, "b", IdMethod.TAIL, IdResult.OK, [account])
    assert guard.record_now(PHONE, "c", IdMethod.TAIL, IdResult.WRONG, [account]) is None
    assert guard.record_now(PHONE, "c", IdMethod.TAIL, IdResult.WRONG, [account]) is None
    assert guard.record_now(PHONE, "c", IdMethod.TAIL, IdResult.WRONG, [account]) is not None


def test_one_account_guessed_from_many_numbers_is_locked(
    session_factory: sessionmaker[Session], accounts: dict[str, int]
) -> None:
    clock = FixedClock(T0)
    guard = guard_for(session_factory, clock, max_failures=3)
    account = accounts["430100000011"]
    for n in range(3):
        clock.advance(minutes=1)
        lock = guard.record_now(f"7999111000{n}", f"c{n}", IdMethod.TAIL, IdResult.WRONG, [account])
    assert lock is not None and lock.subject == IdSubject.ACCOUNT
    assert guard.locked_now("79991110000", []) is None  # each number guessed once only
    assert guard.locked_now("79995550000", [account]) is not None


def test_unknown_account_numbers_count_against_the_caller_number(
    session_factory: sessionmaker[Session], accounts: dict[str, int]
) -> None:
    clock = FixedClock(T0)
    guard = guard_for(session_factory, clock, max_failures=2)
    assert guard.record_now(PHONE, "a", IdMethod.NUMBER, IdResult.WRONG) is None
    lock = guard.record_now(PHONE, "b", IdMethod.NUMBER, IdResult.WRONG)
    assert lock is not None and lock.subject == IdSubject.PHONE
    # A withheld number has no key: only per-account limits apply to it.
    assert guard.record_now("", "c", IdMethod.NUMBER, IdResult.WRONG) is None
    assert guard.locked_now("", []) is None


# ---- the flow -------------------------------------------------------------------------------


def view(account_id: int, number: str) -> AccountView:
    return AccountView(account_id, number, "Europe/Moscow", Decimal("-10.00"), None, ())


@dataclass
class FakeData:
    by_phone: dict[str, list[AccountView]]
    by_number: dict[str, AccountView]
    linked: list[tuple[str, int]] = field(default_factory=list)

    async def run(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def accounts_by_phone(self, phone: str) -> list[AccountView]:
        return self.by_phone.get(phone, [])

    def account_by_number(self, number: str) -> AccountView | None:
        return self.by_number.get(number)

    def link_call(self, linkedid: str, account_id: int) -> None:
        self.linked.append((linkedid, account_id))


@dataclass
class IdCall:
    """What IDENTIFY uses of a call: keys in, sounds out, the trail, counters."""

    answers: list[str]
    caller: str
    data: FakeData
    identity: IdentificationGuard
    linkedid: str = "call-1"
    account: AccountView | None = None
    said: list[str] = field(default_factory=list)
    asked: list[list[str]] = field(default_factory=list)
    notes: list[tuple[str, dict]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)
    _preface: list[str] = field(default_factory=list)

    def note(self, kind: str, **data: Any) -> None:
        self.notes.append((kind, data))

    def count(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def preface(self, sounds: list[str]) -> None:
        self._preface += sounds

    async def say(self, sounds: list[str]) -> None:
        self.said += [*self._preface, *sounds]
        self._preface = []

    async def ask(self, prompt: list[str], max_digits: int = 1, timeout_ms: int = 0) -> str:
        self.asked.append([*self._preface, *prompt])
        self.said += [*self._preface, *prompt]
        self._preface = []
        return self.answers.pop(0) if self.answers else ""

    def events(self, kind: str) -> list[dict]:
        return [d for k, d in self.notes if k == kind]

    def steps(self) -> list[str]:
        return [d["step"] for d in self.events("flow")]


ACC1 = "430100000011"


@pytest.fixture
def world(session_factory: sessionmaker[Session], accounts: dict[str, int]):  # type: ignore[no-untyped-def]
    clock = FixedClock(T0)
    one = view(accounts[ACC1], ACC1)
    data = FakeData(by_phone={PHONE: [one]}, by_number={ACC1: one})

    def call(*answers: str, caller: str = PHONE, linkedid: str = "call-1") -> IdCall:
        return IdCall(list(answers), caller, data, guard_for(session_factory, clock), linkedid)

    return call, clock, one


async def test_the_last_four_digits_identify_and_nothing_is_said_before(world) -> None:  # type: ignore[no-untyped-def]
    from ivr.hotline import IDENTIFY

    make, _, one = world
    call = make("0011")
    assert await IDENTIFY.run(call) == "identified"
    assert call.account == one
    assert call.asked == [["hotline:id_enter_tail"]]
    assert not any("id_known_tail" in s or s.startswith("digits/") for s in call.said)  # no digits read out
    assert call.events("identified") == [{"how": "last_digits", "account_id": one.id}]
    assert call.data.linked[-1] == ("call-1", one.id)


async def test_a_wrong_tail_is_said_and_asked_again_three_times_then_failed(world) -> None:  # type: ignore[no-untyped-def]
    from ivr.hotline import IDENTIFY

    make, _, _ = world
    call = make("1234", "12", "4321")
    assert await IDENTIFY.run(call) == "failed"
    assert call.account is None
    assert call.asked[1] == ["hotline:id_wrong_tail", "hotline:id_enter_tail"]
    assert call.asked[2] == ["hotline:id_tail_format", "hotline:id_enter_tail"]
    assert call.said[-2:] == ["hotline:id_wrong_tail", "hotline:id_failed"]
    assert [e["result"] for e in call.events("identification")] == ["wrong_tail", "bad_format", "wrong_tail"]


async def test_star_or_a_whole_number_in_the_tail_question(world) -> None:  # type: ignore[no-untyped-def]
    from ivr.hotline import IDENTIFY

    make, _, one = world
    call = make("*", ACC1)
    assert await IDENTIFY.run(call) == "identified"
    assert call.steps() == ["by_phone", "enter_tail", "enter_number"]
    assert call.events("identified")[0]["how"] == "account_number"
    call = make(ACC1)
    assert await IDENTIFY.run(call) == "identified" and call.account == one


async def test_lockout_across_two_calls_then_refused_even_with_the_right_digits(
    world, session_factory: sessionmaker[Session]  # type: ignore[no-untyped-def]
) -> None:
    from ivr.hotline import IDENTIFY

    make, clock, _ = world
    first = make("1111", "2222", "3333", linkedid="call-1")
    assert await IDENTIFY.run(first) == "failed"
    clock.advance(minutes=3)
    second = make("4444", "5555", "0011", linkedid="call-2")
    assert await IDENTIFY.run(second) == "failed"
    assert second.steps()[-1] == "locked"
    assert second.said[-1] == "hotline:id_locked"
    assert second.answers == ["0011"]  # not even asked a third time
    locked = [e for e in second.events("identification") if e["result"] == "locked_out"]
    assert locked and locked[0]["subject"] == "phone"
    clock.advance(hours=1)
    third = make("0011", linkedid="call-3")
    assert await IDENTIFY.run(third) == "failed"
    assert third.asked == [] and third.said == ["hotline:id_locked"] and third.account is None
    assert third.events("identification") == [{"result": "locked", "subject": "phone"}]
    with session_factory() as s:
        lockouts = list(s.scalars(select(IdentificationLockout)))
    assert {lo.linkedid for lo in lockouts} == {"call-2"}


async def test_a_locked_account_is_refused_to_its_whole_number_from_another_phone(world) -> None:  # type: ignore[no-untyped-def]
    from ivr.hotline import IDENTIFY

    make, _, _ = world
    await one_lockout(make)
    call = make(ACC1, caller="79995550000", linkedid="call-9")  # unknown number: whole number asked
    assert await IDENTIFY.run(call) == "failed"
    assert call.account is None and call.said[-1] == "hotline:id_locked"


async def one_lockout(make) -> None:  # type: ignore[no-untyped-def]
    from ivr.hotline import IDENTIFY

    await IDENTIFY.run(make("1111", "2222", "3333", linkedid="x-1"))
    await IDENTIFY.run(make("4444", "5555", linkedid="x-2"))
