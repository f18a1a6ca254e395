"""The callback dialer: an asyncio loop in the controller that executes due callback orders.

Every few seconds, while callbacks are open (an injected ``callbacks_open(now)``), it looks
for free operators, takes due orders oldest first, claims each (a Redis lease, then the
database's conditional UPDATE scheduled -> dialing), and executes it: AMI Originate to a free
operator into [callback-bridge]; the dialplan records the call, plays the disclosure, rings
the customer and bridges the two. The AMI events of the attempt
(:mod:`callback_queue.handlers`) decide what happens to the order:

- the customer answered: done;
- the customer did not answer: no_answer, then scheduled again after the retry delay, or
  failed after the last attempt;
- no operator free, or none answered, or the operator left before the customer answered:
  scheduled again shortly, no attempt counted.

Every transition is recorded with the actor ``dialer:<pbx node>``. The order's call record
(written by the call tracker from the same AMI events) is linked once the call is over.
Orders left in ``dialing`` by a dialer that died are put back in the queue once their lease
has expired and the PBX has no channel of theirs left.

The database work runs in one thread of the dialer's own; no ORM object leaves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callback_queue import service
from callback_queue.exceptions import InvalidTransition
from callback_queue.handlers import (
    ATTEMPT_EVENTS,
    Attempt,
    AttemptEvent,
    ChannelGone,
    OriginateResult,
    Outcome,
    parse_event,
)
from callback_queue.models import CallbackOrder, CallbackState
from callback_queue.queue import CallbackQueue
from calls.models import Call
from base.clock import Clock
from base.privacy import mask_phone

__all__ = ["AmiLike", "CallbackDialer", "Claimed", "DialerConfig"]

log = logging.getLogger("callback_queue.dialer")

T = TypeVar("T")

FREE_DEVICE_STATES = frozenset({"NOT_INUSE"})


class AmiLike(Protocol):
    """What the dialer needs of :class:`telephony.ami.AmiClient`."""

    connected: asyncio.Event

    async def action(self, name: str, *, timeout: float = 10.0, **fields: Any) -> Any: ...  # noqa: E704

    async def action_list(self, name: str, *, timeout: float = 10.0, **fields: Any) -> list[Any]: ...  # noqa: E704

    def subscribe(self, handler: Any, names: Any = None) -> Callable[[], None]: ...  # noqa: E704


@dataclass(frozen=True)
class DialerConfig:
    # PJSIP endpoints to try, in order; empty: the free members of `queue`.
    operators: tuple[str, ...] = ()
    queue: str = "operators"
    caller_id: str = ""  # the number the customer sees
    poll_interval: float = 3.0
    resync_interval: float = 15.0
    retry_delay: timedelta = service.DEFAULT_RETRY_DELAY
    operator_retry_delay: timedelta = service.DEFAULT_OPERATOR_RETRY_DELAY
    operator_ring_seconds: int = 20
    customer_ring_seconds: int = 40
    originate_grace: float = 15.0  # beyond the ring time, for Asterisk's OriginateResponse
    lease_seconds: float = 60.0  # order and operator leases; refreshed while the call runs
    stale_after: timedelta = timedelta(minutes=10)  # dialing with no lease: the dialer died
    max_concurrent: int = 0  # attempts at once; 0: as many as operators are free
    liveness_interval: float = 20.0  # check the PBX for the call when no event comes
    link_wait: float = 5.0  # how long to wait for the call record to link, once the call is over


@dataclass(frozen=True)
class Claimed:
    order_id: int
    phone: str
    channel_id: str
    owner: str  # the lease holder's id


@dataclass
class _Live:
    attempt: Attempt
    inbox: asyncio.Queue[AttemptEvent] = field(default_factory=asyncio.Queue)


class CallbackDialer:
    """Executes due callback orders on one PBX node. Start with ``create_task(dialer.run())``."""

    def __init__(
        self,
        *,
        ami: AmiLike,
        sessions: sessionmaker[Session],
        clock: Clock,
        callbacks_open: Callable[[datetime], bool],
        node: str,
        config: DialerConfig | None = None,
        queue: CallbackQueue | None = None,
        name: str | None = None,
    ) -> None:
        self.ami = ami
        self.sessions = sessions
        self.clock = clock
        self.callbacks_open = callbacks_open
        self.node = node
        self.config = config or DialerConfig()
        self.queue = queue
        self.name = name or f"{node}-{secrets.token_hex(3)}"
        self.actor = f"dialer:{node}"
        self.originated: list[tuple[int, str, str]] = []  # (order id, operator, channel id)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="callbacks-db")
        self._live: dict[str, _Live] = {}
        self._orphans: dict[str, tuple[float, OriginateResult]] = {}  # by ActionID
        self._tasks: set[asyncio.Task[None]] = set()
        self._local_operators: set[str] = set()  # operators this dialer is ringing now
        self._last_resync = 0.0
        self._last_redis_warning = 0.0
        self._unsubscribe = ami.subscribe(self.on_event, ATTEMPT_EVENTS)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll for due orders until cancelled; in-flight attempts are left to finish."""
        log.info("callback dialer %s started (%s)", self.name,
                 ", ".join(self.config.operators) or f"members of queue {self.config.queue}")
        try:
            while True:
                try:
                    if time.monotonic() - self._last_resync >= self.config.resync_interval:
                        await self.resync()
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the loop must survive a bad moment
                    log.exception("callback dialer %s: tick failed", self.name)
                await asyncio.sleep(self.config.poll_interval)
        finally:
            await self.close(wait=False)

    async def close(self, wait: bool = True) -> None:
        """Stop following AMI; with ``wait``, let running attempts finish first."""
        if wait:
            await self.idle()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._unsubscribe()
        self._db.shutdown(wait=False, cancel_futures=True)

    async def idle(self, timeout: float | None = None) -> None:
        """Wait until no attempt of this dialer is running."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def busy(self) -> int:
        return len(self._tasks)

    # -- one pass ----------------------------------------------------------------------------

    async def resync(self) -> None:
        """Rebuild the Redis queue from the database; put back orders a dead dialer left."""
        self._last_resync = time.monotonic()
        now = self.clock.now()
        stale = await self._run(self._stale, now)
        for order_id, linkedid in stale:
            await self._recover(order_id, linkedid)
        if self.queue is not None:
            scheduled = await self._run(self._scheduled)
            try:
                await self.queue.rebuild(scheduled)
            except Exception as error:  # noqa: BLE001
                self._redis_warning(error)

    async def tick(self) -> list[int]:
        """Start attempts for due orders, as many as free operators allow; their ids."""
        now = self.clock.now()
        if not self.ami.connected.is_set() or not self.callbacks_open(now):
            return []
        limit = self.config.max_concurrent or 1_000
        slots = limit - len(self._tasks)
        if slots <= 0:
            return []
        free = await self.free_operators()
        slots = min(slots, len(free))
        if slots <= 0:
            return []
        started: list[int] = []
        for order_id in await self._candidates(now, slots * 4):
            if len(started) >= slots:
                break
            claimed = await self.claim(order_id, now)
            if claimed is None:
                continue
            started.append(order_id)
            task = asyncio.create_task(self._execute(claimed), name=f"callback-{order_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return started

    async def _candidates(self, now: datetime, limit: int) -> list[int]:
        """Due order ids, oldest request first: what the live queue says is due, checked
        and ordered by the database (the database alone when Redis is away)."""
        among: list[int] | None = None
        if self.queue is not None:
            try:
                among = await self.queue.due(now, 200)
            except Exception as error:  # noqa: BLE001 - Redis away: the database knows
                self._redis_warning(error)
            if among == []:
                return []
        return await self._run(self._due_ids, now, limit, among)

    # -- claiming ----------------------------------------------------------------------------

    async def claim(self, order_id: int, now: datetime) -> Claimed | None:
        """Take one order for dialing: the Redis lease, then the database. None if taken."""
        token = secrets.token_hex(6)
        owner = f"{self.name}:{token}"
        if not await self._lease(f"order:{order_id}", owner):
            return None
        channel_id = f"{self.node}-cb{order_id}-{token}"
        phone = await self._run(self._claim, order_id, now, channel_id)
        if phone is None:
            await self._unlease(f"order:{order_id}", owner)
            await self._dequeue(order_id)  # taken or changed meanwhile; a resync re-adds it
            return None
        await self._dequeue(order_id)
        return Claimed(order_id, phone, channel_id, owner)

    def _claim(self, order_id: int, now: datetime, channel_id: str) -> str | None:
        with self.sessions.begin() as s:
            order = service.claim(s, order_id, self.actor, now, linkedid=channel_id)
            return None if order is None else order.phone

    # -- executing ---------------------------------------------------------------------------

    async def _execute(self, claimed: Claimed) -> None:
        keeper = asyncio.create_task(self._keep_lease(f"order:{claimed.order_id}", claimed.owner))
        attempt: Attempt | None = None
        try:
            outcome, detail, operator, attempt = await self._try_operators(claimed)
            await self._apply(claimed, outcome, detail, operator)
            if attempt is not None:
                await self._follow_to_end(attempt, claimed)
                await self._link_call(claimed)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - whatever broke, the order goes back
            log.exception("callback order %s: attempt failed", claimed.order_id)
            await self._apply(claimed, None, f"сбой набора: {type(error).__name__}", None)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            self._live.pop(claimed.channel_id, None)
            if attempt is not None:
                self._live.pop(attempt.channel_id, None)
            await self._unlease(f"order:{claimed.order_id}", claimed.owner)

    async def _try_operators(
        self, claimed: Claimed
    ) -> tuple[Outcome | None, str, str | None, Attempt | None]:
        """Ring free operators in turn until one answers; then the attempt decides."""
        tried: list[str] = []
        misses: list[str] = []
        for operator in await self.free_operators():
            owner = f"{claimed.owner}:{operator}"
            if not await self._lease(f"operator:{operator}", owner):
                continue
            if operator in self._local_operators:  # another attempt of ours took it meanwhile
                await self._unlease(f"operator:{operator}", owner)
                continue
            self._local_operators.add(operator)
            try:
                channel_id = claimed.channel_id if not tried else f"{claimed.channel_id}-{len(tried)}"
                attempt = await self._originate(claimed, operator, channel_id)
            finally:
                self._local_operators.discard(operator)
                await self._unlease(f"operator:{operator}", owner)
            tried.append(operator)
            if attempt.outcome == Outcome.OPERATOR_UNREACHED:
                self._live.pop(attempt.channel_id, None)
                misses.append(f"{operator}: {attempt.detail}")
                log.info("callback order %s: %s did not take it (%s)", claimed.order_id, operator,
                         attempt.detail)
                continue
            return attempt.outcome, attempt.detail, operator, attempt
        detail = "; ".join(misses) if misses else "нет свободных операторов"
        return Outcome.OPERATOR_UNREACHED, detail, None, None

    async def _originate(self, claimed: Claimed, operator: str, channel_id: str) -> Attempt:
        """Ring ``operator``; return once the attempt has an outcome (or the call is over)."""
        attempt = Attempt(claimed.order_id, channel_id)
        live = _Live(attempt)
        self._live[channel_id] = live
        if channel_id != claimed.channel_id:
            await self._run(self._set_linkedid, claimed.order_id, channel_id)
        ring = self.config.operator_ring_seconds
        variables = [
            f"CALLBACK_ORDER_ID={claimed.order_id}",
            f"CALLBACK_NUMBER={claimed.phone}",
            f"CALLBACK_CALLERID={self.config.caller_id}",
            f"CALLBACK_RING={self.config.customer_ring_seconds}",
        ]
        try:
            response = await self.ami.action(
                "Originate",
                Channel=f"PJSIP/{operator}",
                Context="callback-bridge",
                Exten="s",
                Priority="1",
                Timeout=str(ring * 1000),
                CallerID=f'"Обратный звонок" <{claimed.phone}>',
                ChannelId=channel_id,
                Variable=variables,
                Async="true",
            )
        except Exception as error:  # noqa: BLE001 - the PBX refused or AMI is away
            attempt.on(OriginateResult(channel_id, "", False, ""))
            attempt.detail = f"AMI: {error}"
            return attempt
        self.originated.append((claimed.order_id, operator, channel_id))
        log.info("callback order %s: ringing %s for %s", claimed.order_id, operator,
                 mask_phone(claimed.phone))
        orphan = self._orphans.pop(getattr(response, "action_id", None) or "", None)
        if orphan is not None:
            live.inbox.put_nowait(orphan[1])
        deadline = asyncio.get_running_loop().time() + ring + self.config.originate_grace
        while attempt.outcome is None:
            timeout = max(0.1, deadline - asyncio.get_running_loop().time())
            if attempt.state != "originating":
                timeout = self.config.liveness_interval
            try:
                event = await asyncio.wait_for(live.inbox.get(), timeout)
            except TimeoutError:
                if attempt.state == "originating":
                    attempt.on(OriginateResult(channel_id, "", False, "0"))
                    attempt.detail = "нет ответа от АТС на вызов оператора"
                    break
                if not await self._channel_alive(channel_id):
                    attempt.on(ChannelGone(channel_id))
                continue
            attempt.on(event)
        return attempt

    async def _follow_to_end(self, attempt: Attempt, claimed: Claimed) -> None:
        """Keep the order's lease until the call is over (or the PBX has no channel of it)."""
        live = self._live.get(attempt.channel_id)
        while live is not None and not attempt.over:
            try:
                event = await asyncio.wait_for(live.inbox.get(), self.config.liveness_interval)
            except TimeoutError:
                if not await self._channel_alive(attempt.channel_id):
                    attempt.on(ChannelGone(attempt.channel_id))
                continue
            attempt.on(event)

    async def _apply(
        self, claimed: Claimed, outcome: Outcome | None, detail: str, operator: str | None
    ) -> None:
        try:
            due = await self._run(self._decide, claimed.order_id, outcome, detail, operator,
                                  self.clock.now())
        except InvalidTransition as error:  # cancelled meanwhile by staff: nothing to do
            log.info("callback order %s: %s", claimed.order_id, error.message)
            return
        if due is not None:
            await self._enqueue(claimed.order_id, due)

    def _decide(
        self,
        order_id: int,
        outcome: Outcome | None,
        detail: str,
        operator: str | None,
        now: datetime,
    ) -> datetime | None:
        """The order's next state for the attempt's outcome; its new due time if requeued."""
        with self.sessions.begin() as s:
            order = service.get_order(s, order_id)
            if order.state != CallbackState.DIALING:
                log.info("callback order %s is %s now: outcome %s not applied", order_id,
                         order.state.value, outcome)
                return None
            if outcome == Outcome.CONNECTED:
                result = service.record_answered(s, order, self.actor, now, operator)
            elif outcome == Outcome.NOT_ANSWERED:
                result = service.record_not_answered(s, order, self.actor, now, detail,
                                                     self.config.retry_delay)
            else:
                result = service.requeue(s, order, self.actor, now,
                                         detail or "попытка не состоялась",
                                         self.config.operator_retry_delay)
            log.info("callback order %s: %s -> %s", order_id, outcome, result.state.value)
            return result.due_at if result.state == CallbackState.SCHEDULED else None

    # -- AMI ---------------------------------------------------------------------------------

    def on_event(self, message: Any) -> None:
        """AMI events, cheap: routed to the attempt they belong to."""
        event = parse_event(message)
        if event is None:
            return
        if isinstance(event, OriginateResult):
            live = self._live.get(event.channel_id) if event.channel_id else None
            if live is None:
                now = time.monotonic()
                self._orphans = {k: v for k, v in self._orphans.items() if now - v[0] < 120}
                if event.action_id:
                    self._orphans[event.action_id] = (now, event)
                return
            live.inbox.put_nowait(event)
            return
        live = self._live.get(event.linkedid)
        if live is not None:
            live.inbox.put_nowait(event)

    async def free_operators(self) -> list[str]:
        """Operators who can take a callback now: idle phones not being rung by any dialer."""
        candidates = list(self.config.operators) or await self._queue_members()
        free = []
        for operator in candidates:
            if operator in self._local_operators:
                continue
            try:
                reply = await self.ami.action("Getvar", Variable=f"DEVICE_STATE(PJSIP/{operator})")
            except Exception:  # noqa: BLE001 - AMI away: nobody is free
                return []
            if (reply.get("Value") or "") not in FREE_DEVICE_STATES:
                continue
            if await self._leased(f"operator:{operator}"):
                continue
            free.append(operator)
        return free

    async def _queue_members(self) -> list[str]:
        try:
            items = await self.ami.action_list("QueueStatus", Queue=self.config.queue)
        except Exception:  # noqa: BLE001
            return []
        members = []
        for item in items:
            if item.name != "QueueMember" or item.get("Paused") == "1":
                continue
            interface = item.get("StateInterface") or item.get("Location") or ""
            if interface.startswith("PJSIP/"):
                members.append(interface.split("/", 1)[1])
        return members

    async def _channel_alive(self, linkedid: str) -> bool:
        try:
            channels = await self.ami.action_list("CoreShowChannels")
        except Exception:  # noqa: BLE001 - cannot tell: assume it is still there
            return True
        return any(c.get("Linkedid") == linkedid for c in channels)

    # -- recovery ----------------------------------------------------------------------------

    def _stale(self, now: datetime) -> list[tuple[int, str | None]]:
        with self.sessions() as s:
            return [(o.id, o.last_linkedid)
                    for o in service.stale_dialing(s, now, self.config.stale_after)]

    async def _recover(self, order_id: int, linkedid: str | None) -> None:
        if await self._leased(f"order:{order_id}"):
            return  # someone is on it
        if linkedid and (not self.ami.connected.is_set() or await self._channel_alive(linkedid)):
            return  # the call may still be going on
        due = await self._run(self._requeue_stale, order_id, self.clock.now())
        if due is not None:
            log.warning("callback order %s was left dialing; queued again", order_id)
            await self._enqueue(order_id, due)

    def _requeue_stale(self, order_id: int, now: datetime) -> datetime | None:
        with self.sessions.begin() as s:
            order = s.get(CallbackOrder, order_id)
            if order is None or order.state != CallbackState.DIALING:
                return None
            if order.updated_at >= now - self.config.stale_after:
                return None
            service.requeue(s, order, self.actor, now,
                            "попытка прервана: набор остановился, звоним снова", timedelta(0))
            return order.due_at

    # -- the database ------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    def _due_ids(self, now: datetime, limit: int, among: list[int] | None) -> list[int]:
        with self.sessions() as s:
            return [o.id for o in service.due_orders(s, now, limit, among)]

    def _scheduled(self) -> list[tuple[int, datetime]]:
        with self.sessions() as s:
            return service.scheduled_orders(s)

    def _set_linkedid(self, order_id: int, linkedid: str) -> None:
        with self.sessions.begin() as s:
            order = s.get(CallbackOrder, order_id)
            if order is not None:
                order.last_linkedid = linkedid

    async def _link_call(self, claimed: Claimed) -> None:
        """Link the order to its call record, once the call tracker has written it."""
        deadline = time.monotonic() + self.config.link_wait
        while True:
            if await self._run(self._link, claimed.order_id):
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        log.info("callback order %s: no call record found to link", claimed.order_id)

    def _link(self, order_id: int) -> bool:
        with self.sessions.begin() as s:
            order = s.get(CallbackOrder, order_id)
            if order is None or not order.last_linkedid:
                return True
            call_id = s.scalar(select(Call.id).where(Call.linkedid == order.last_linkedid))
            if call_id is None:
                return False
            service.link_call(s, order, call_id)
            return True

    # -- Redis (best effort: the database decides) -------------------------------------------

    def _redis_warning(self, error: Exception) -> None:
        if time.monotonic() - self._last_redis_warning > 60:
            self._last_redis_warning = time.monotonic()
            log.warning("callback dialer %s: Redis unavailable (%s); using the database alone",
                        self.name, error)

    def _ttl_ms(self) -> int:
        return int(self.config.lease_seconds * 1000)

    async def _lease(self, name: str, owner: str) -> bool:
        if self.queue is None:
            return True
        try:
            return await self.queue.lock(name, owner, self._ttl_ms())
        except Exception as error:  # noqa: BLE001
            self._redis_warning(error)
            return True

    async def _unlease(self, name: str, owner: str) -> None:
        if self.queue is None:
            return
        try:
            await self.queue.release(name, owner)
        except Exception as error:  # noqa: BLE001
            self._redis_warning(error)

    async def _leased(self, name: str) -> bool:
        if self.queue is None:
            return False
        try:
            return await self.queue.holder(name) is not None
        except Exception as error:  # noqa: BLE001
            self._redis_warning(error)
            return False

    async def _keep_lease(self, name: str, owner: str) -> None:
        if self.queue is None:
            return
        while True:
            await asyncio.sleep(self.config.lease_seconds / 3)
            with contextlib.suppress(Exception):
                await self.queue.refresh(name, owner, self._ttl_ms())

    async def _enqueue(self, order_id: int, due_at: datetime) -> None:
        if self.queue is None:
            return
        try:
            await self.queue.add(order_id, due_at)
        except Exception as error:  # noqa: BLE001
            self._redis_warning(error)

    async def _dequeue(self, order_id: int) -> None:
        if self.queue is None:
            return
        try:
            await self.queue.remove(order_id)
        except Exception as error:  # noqa: BLE001
            self._redis_warning(error)
