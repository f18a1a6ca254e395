"""Callback orders executed with real SIP calls: operator first, then the customer, bridged.

The dialers here run in the test process against the test stack's PBX, Redis and database,
with a clock set inside callback hours (the production hours, Moscow time), so the tests
pass on any day at any hour. The stack's own controller runs no dialer (HOTLINE_ENV=test,
see ``callback_queue.settings``), so nothing else dials the orders these tests create.
The operator is a sipp phone on ``operator1``; the customer a sipp phone on the trunk's
address (the "telephone network").
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from harness import Stack, poll, recording_stats
from sqlalchemy import select, update

from callback_queue import service
from callback_queue.dialer import CallbackDialer, DialerConfig
from callback_queue.plugin import build_dialer
from callback_queue.settings import CallbackSettings
from callback_queue.models import OPEN_STATES, CallbackOrder, CallbackState
from callback_queue.queue import CallbackQueue
from calls.models import Call
from base.clock import OffsetClock
from base.config_store import CachedConfig
from hours.service import HoursService
from telephony.ami import AmiClient, AmiMessage
from telephony.sipp import Callee

pytestmark = pytest.mark.stack

S = CallbackState
PREFIX = "e2e-callbacks"  # the tests' live queue, beside the controller's keys
_numbers = itertools.count(1)


def offset_to(local: datetime) -> OffsetClock:
    """A clock running from ``local`` (aware) on, as time passes."""
    return OffsetClock((local - datetime.now(UTC)).total_seconds())


def next_day(weekday: int, kind: str, at: time) -> datetime:
    """The next `weekday` (0 Monday) after today that the default callback hours call `kind`,
    at `at`, Moscow time: test data relative to the clock, whatever day the tests run."""
    from hours.service import CALLBACK_HOURS, day_kind

    moscow = ZoneInfo("Europe/Moscow")
    day = datetime.now(moscow).date()
    for _ in range(400):
        day += timedelta(days=1)
        if day.weekday() == weekday and day_kind(CALLBACK_HOURS, day) == kind:
            return datetime.combine(day, at, moscow)
    raise AssertionError(f"no {kind} day with weekday {weekday} within 400 days")


TUESDAY_MORNING = next_day(1, "working", time(10))  # an ordinary working Tuesday
SUNDAY_NOON = next_day(6, "weekend", time(12))  # callbacks are not made on Sundays


class Controllers:
    """What each simulated controller brings: its own AMI session and Redis client."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.dialers: list[CallbackDialer] = []
        self.amis: list[tuple[AmiClient, asyncio.Task[None]]] = []
        self.redis: list[aioredis.Redis] = []
        self.events: list[AmiMessage] = []

    async def dialer(self, clock: OffsetClock, **config: Any) -> CallbackDialer:
        s = self.stack.settings
        ami = AmiClient(s.bind_address, s.ami_port, s.ami_username, s.ami_secret,
                        name=f"ami:callbacks-{len(self.amis) + 1}", backoff_initial=0.2, backoff_max=1.0)
        task = asyncio.create_task(ami.run())
        await ami.wait_connected(timeout=30)
        ami.subscribe(self.events.append, ["Newchannel", "BridgeEnter", "UserEvent", "OriginateResponse"])
        self.amis.append((ami, task))
        redis = aioredis.from_url(s.redis_dsn)
        self.redis.append(redis)
        hours = HoursService({}, clock)  # type: ignore[arg-type]  # no admin document: the defaults
        config.setdefault("operators", ("operator1",))
        config.setdefault("caller_id", s.hotline_number)
        config.setdefault("operator_ring_seconds", 10)
        config.setdefault("customer_ring_seconds", 10)
        dialer = CallbackDialer(
            ami=ami, sessions=self.stack.sessions, clock=clock, node=s.pbx_node,
            callbacks_open=lambda at: hours.callbacks_open(s.timezone, at),
            config=DialerConfig(**config), queue=CallbackQueue(redis, PREFIX),
        )
        self.dialers.append(dialer)
        return dialer

    async def production_dialer(self, clock: OffsetClock, **callbacks: Any) -> CallbackDialer:
        """The controller's dialer, built as the controller builds it (`build_dialer`, with the
        stack's settings, the admin documents and the controller's Redis keys): its operators
        are the members of the operators' queue, not a list given here."""
        s = self.stack.settings
        ami = AmiClient(s.bind_address, s.ami_port, s.ami_username, s.ami_secret,
                        name=f"ami:callbacks-{len(self.amis) + 1}", backoff_initial=0.2, backoff_max=1.0)
        task = asyncio.create_task(ami.run())
        await ami.wait_connected(timeout=30)
        ami.subscribe(self.events.append, ["Newchannel", "BridgeEnter", "UserEvent", "OriginateResponse"])
        self.amis.append((ami, task))
        redis = aioredis.from_url(s.redis_dsn)
        self.redis.append(redis)
        settings = CallbackSettings(dialer="on", **callbacks)  # the test stack runs none of its own
        assert settings.operators == [], "operators come from the queue"
        dialer = build_dialer(s, ami=ami, sessions=self.stack.sessions, redis=redis, clock=clock,
                              config=CachedConfig(self.stack.sessions, ttl=s.config_cache_seconds),
                              callbacks=settings)
        assert dialer is not None
        self.dialers.append(dialer)
        return dialer

    def seen(self, name: str, match: Callable[[AmiMessage], bool]) -> list[AmiMessage]:
        return [m for m in self.events if m.name == name and match(m)]

    async def close(self) -> None:
        for dialer in self.dialers:
            await dialer.close(wait=False)
        for ami, task in self.amis:
            await ami.close()
            task.cancel()
        for redis in self.redis:
            await redis.aclose()


@pytest.fixture
async def controllers(e2e: Stack) -> AsyncIterator[Controllers]:
    # Orders other tests left open (the IVR books some) are not this test's to dial.
    with e2e.sessions.begin() as s:
        s.execute(update(CallbackOrder).where(CallbackOrder.state.in_(OPEN_STATES))
                  .values(state=S.CANCELLED))
    redis = aioredis.from_url(e2e.settings.redis_dsn)
    await redis.delete(f"{PREFIX}:callbacks:due")
    await redis.aclose()
    parts = Controllers(e2e)
    try:
        yield parts
    finally:
        await parts.close()


def new_phone() -> str:
    return f"+7998{os.getpid() % 1000:03d}{next(_numbers):04d}"


def book(stack: Stack, clock: OffsetClock) -> int:
    with stack.sessions.begin() as s:
        order, created = service.request_callback(s, new_phone(), "web", "web", now=clock.now())
        assert created
        return order.id


def load(stack: Stack, order_id: int) -> CallbackOrder:
    with stack.sessions() as s:
        order = s.get(CallbackOrder, order_id)
        assert order is not None
        _ = order.transitions  # loaded before the session closes
        s.expunge(order)
        return order


async def customer(stack: Stack, mode: str) -> Callee:
    """A phone on the trunk's address: the telephone network, where the customer is."""
    folder = stack.workdir / "sipp" / f"customer-{mode}-{next(_numbers)}"
    s = stack.settings
    return await Callee(port=s.test_endpoint_port_base, mode=mode, folder=folder, host=s.bind_address).start()


async def hang_up(stack: Stack, linkedid: str) -> None:
    assert stack.ami is not None
    for channel in await stack.channels():
        if channel.get("Linkedid") == linkedid and (channel.get("Channel") or "").startswith("PJSIP/operator"):
            await stack.ami.action("Hangup", Channel=channel.get("Channel"))


async def test_order_executed_in_callback_hours_operator_then_customer_bridged_and_recorded(
        controllers: Controllers, e2e: Stack) -> None:
    clock = offset_to(TUESDAY_MORNING)
    dialer = await controllers.dialer(clock)
    operator = await e2e.callee("operator1", "answer")
    client = await customer(e2e, "answer")
    order_id = book(e2e, clock)
    await dialer.resync()  # the live queue, rebuilt from the database

    assert await dialer.tick() == [order_id]
    linkedid = await poll(lambda: load(e2e, order_id).last_linkedid, 10, "the attempt's linkedid")

    # Both legs enter one bridge: the operator and the customer talk.
    def both_bridged() -> list[AmiMessage] | None:
        entered = controllers.seen("BridgeEnter", lambda m: m.get("Linkedid") == linkedid)
        return entered if len(entered) == 2 else None

    bridged = await poll(both_bridged, 60, "both legs bridged")
    assert bridged[0].get("BridgeUniqueid") == bridged[1].get("BridgeUniqueid")
    assert {(m.get("Channel") or "").split("-")[0] for m in bridged} == {"PJSIP/operator1", "PJSIP/trunk"}
    await poll(lambda: load(e2e, order_id).state == S.DONE, 10, "the order done")

    # The operator heard the disclosure before the customer was rung; the customer heard it
    # before being connected.
    stages = [m.get("Stage") for m in controllers.seen(
        "UserEvent", lambda m: m.get("UserEvent") == "HotlineCallback" and m.get("Linkedid") == linkedid)]
    assert stages[:3] == ["operator_answered", "customer_answered", "customer_disclosed"], stages

    await hang_up(e2e, linkedid)  # the operator ends the conversation
    await dialer.idle(30)
    assert (await operator.wait(30)).ok
    assert (await client.wait(30)).ok

    order = load(e2e, order_id)
    assert order.state == S.DONE and order.attempts == 1
    assert [(t.from_state and t.from_state.value, t.to_state.value, t.actor) for t in order.transitions] == [
        (None, "new", "web"), ("new", "scheduled", "web"),
        ("scheduled", "dialing", f"dialer:{e2e.settings.pbx_node}"),
        ("dialing", "done", f"dialer:{e2e.settings.pbx_node}")]

    # The call record: written by the controller from AMI, linked to the order, recorded
    # from the operator's answer with the disclosure, and not silent.
    call = await poll(lambda: _ended_call(e2e, linkedid), 30, "the callback's call record")
    assert order.last_call_id == call.id
    assert call.disclosure_at is not None and call.recording_path
    path = e2e.settings.recordings_dir / call.recording_path
    assert path.exists(), path
    stats = recording_stats(path)
    assert stats["RMS lev dB"] > -40, stats
    assert stats["Length s"] >= (call.ended_at - call.answered_at).total_seconds() - 1.5, stats


def _ended_call(stack: Stack, linkedid: str) -> Call | None:
    with stack.sessions() as s:
        call = s.scalar(select(Call).where(Call.linkedid == linkedid))
        return call if call is not None and call.ended_at is not None else None


async def test_customer_not_answering_is_rescheduled(controllers: Controllers, e2e: Stack) -> None:
    clock = offset_to(TUESDAY_MORNING)
    dialer = await controllers.dialer(clock, customer_ring_seconds=3)
    operator = await e2e.callee("operator1", "answer")
    client = await customer(e2e, "ring")
    order_id = book(e2e, clock)
    await dialer.resync()

    assert await dialer.tick() == [order_id]
    await dialer.idle(60)
    assert (await operator.wait(30)).ok
    assert (await client.wait(30)).ok  # rang, then the PBX cancelled

    order = load(e2e, order_id)
    assert order.state == S.SCHEDULED and order.attempts == 1
    no_answer = next(t for t in order.transitions if t.to_state == S.NO_ANSWER)
    assert no_answer.actor == f"dialer:{e2e.settings.pbx_node}" and "не ответил" in (no_answer.reason or "")
    assert order.due_at == no_answer.at + timedelta(minutes=30)  # the retry delay
    assert await dialer.tick() == []  # not again before the delay
    queue = CallbackQueue(controllers.redis[0], PREFIX)
    assert order_id in await queue.due(order.due_at)  # waiting in the live queue


async def test_two_controllers_never_dial_the_same_order(controllers: Controllers, e2e: Stack) -> None:
    clock = offset_to(TUESDAY_MORNING)
    first = await controllers.dialer(clock)
    second = await controllers.dialer(clock)
    operator = await e2e.callee("operator1", "answer")
    client = await customer(e2e, "answer")
    order_id = book(e2e, clock)
    await first.resync()

    started = await asyncio.gather(first.tick(), second.tick())  # at the same moment
    assert sorted(len(s) for s in started) == [0, 1], started
    linkedid = await poll(lambda: load(e2e, order_id).last_linkedid, 10, "the attempt's linkedid")
    await poll(lambda: load(e2e, order_id).state == S.DONE, 60, "the order done")
    assert await second.tick() == [] and await first.tick() == []  # nothing left to claim
    await hang_up(e2e, linkedid)
    for dialer in (first, second):
        await dialer.idle(30)
    assert (await operator.wait(30)).ok and (await client.wait(30)).ok

    # One originate in all: the PBX made one operator channel for this order.
    calls = controllers.seen("Newchannel", lambda m: (m.get("Channel") or "").startswith("PJSIP/operator")
                             and f"-cb{order_id}-" in (m.get("Uniqueid") or ""))
    assert len({m.get("Uniqueid") for m in calls}) == 1, calls
    assert len(first.originated) + len(second.originated) == 1
    order = load(e2e, order_id)
    assert [t.to_state for t in order.transitions].count(S.DIALING) == 1


async def test_production_dialer_finds_the_operator_in_the_queue_and_executes_the_order(
        controllers: Controllers, e2e: Stack) -> None:
    """The dialer the controller runs, built by `build_dialer`, running its own loop: the
    operator is whoever is a member of the operators' queue (AMI QueueAdd, as an operator who
    logs in), rung first, then the customer; both bridged and recorded; the order done."""
    assert e2e.ami is not None
    clock = offset_to(TUESDAY_MORNING)
    dialer = await controllers.production_dialer(clock, poll_seconds=0.5, operator_ring_seconds=10,
                                                 customer_ring_seconds=10)
    assert dialer.config.operators == ()
    assert await dialer.free_operators() == []  # nobody in the queue yet: nobody to ring
    operator = await e2e.callee("operator1", "answer")
    client = await customer(e2e, "answer")
    await e2e.ami.action("QueueAdd", Queue=dialer.config.queue, Interface="PJSIP/operator1",
                         MemberName="operator1")
    run = asyncio.create_task(dialer.run())
    try:
        order_id = book(e2e, clock)
        linkedid = await poll(lambda: load(e2e, order_id).last_linkedid, 30, "the dialer to take the order")

        def both_bridged() -> list[AmiMessage] | None:
            entered = controllers.seen("BridgeEnter", lambda m: m.get("Linkedid") == linkedid)
            return entered if len(entered) == 2 else None

        bridged = await poll(both_bridged, 60, "both legs bridged")
        assert bridged[0].get("BridgeUniqueid") == bridged[1].get("BridgeUniqueid")
        assert {(m.get("Channel") or "").split("-")[0] for m in bridged} == {"PJSIP/operator1", "PJSIP/trunk"}
        await poll(lambda: load(e2e, order_id).state == S.DONE, 10, "the order done")
        await hang_up(e2e, linkedid)
        await dialer.idle(30)
    finally:
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        await e2e.ami.action("QueueRemove", Queue=dialer.config.queue, Interface="PJSIP/operator1")
    assert (await operator.wait(30)).ok
    assert (await client.wait(30)).ok

    order = load(e2e, order_id)
    assert order.state == S.DONE and order.attempts == 1
    call = await poll(lambda: _ended_call(e2e, linkedid), 30, "the callback's call record")
    assert order.last_call_id == call.id
    assert call.disclosure_at is not None and call.recording_path
    path = e2e.settings.recordings_dir / call.recording_path
    assert path.exists(), path
    assert recording_stats(path)["RMS lev dB"] > -40


async def test_nothing_is_dialled_out_of_callback_hours(controllers: Controllers, e2e: Stack) -> None:
    clock = offset_to(SUNDAY_NOON)
    dialer = await controllers.dialer(clock)
    order_id = book(e2e, clock)
    await dialer.resync()
    assert await dialer.tick() == []
    assert dialer.originated == []
    assert load(e2e, order_id).state == S.SCHEDULED
