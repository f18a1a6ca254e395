"""AMI side of the call records: events -> registry -> effects -> writer queue.

`on_event` is cheap (a dictionary update and a queue put), so the AMI dispatcher never waits
for the database; one writer task applies effects in order through a single DB thread.

The writer never drops what it was given because the database is away: it retries without
limit (backoff capped at `RETRY_MAX_S`), in order. A change the database refuses for good (a
bad row, not an outage) is isolated: the batch is written call by call, then effect by
effect, so one call's bad row does not cost other calls theirs.

After every AMI login the tracker first imports the PBX's own account of calls (CEL, see
calls/cel.py) from its high-water mark, with the PBX's times and causes, then reconciles
the calls it knows with the PBX's channels.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from base.clock import Clock
from base.events import EventBus
from calls.registry import (
    CallEnded,
    CallImported,
    CallNoted,
    CallRegistry,
    CallStarted,
    Effect,
    LiveChannel,
)
from calls.service import CallStore, CelReader, ImportResult

log = logging.getLogger("calls")

CALL_EVENTS = ("Newchannel", "Newstate", "Hangup", "UserEvent", "DialBegin", "DialEnd")
RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0


def is_outage(exc: BaseException) -> bool:
    """The database is away (retry until it is back), not refusing this change for good."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def cel_reader(path: Path) -> CelReader:
    """Reads the PBX's CEL file from a position; a replaced file (new device:inode) or a
    shorter one is read from its start (the import is idempotent)."""

    def read(position: int, file_id: str) -> tuple[bytes, str, int]:
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                current = f"{st.st_dev}:{st.st_ino}"
                if current != file_id or st.st_size < position:
                    position = 0
                f.seek(position)
                return f.read(), current, position
        except FileNotFoundError:
            return b"", "", 0

    return read


def _no_cel(position: int, file_id: str) -> tuple[bytes, str, int]:
    return b"", "", 0


class CallTracker:
    def __init__(self, registry: CallRegistry, store: CallStore, bus: EventBus, clock: Clock,
                 cel: CelReader | None = None, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.registry = registry
        self.store = store
        self.bus = bus
        self.clock = clock
        self.cel = cel or _no_cel
        self._sleep = sleep
        self.outages: list[tuple[float, int]] = []  # (seconds the writer waited, attempts) per outage
        self.dropped = 0  # effects the database refused for good (logged each)
        self.last_import: ImportResult | None = None
        self.synced_at: str | None = None  # when the last AMI resync ended
        self._watch: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calls-db")
        self._writer: asyncio.Task[None] | None = None
        self.lost_at: datetime | None = None  # when the AMI connection was last lost

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for linkedid, started_at, answered in await loop.run_in_executor(self._db, self.store.open_calls):
            self.registry.restore(linkedid, started_at, answered)
        if self.registry.calls:
            log.info("%d call(s) open in the database, to be checked against the PBX", len(self.registry.calls))
        self._writer = asyncio.create_task(self._write_loop(), name="calls-writer")
        self._watch = asyncio.create_task(self.keep_live_state(), name="calls-live-state")

    async def stop(self) -> None:
        if self._watch:
            self._watch.cancel()
        await self.flush()
        if self._writer:
            self._writer.cancel()
        self._db.shutdown(wait=True)

    async def flush(self) -> None:
        """Wait until everything queued so far is in the database."""
        await self._queue.join()

    # -- AMI ---------------------------------------------------------------------------------

    def on_event(self, message: Any) -> None:
        effects = self.registry.handle(message, self.clock.now())
        if effects:
            self._queue.put_nowait(("effects", effects))

    def on_disconnect(self, *_: Any) -> None:
        self.lost_at = self.clock.now()

    async def resync(self, ami: Any) -> None:
        """After each AMI login: import what the PBX's own account (CEL) says since the mark,
        then reconcile calls with the channels Asterisk still has. The import is queued first,
        so its true times and causes are written before any estimate of the resync."""
        pbx_started_at = await pbx_started(ami)
        items = await ami.action_list("CoreShowChannels")
        live = [LiveChannel.from_message(m) for m in items]
        self._queue.put_nowait(("import", (frozenset(c.linkedid for c in live), pbx_started_at)))
        effects = self.registry.resync(live, self.clock.now(), pbx_started_at, self.lost_at)
        self.lost_at = None
        closed = sum(isinstance(e, CallEnded) for e in effects)
        adopted = sum(isinstance(e, CallStarted) for e in effects)
        log.info("resynchronised with the PBX: %d live channel(s), %d call(s) closed, %d adopted",
                 len(live), closed, adopted)
        if effects:
            self._queue.put_nowait(("effects", effects))
        self.synced_at = self.clock.now().isoformat()
        await self.bus.replace_live(self._live_states())
        await self.bus.mark("ami_synced_at", self.synced_at)

    def _live_states(self) -> dict[str, dict[str, Any]]:
        return {lid: {"started_at": c.started_at, "answered": c.answered} for lid, c in self.registry.calls.items()}

    async def keep_live_state(self, every: float = 1.0) -> None:
        """Redis is not durable: when it comes back empty (restarted), rebuild the live calls
        from the registry (itself reconciled with the PBX) and the controller's marks."""
        while True:
            await asyncio.sleep(every)
            if self.synced_at is None or await self.bus.has_mark("ami_synced_at") is not False:
                continue
            states = self._live_states()
            await self.bus.replace_live(states)
            await self.bus.mark("live_rebuilt_at", self.clock.now().isoformat())
            await self.bus.mark("ami_synced_at", self.synced_at)
            log.warning("Redis came back without the live state: %d live call(s) rebuilt", len(states))

    # -- flows -------------------------------------------------------------------------------

    def note(self, linkedid: str, kind: str, **data: Any) -> None:
        """A flow's event for the call's trail (ordered after the call's own events)."""
        self._queue.put_nowait(("note", (linkedid, kind, data, self.clock.now())))

    # -- the writer --------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch: list[tuple[str, Any]] = [first]
            while not self._queue.empty() and len(batch) < 200:
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except Exception:
                log.exception("could not write %d call record change(s)", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[str, Any]]) -> None:
        """The batch in order: runs of effects in one transaction, notes and imports after."""
        effects: list[Effect] = []
        for kind, payload in batch:
            if kind == "effects":
                effects.extend(payload)
                continue
            await self._effects(effects)
            effects = []
            if kind == "note":
                await self._isolated(f"a {payload[1]!r} note of call {payload[0]}", self.store.add_event, *payload)
            elif kind == "import":
                await self._import(*payload)
        await self._effects(effects)

    async def _effects(self, effects: list[Effect]) -> None:
        if not effects:
            return
        try:
            await self._persist(self.store.apply, effects)
        except Exception:  # noqa: BLE001 - refused for good: find the bad change, keep the rest
            by_call: dict[str, list[Effect]] = {}
            for effect in effects:
                by_call.setdefault(effect.linkedid, []).append(effect)
            for linkedid, group in by_call.items():
                try:
                    await self._persist(self.store.apply, group)
                except Exception:  # noqa: BLE001
                    for effect in group:
                        await self._isolated(f"{type(effect).__name__} of call {linkedid}", self.store.apply,
                                             [effect])
        for effect in effects:
            await self._publish(effect)

    async def _import(self, live: frozenset[str], pbx_started_at: datetime | None) -> None:
        started = asyncio.get_running_loop().time()
        args = (self.cel, live, pbx_started_at, datetime.now(UTC))  # the real time: see calls/cel.py
        try:
            result = await self._persist(self.store.import_cel, *args)
        except Exception:  # refused for good: again, call by call
            log.exception("the import of the PBX's call records failed; importing call by call")
            result = await self._isolated("the import of the PBX's call records (CEL)",
                                          functools.partial(self.store.import_cel, careful=True), *args)
        if result is None:
            return
        self.last_import = result
        log.info("imported the PBX's call records in %.2f s: %d new call(s), %d completed, %d unchanged, "
                 "%d left for later, %d bad line(s), %d bytes read, %d refused",
                 asyncio.get_running_loop().time() - started, result.created, result.completed, result.unchanged,
                 result.waiting, result.bad_lines, result.read_bytes, result.refused)

    async def _isolated(self, what: str, fn: Any, *args: Any) -> Any:
        """`fn` retried while the database is away; a change refused for good is logged and left."""
        try:
            return await self._persist(fn, *args)
        except Exception:
            self.dropped += 1
            log.exception("the database refused %s for good; the other changes are kept", what)
            return None

    async def _persist(self, fn: Any, *args: Any) -> Any:
        """Run `fn` in the DB thread; while the database is away, retry without limit (in order:
        nothing after it is written meanwhile), with backoff capped at RETRY_MAX_S."""
        loop = asyncio.get_running_loop()
        delay = RETRY_FIRST_S
        attempts = 0
        began = loop.time()
        while True:
            try:
                result = await loop.run_in_executor(self._db, fn, *args)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                attempts += 1
                if attempts == 1 or attempts % 10 == 0:
                    log.warning("database away (%s); still holding the call records, retry %d in %.1f s",
                                type(exc).__name__, attempts, delay)
                await self._sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if attempts:
                waited = loop.time() - began
                self.outages.append((waited, attempts))
                log.warning("database back after %.1f s and %d retries; nothing was dropped", waited, attempts)
            return result

    async def _publish(self, effect: Effect) -> None:
        name = type(effect).__name__
        data = {k: v for k, v in vars(effect).items() if k not in ("caller_number", "caller_name", "kind")}
        if isinstance(effect, CallNoted):
            data["note"] = effect.kind
        await self.bus.publish(name, **data)
        if isinstance(effect, CallImported):
            live = {"started_at": effect.started_at, "direction": effect.direction, "called": effect.called_number}
            await self.bus.set_live(effect.linkedid, live if effect.ended_at is None else None)
        elif isinstance(effect, CallStarted):
            await self.bus.set_live(effect.linkedid, {"started_at": effect.at, "direction": effect.direction,
                                                       "called": effect.called_number})
        elif isinstance(effect, CallEnded):
            await self.bus.set_live(effect.linkedid, None)


async def pbx_started(ami: Any) -> datetime | None:
    """When Asterisk started, from `CoreStatus` (no `command` right needed); see
    `startup_from_status`."""
    try:
        reply = await ami.action("CoreStatus")
    except Exception:  # noqa: BLE001 - unknown start: calls are closed by their own outcome
        log.warning("could not read the PBX's start time (CoreStatus)")
        return None
    # The real UTC time (not the injected clock, which tests may shift): it only checks the
    # PBX's own clock reading.
    return startup_from_status(reply, datetime.now(UTC))


def startup_from_status(reply: Any, now: datetime) -> datetime | None:
    """The PBX's start from a CoreStatus reply (CoreStartupDate, CoreStartupTime), in UTC.

    Asterisk gives it as a local date and time with no zone; the project starts Asterisk with
    TZ=UTC (hotline/stack/pbx.py, docker/pbx.Dockerfile runs in UTC), so they are UTC. A start
    in the future (a PBX in another zone after all) is no answer: None, never a wrong time.
    """
    try:
        started = datetime.strptime(f"{reply.get('CoreStartupDate')} {reply.get('CoreStartupTime')}",
                                    "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    if started > now + timedelta(seconds=60):
        log.warning("the PBX says it started in the future (%s): is it running in UTC?", started.isoformat())
        return None
    return started
