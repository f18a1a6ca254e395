"""AMI side of the call records: events -> registry -> effects -> writer queue.

`on_event` is cheap (a dictionary update and a queue put), so the AMI dispatcher never waits
for the database; one writer task applies effects in order through a single DB thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from calls.registry import CallEnded, CallNoted, CallRegistry, CallStarted, Effect, LiveChannel
from calls.service import CallStore
from base.clock import Clock
from base.events import EventBus

log = logging.getLogger("calls")

CALL_EVENTS = ("Newchannel", "Newstate", "Hangup", "UserEvent", "DialBegin", "DialEnd")


class CallTracker:
    def __init__(self, registry: CallRegistry, store: CallStore, bus: EventBus, clock: Clock) -> None:
        self.registry = registry
        self.store = store
        self.bus = bus
        self.clock = clock
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

    async def stop(self) -> None:
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
        """After each AMI login: reconcile calls with the channels Asterisk still has."""
        pbx_started_at = await pbx_started(ami, self.clock.now())
        items = await ami.action_list("CoreShowChannels")
        live = [LiveChannel.from_message(m) for m in items]
        effects = self.registry.resync(live, self.clock.now(), pbx_started_at, self.lost_at)
        self.lost_at = None
        closed = sum(isinstance(e, CallEnded) for e in effects)
        adopted = sum(isinstance(e, CallStarted) for e in effects)
        log.info("resynchronised with the PBX: %d live channel(s), %d call(s) closed, %d adopted",
                 len(live), closed, adopted)
        if effects:
            self._queue.put_nowait(("effects", effects))
        await self.bus.mark("ami_synced_at", self.clock.now().isoformat())
        await self.bus.replace_live({lid: {"started_at": c.started_at, "answered": c.answered}
                                     for lid, c in self.registry.calls.items()})

    # -- flows -------------------------------------------------------------------------------

    def note(self, linkedid: str, kind: str, **data: Any) -> None:
        """A flow's event for the call's trail (ordered after the call's own events)."""
        self._queue.put_nowait(("note", (linkedid, kind, data, self.clock.now())))

    # -- the writer --------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            kind, payload = await self._queue.get()
            batch: list[tuple[str, Any]] = [(kind, payload)]
            while not self._queue.empty() and len(batch) < 200:
                batch.append(self._queue.get_nowait())
            try:
                effects: list[Effect] = [e for k, p in batch if k == "effects" for e in p]
                if effects:
                    await self._retrying(loop, self.store.apply, effects)
                for k, p in batch:
                    if k == "note":
                        await self._retrying(loop, self.store.add_event, *p)
                for effect in effects:
                    await self._publish(effect)
            except Exception:  # noqa: BLE001 - keep writing the next calls
                log.exception("could not write %d call record change(s)", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _retrying(self, loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> Any:
        delay = 0.2
        for attempt in range(6):
            try:
                return await loop.run_in_executor(self._db, fn, *args)
            except Exception as exc:  # noqa: BLE001 - database briefly away: retry, then give up loudly
                if attempt == 5:
                    raise
                log.warning("database write failed (%s), retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay *= 2
        return None

    async def _publish(self, effect: Effect) -> None:
        name = type(effect).__name__
        data = {k: v for k, v in vars(effect).items() if k not in ("caller_number", "caller_name", "kind")}
        if isinstance(effect, CallNoted):
            data["note"] = effect.kind
        await self.bus.publish(name, **data)
        if isinstance(effect, CallStarted):
            await self.bus.set_live(effect.linkedid, {"started_at": effect.at, "direction": effect.direction,
                                                       "called": effect.called_number})
        elif isinstance(effect, CallEnded):
            await self.bus.set_live(effect.linkedid, None)


async def pbx_started(ami: Any, now: datetime) -> datetime | None:
    """When Asterisk started, from its uptime (immune to the PBX's own time zone)."""
    try:
        reply = await ami.action("Command", Command="core show uptime seconds")
    except Exception:  # noqa: BLE001 - unknown start: calls are closed by their own outcome
        log.warning("could not read the PBX uptime")
        return None
    text = " ".join(reply.getall("Output")) if hasattr(reply, "getall") else str(reply)
    match = re.search(r"System uptime:\s*(\d+)", text)
    if not match:
        return None
    return now - timedelta(seconds=int(match.group(1)))
