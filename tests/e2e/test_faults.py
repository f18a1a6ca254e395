"""Every call is kept, whatever was down: the controller, the database or Redis (real SIP calls).

- The controller down: the PBX keeps its own account (CEL, calls/cel.py); the controller,
  started again, imports every call it missed with the PBX's times, outcome, disclosure and
  recording.
- The database down (the stack's private PostgreSQL stopped): the call writer holds what it
  was given and writes it all once the database is back.
- Redis restarted empty: the live calls are rebuilt, and a callback dialer running through it
  dials no order twice.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import redis
import redis.asyncio as aioredis
from harness import Stack, operators_schedule, poll
from sqlalchemy import func, select, update

from base.clock import OffsetClock
from callback_queue import service
from callback_queue.dialer import CallbackDialer, DialerConfig
from callback_queue.models import OPEN_STATES, CallbackOrder, CallbackState
from callback_queue.queue import CallbackQueue
from calls.models import Call, CallEvent, CallOutcome
from calls.registry import DISCONNECTED_TEXT
from hotline.stack import redis as redis_stack
from hotline.stack import stack as parts
from hotline.stack.postgres import PostgresServer
from hours.service import HoursService
from telephony.ami import AmiClient, AmiMessage
from telephony.sipp import Callee, Go, Hangup

pytestmark = pytest.mark.stack

HOLD = "8802"  # music on hold: a call with no controller flow, so it outlives any fault
_numbers = itertools.count(1)


class Events:
    """AMI events seen by the test's own AMI session (the PBX's view, whatever the controller)."""

    def __init__(self, ami: AmiClient, names: list[str]) -> None:
        self.seen: list[AmiMessage] = []
        self._unsubscribe = ami.subscribe(self.seen.append, names)

    def find(self, name: str, **match: str) -> AmiMessage | None:
        return next((m for m in self.seen if m.name == name and all(m.get(k) == v for k, v in match.items())),
                    None)

    def close(self) -> None:
        self._unsubscribe()


async def _restart_controller(e2e: Stack) -> datetime:
    before = e2e.synced_at()
    restarted = datetime.now(UTC)
    parts.start_controller(e2e.settings)
    await poll(lambda: e2e.synced_at() not in (None, before), 30, "the controller to resync")
    return restarted


def _counts(e2e: Stack) -> tuple[int, int]:
    with e2e.sessions() as s:
        return (int(s.scalar(select(func.count()).select_from(Call)) or 0),
                int(s.scalar(select(func.count()).select_from(CallEvent)) or 0))


async def test_calls_while_the_controller_is_down_are_imported_with_their_true_record(e2e: Stack) -> None:
    """Controller killed; two callers hear the disclosure and hang up, one hangs up during it,
    one callback to a busy phone fails. Started again, the controller finds all four in the
    PBX's own account, with the PBX's times, outcome, disclosure and recording; a second
    restart changes nothing."""
    assert e2e.ami is not None
    e2e.set_config("hours.operators", operators_schedule(False))  # no operators: nobody else answers
    events = Events(e2e.ami, ["UserEvent", "Hangup"])
    parts.stop_controller(e2e.settings, kill=True)
    try:
        placed_at = datetime.now(UTC)
        heard = [await e2e.call(e2e.settings.hotline_number, [Go(), Hangup()]) for _ in range(2)]
        early = await e2e.call(e2e.settings.hotline_number, [Go(), Hangup()])
        channels = {c.caller_id: await c.channel(e2e.ami) for c in [*heard, early]}

        def user_event(kind: str, caller_id: str) -> AmiMessage | None:
            return events.find("UserEvent", UserEvent=kind, Channel=channels[caller_id])

        # The two hang up once the disclosure is over, the third while it is playing.
        await poll(lambda: user_event("HotlineRecording", early.caller_id), 20, "the third caller's recording")
        await early.go(e2e.ami)
        for caller in heard:
            await poll(lambda c=caller: user_event("HotlineDisclosure", c.caller_id), 30, "the disclosure")
            await caller.go(e2e.ami)
        for caller in [*heard, early]:
            result = await caller.wait(30)
            assert result.ok, result.explain()

        busy = await e2e.callee("callee1", "reject", hold_ms=0)
        await e2e.ami.action("Originate", Channel="PJSIP/callee1", Context="originate-test", Exten="s",
                             Priority="1", Timeout="4000", Async="true", CallerID="8800")
        assert (await busy.wait(30)).ok
        busy_hangup = await poll(lambda: events.find("Hangup", Cause="17"), 20, "the busy callee's hangup")
    finally:
        events.close()
        restarted = await _restart_controller(e2e)

    for caller in [*heard, early]:
        call = await e2e.wait_ended(caller.caller_id, timeout=30)
        assert call.outcome == CallOutcome.COMPLETED
        assert placed_at <= call.started_at <= call.answered_at <= call.ended_at < restarted
        # The caller's BYE: CEL says cause 0, "not defined", kept as unknown (never the estimate).
        assert call.hangup_cause is None and call.hangup_cause_text != DISCONNECTED_TEXT
        assert call.recording_path, call
        assert (e2e.settings.recordings_dir / call.recording_path).exists()
        assert call.events[0].kind == "started" and call.events[0].data.get("source") == "cel"
    for caller in heard:
        call = e2e.call_record(caller.caller_id)
        assert call is not None and call.disclosure_at is not None
        assert call.answered_at < call.disclosure_at < call.ended_at
    early_call = e2e.call_record(early.caller_id)
    assert early_call is not None and early_call.disclosure_at is None  # gone before it was over

    with e2e.sessions() as s:
        busy_call = s.scalar(select(Call).where(Call.linkedid == busy_hangup.get("Linkedid")))
    assert busy_call is not None and busy_call.outcome == CallOutcome.BUSY and busy_call.ended_at < restarted

    # Imported again from the mark after another restart: nothing changes.
    before, imports = _counts(e2e), _imports(e2e)
    parts.stop_controller(e2e.settings)
    await _restart_controller(e2e)
    await poll(lambda: _imports(e2e) > imports, 20, "the controller's next import")
    assert _counts(e2e) == before


def _imports(e2e: Stack) -> int:
    """How many CEL imports the controller's log tells of (it is appended to across restarts)."""
    log = (e2e.settings.log_dir / "controller.log").read_text(errors="replace")
    return log.count("imported the PBX's call records")


async def test_calls_during_a_database_outage_are_all_written_once_it_is_back(
        e2e: Stack, stack_postgres: PostgresServer) -> None:
    """The stack's PostgreSQL stopped while calls are up: one answered before, ending during
    the outage; one living and ending within it; one starting within it and ending after.
    The writer holds all of it for as long as the outage lasts (well past the old ~6 s of
    retries) and writes it all once the database is back."""
    assert e2e.ami is not None
    a = await e2e.call(HOLD, [Go(), Hangup()])
    await e2e.wait_call(a.caller_id, "answered", check=lambda c: c.answered_at is not None)
    retries_before = _log_count(e2e, "retry 10 in")
    known = e2e._max_call_id()
    e2e._max_call_id = lambda: known  # type: ignore[method-assign]  # the harness can't ask it now
    stack_postgres.stop()
    try:
        b = await e2e.call(HOLD, [Go(), Hangup()])
        c = await e2e.call(HOLD, [Go(), Hangup()])
        await b.channel(e2e.ami)
        await c.channel(e2e.ami)
        await a.go(e2e.ami)
        await b.go(e2e.ami)
        assert (await a.wait(30)).ok and (await b.wait(30)).ok
        # The writer is still holding them after its tenth retry (about 26 s into the outage).
        await poll(lambda: _log_count(e2e, "retry 10 in") > retries_before, 60, "the writer's tenth retry")
    finally:
        stack_postgres.start()
        del e2e._max_call_id
    back_at = datetime.now(UTC)
    await c.go(e2e.ami)
    assert (await c.wait(30)).ok

    records = {}
    for caller in (a, b, c):
        call = await e2e.wait_ended(caller.caller_id, timeout=60)
        assert call.outcome == CallOutcome.COMPLETED, call
        assert call.answered_at is not None and call.hangup_cause_text != DISCONNECTED_TEXT
        kinds = [e.kind for e in call.events]
        assert kinds[0] == "started" and kinds[-1] == "hangup" and "answered" in kinds, kinds
        records[caller.caller_id] = call
    # Written late, with the times the PBX gave them: two ended during the outage, one after.
    assert records[a.caller_id].ended_at < back_at and records[b.caller_id].ended_at < back_at
    assert records[b.caller_id].started_at < back_at < records[c.caller_id].ended_at
    log = (e2e.settings.log_dir / "controller.log").read_text(errors="replace")
    back = [line for line in log.splitlines() if "database back after" in line]
    assert back, "the writer never said the database was back"
    print("\n" + back[-1])  # the measured outage, for the record


def _log_count(e2e: Stack, text: str) -> int:
    return (e2e.settings.log_dir / "controller.log").read_text(errors="replace").count(text)


TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
PREFIX = "e2e-faults"  # this test's live callback queue, beside the controller's keys


def _book(e2e: Stack, clock: OffsetClock) -> int:
    with e2e.sessions.begin() as s:
        phone = f"+7997{os.getpid() % 1000:03d}{next(_numbers):04d}"
        order, created = service.request_callback(s, phone, "web", "web", now=clock.now())
        assert created
        return order.id


def _order(e2e: Stack, order_id: int) -> CallbackOrder:
    with e2e.sessions() as s:
        order = s.get(CallbackOrder, order_id)
        assert order is not None
        _ = order.transitions
        s.expunge(order)
        return order


def _live_calls(e2e: Stack) -> set[str]:
    client = redis.Redis.from_url(e2e.settings.redis_dsn, decode_responses=True)
    try:
        return set(client.hkeys(f"{e2e.settings.redis_prefix}:calls:live"))
    except redis.ConnectionError:
        return set()
    finally:
        client.close()


async def _customer(e2e: Stack, mode: str = "answer") -> Callee:
    """A phone on the trunk's address: the telephone network, where the customer is."""
    s = e2e.settings
    folder = e2e.workdir / "sipp" / f"fault-customer-{mode}-{next(_numbers)}"
    return await Callee(port=s.test_endpoint_port_base, mode=mode, folder=folder,
                        host=s.public_bind_address).start()


async def _hang_up_operator(e2e: Stack, linkedid: str) -> None:
    assert e2e.ami is not None
    for channel in await e2e.channels():
        if channel.get("Linkedid") == linkedid and (channel.get("Channel") or "").startswith("PJSIP/operator"):
            await e2e.ami.action("Hangup", Channel=channel.get("Channel"))


async def test_redis_restart_during_calls_rebuilds_the_live_state_and_dials_no_order_twice(e2e: Stack) -> None:
    """Redis restarted (empty) while a hotline call and a callback are up and a dialer runs: the
    controller rebuilds the live calls; the order being dialled is not dialled again, and the
    order booked meanwhile is dialled once."""
    assert e2e.ami is not None
    s = e2e.settings
    with e2e.sessions.begin() as session:  # orders other tests left open are not this test's
        session.execute(update(CallbackOrder).where(CallbackOrder.state.in_(OPEN_STATES))
                        .values(state=CallbackState.CANCELLED))
    clock = OffsetClock((TUESDAY_MORNING - datetime.now(UTC)).total_seconds())  # in callback hours
    ami = AmiClient(s.internal_bind_address, s.ami_port, s.ami_username, s.ami_secret,
                    name="ami:fault-dialer", backoff_initial=0.2, backoff_max=1.0)
    ami_task = asyncio.create_task(ami.run())
    await ami.wait_connected(timeout=30)
    newchannels: list[AmiMessage] = []
    unsubscribe = ami.subscribe(newchannels.append, ["Newchannel"])
    dialer_redis = aioredis.from_url(s.redis_dsn)
    hours = HoursService({}, clock)  # type: ignore[arg-type]  # the default callback hours
    dialer = CallbackDialer(
        ami=ami, sessions=e2e.sessions, clock=clock, node=s.pbx_node,
        callbacks_open=lambda at: hours.callbacks_open(s.timezone, at),
        config=DialerConfig(operators=("operator1",), caller_id=s.hotline_number, operator_ring_seconds=10,
                            customer_ring_seconds=10, poll_interval=0.3, resync_interval=1.0),
        queue=CallbackQueue(dialer_redis, PREFIX),
    )
    running = asyncio.create_task(dialer.run())
    callees: list[Callee] = []
    try:
        hold = await e2e.call(HOLD, [Go(), Hangup()])
        held = await e2e.wait_call(hold.caller_id, "answered", check=lambda c: c.answered_at is not None)
        callees += [await e2e.callee("operator1", "answer"), await _customer(e2e)]
        first = _book(e2e, clock)
        first_linkedid = await poll(lambda: _order(e2e, first).last_linkedid, 30, "the first order dialled")
        await poll(lambda: _order(e2e, first).state == CallbackState.DONE, 60, "the customer answered")
        live = {held.linkedid, first_linkedid}
        await poll(lambda: live <= _live_calls(e2e), 20, "both calls live in Redis")

        redis_stack.stop(s)
        assert not _live_calls(e2e)
        second = _book(e2e, clock)  # booked while Redis is away (the database is the truth)
        redis_stack.start(s)
        await poll(lambda: live <= _live_calls(e2e), 20, "the live calls rebuilt after the restart")

        # The first call ends; the operator is free again for the second order.
        await _hang_up_operator(e2e, first_linkedid)
        for callee in callees:
            assert (await callee.wait(30)).ok
        callees = [await e2e.callee("operator1", "answer"), await _customer(e2e)]
        second_linkedid = await poll(lambda: _order(e2e, second).last_linkedid, 60, "the second order dialled")
        await poll(lambda: _order(e2e, second).state == CallbackState.DONE, 60, "the second customer answered")
        await _hang_up_operator(e2e, second_linkedid)
        for callee in callees:
            assert (await callee.wait(30)).ok
        await dialer.idle(30)
        await hold.go(e2e.ami)
        assert (await hold.wait(30)).ok

        for order_id in (first, second):
            order = _order(e2e, order_id)
            assert order.state == CallbackState.DONE and order.attempts == 1, order
            assert [t.to_state for t in order.transitions].count(CallbackState.DIALING) == 1
            originates = {m.get("Uniqueid") for m in newchannels
                          if (m.get("Channel") or "").startswith("PJSIP/operator")
                          and f"-cb{order_id}-" in (m.get("Uniqueid") or "")}
            assert len(originates) == 1, originates
        assert sorted(o for o, _, _ in dialer.originated) == sorted([first, second])
        await poll(lambda: held.linkedid not in _live_calls(e2e), 20, "the hold call gone from the live calls")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        for callee in callees:
            await callee.stop()
        unsubscribe()
        await ami.close()
        ami_task.cancel()
        await dialer_redis.aclose()
