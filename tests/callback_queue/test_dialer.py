"""The dialer against a fake PBX (recorded attempts played back), a real database and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from callback_fake_pbx import FakePbx
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from callback_queue import service
from callback_queue.dialer import CallbackDialer, DialerConfig
from callback_queue.models import CallbackOrder, CallbackState
from callback_queue.queue import CallbackQueue
from base.clock import FixedClock

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
S = CallbackState


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def pbx() -> FakePbx:
    return FakePbx()


@pytest.fixture
async def queue(aredis: aioredis.Redis) -> CallbackQueue:
    return CallbackQueue(aredis, "t")


def config(**kw: object) -> DialerConfig:
    kw.setdefault("operators", ("operator1", "operator2"))
    kw.setdefault("link_wait", 0.0)  # the fake PBX has no call tracker writing records
    return DialerConfig(**kw)  # type: ignore[arg-type]


@pytest.fixture
async def dialer(pbx: FakePbx, session_factory: sessionmaker[Session], clock: FixedClock,
                 queue: CallbackQueue) -> AsyncIterator[CallbackDialer]:
    d = CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: True,
                       node="pbx1", config=config(), queue=queue)
    yield d
    await d.close()


async def order(session_factory: sessionmaker[Session], queue: CallbackQueue | None,
                phone: str = "+79991234567", at: datetime = NOW) -> int:
    with session_factory.begin() as s:
        o, _ = service.request_callback(s, phone, "web", "web", now=at)
        order_id, due = o.id, o.due_at
    if queue is not None:
        await queue.add(order_id, due)
    return order_id


def load(session_factory: sessionmaker[Session], order_id: int) -> tuple[CallbackOrder, list[tuple[str, str, str]]]:
    with session_factory() as s:
        o = s.get(CallbackOrder, order_id)
        assert o is not None
        moves = [(t.from_state.value if t.from_state else "", t.to_state.value, t.actor) for t in o.transitions]
        s.expunge(o)
        return o, moves


async def test_answered_callback_is_done(dialer: CallbackDialer, pbx: FakePbx,
                                         session_factory: sessionmaker[Session], queue: CallbackQueue) -> None:
    order_id = await order(session_factory, queue)
    assert await dialer.tick() == [order_id]
    await dialer.idle(10)
    o, moves = load(session_factory, order_id)
    assert o.state == S.DONE and o.attempts == 1
    assert moves[2:] == [("scheduled", "dialing", "dialer:pbx1"), ("dialing", "done", "dialer:pbx1")]
    [originate] = pbx.originates
    assert originate["Channel"] == "PJSIP/operator1" and originate["Context"] == "callback-bridge"
    assert originate["ChannelId"] == o.last_linkedid and originate["Async"] == "true"
    assert f"CALLBACK_ORDER_ID={order_id}" in originate["Variable"]
    assert "CALLBACK_NUMBER=+79991234567" in originate["Variable"]
    assert await queue.holder(f"order:{order_id}") is None  # the lease is given back
    assert await queue.due(NOW + timedelta(days=1)) == []


async def test_unanswered_customer_is_retried_later(dialer: CallbackDialer, pbx: FakePbx, clock: FixedClock,
                                                    session_factory: sessionmaker[Session],
                                                    queue: CallbackQueue) -> None:
    pbx.scripts["operator1"] = "customer_no_answer"
    order_id = await order(session_factory, queue)
    await dialer.tick()
    await dialer.idle(10)
    o, moves = load(session_factory, order_id)
    assert o.state == S.SCHEDULED and o.attempts == 1
    assert o.due_at == NOW + timedelta(minutes=30)
    assert [m[1] for m in moves[-3:]] == ["dialing", "no_answer", "scheduled"]
    assert await queue.due(NOW + timedelta(minutes=30)) == [order_id]  # back in the live queue
    assert await dialer.tick() == []  # not before the retry time
    clock.advance(minutes=30)
    assert await dialer.tick() == [order_id]
    await dialer.idle(10)


async def test_busy_operator_is_skipped_for_the_next(dialer: CallbackDialer, pbx: FakePbx,
                                                     session_factory: sessionmaker[Session],
                                                     queue: CallbackQueue) -> None:
    pbx.scripts["operator1"] = "operator_busy"
    order_id = await order(session_factory, queue)
    await dialer.tick()
    await dialer.idle(10)
    assert [o["Channel"] for o in pbx.originates] == ["PJSIP/operator1", "PJSIP/operator2"]
    assert pbx.originates[0]["ChannelId"] != pbx.originates[1]["ChannelId"]
    o, _ = load(session_factory, order_id)
    assert o.state == S.DONE and o.last_linkedid == pbx.originates[1]["ChannelId"]


async def test_no_operator_answering_requeues_without_an_attempt(
        dialer: CallbackDialer, pbx: FakePbx, session_factory: sessionmaker[Session], queue: CallbackQueue) -> None:
    pbx.scripts.update(operator1="operator_busy", operator2="operator_no_answer")
    order_id = await order(session_factory, queue)
    await dialer.tick()
    await dialer.idle(10)
    o, _ = load(session_factory, order_id)
    assert o.state == S.SCHEDULED and o.attempts == 0
    assert o.due_at == NOW + timedelta(minutes=1)
    assert "operator2: оператор не ответил" in (o.transitions[-1].reason or "")


async def test_nothing_is_claimed_when_operators_are_busy_or_hours_closed(
        pbx: FakePbx, session_factory: sessionmaker[Session], clock: FixedClock, queue: CallbackQueue) -> None:
    order_id = await order(session_factory, queue)
    pbx.device_states.update(operator1="INUSE", operator2="RINGING")
    busy = CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: True,
                          node="pbx1", config=config(), queue=queue)
    closed = CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: False,
                            node="pbx1", config=config(), queue=queue)
    try:
        assert await busy.tick() == []
        pbx.device_states.clear()
        assert await closed.tick() == []
    finally:
        await busy.close()
        await closed.close()
    assert pbx.originates == []
    o, _ = load(session_factory, order_id)
    assert o.state == S.SCHEDULED


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "database-only"])
async def test_two_dialers_never_dial_the_same_order(
        pbx: FakePbx, session_factory: sessionmaker[Session], clock: FixedClock,
        aredis: aioredis.Redis, with_redis: bool) -> None:
    """Two controllers (their own dialers and Redis clients), one order, ticking at once."""
    queues = [CallbackQueue(aredis, "t"), CallbackQueue(aredis, "t")] if with_redis else [None, None]
    order_id = await order(session_factory, queues[0])
    dialers = [CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: True,
                              node=f"pbx{n}", config=config(), queue=queues[n]) for n in (0, 1)]
    try:
        started = await asyncio.gather(*(d.tick() for d in dialers))
        for d in dialers:
            await d.idle(10)
    finally:
        for d in dialers:
            await d.close()
    assert sorted(len(s) for s in started) == [0, 1]
    assert len(pbx.originates) == 1
    o, moves = load(session_factory, order_id)
    assert o.state == S.DONE
    assert [m[1] for m in moves].count("dialing") == 1


async def test_without_redis_the_database_finds_the_work(
        pbx: FakePbx, session_factory: sessionmaker[Session], clock: FixedClock) -> None:
    broken = CallbackQueue(aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), "t")
    d = CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: True,
                       node="pbx1", config=config(), queue=broken)
    order_id = await order(session_factory, None)
    try:
        await d.resync()  # the queue cannot be rebuilt: logged, not fatal
        assert await d.tick() == [order_id]
        await d.idle(10)
    finally:
        await d.close()
        await broken.redis.aclose()
    o, _ = load(session_factory, order_id)
    assert o.state == S.DONE


async def test_resync_rebuilds_the_queue_and_recovers_orders_left_dialing(
        dialer: CallbackDialer, session_factory: sessionmaker[Session], clock: FixedClock,
        queue: CallbackQueue) -> None:
    from_ivr = await order(session_factory, None)  # written without Redis (as the IVR does)
    left = await order(session_factory, None, phone="+79990000002")
    with session_factory.begin() as s:  # a dialer claimed it, then died
        assert service.claim(s, left, "dialer:pbx9", NOW, linkedid="pbx9-cb2-dead") is not None
    clock.advance(minutes=11)
    await dialer.resync()
    assert sorted(await queue.due(clock.now())) == sorted([from_ivr, left])
    o, moves = load(session_factory, left)
    assert o.state == S.SCHEDULED and o.attempts == 0
    assert moves[-1][1:] == ("scheduled", "dialer:pbx1")


async def test_a_leased_order_left_dialing_is_not_recovered(
        dialer: CallbackDialer, session_factory: sessionmaker[Session], clock: FixedClock,
        queue: CallbackQueue) -> None:
    left = await order(session_factory, None)
    with session_factory.begin() as s:
        service.claim(s, left, "dialer:pbx9", NOW, linkedid="pbx9-cb1-live")
    await queue.lock(f"order:{left}", "pbx9:alive", 60_000)  # its dialer is alive and calling
    clock.advance(minutes=11)
    await dialer.resync()
    o, _ = load(session_factory, left)
    assert o.state == S.DIALING


async def test_a_silent_pbx_gives_the_order_back(
        pbx: FakePbx, session_factory: sessionmaker[Session], clock: FixedClock, queue: CallbackQueue) -> None:
    pbx.hold_events = True  # the originate is accepted, then nothing is ever heard of it
    d = CallbackDialer(ami=pbx, sessions=session_factory, clock=clock, callbacks_open=lambda _: True,
                       node="pbx1", config=config(operators=("operator1",), operator_ring_seconds=0,
                                                  originate_grace=0.2), queue=queue)
    order_id = await order(session_factory, queue)
    try:
        await d.tick()
        await d.idle(10)
    finally:
        await d.close()
    o, _ = load(session_factory, order_id)
    assert o.state == S.SCHEDULED and o.attempts == 0
    assert "нет ответа от АТС" in (o.transitions[-1].reason or "")


async def test_an_order_cancelled_while_dialing_stays_cancelled(
        dialer: CallbackDialer, pbx: FakePbx, session_factory: sessionmaker[Session],
        queue: CallbackQueue) -> None:
    order_id = await order(session_factory, queue)
    await dialer.tick()
    with session_factory.begin() as s:
        s.execute(update(CallbackOrder).where(CallbackOrder.id == order_id).values(state="cancelled"))
    await dialer.idle(10)
    o, _ = load(session_factory, order_id)
    assert o.state == S.CANCELLED
