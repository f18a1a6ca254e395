"""The call writer: nothing dropped while the database is away, one bad row costs no other call
its rows, order kept (a fake store; the sleeps are recorded, not slept)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DataError, OperationalError

from base.clock import FixedClock
from base.events import EventBus
from calls.handlers import RETRY_MAX_S, CallTracker, startup_from_status
from calls.registry import CallEnded, CallRegistry, CallStarted, Effect

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def started(linkedid: str, caller: str = "79990000001") -> CallStarted:
    return CallStarted(linkedid, linkedid, "PJSIP/trunk-1", "inbound", caller, None, "8800", T0)


class FlakyStore:
    """Away for `outage` attempts, then writes; refuses any effect of a call named 'bad'."""

    def __init__(self, outage: int = 0) -> None:
        self.outage = outage
        self.attempts = 0
        self.written: list[Effect] = []
        self.notes: list[tuple[str, str]] = []

    def apply(self, effects: list[Effect]) -> None:
        self.attempts += 1
        if self.attempts <= self.outage:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        if any(e.linkedid == "bad" for e in effects):
            raise DataError("INSERT", {}, ValueError("value too long for type character varying(64)"))
        self.written.extend(effects)

    def add_event(self, linkedid: str, kind: str, data: dict, at: datetime) -> bool:  # type: ignore[type-arg]
        self.notes.append((linkedid, kind))
        return True

    def open_calls(self) -> list[Any]:
        return []


async def _tracker(store: FlakyStore) -> tuple[CallTracker, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    tracker = CallTracker(CallRegistry(), store, EventBus(None), FixedClock(T0), sleep=sleep)  # type: ignore[arg-type]
    await tracker.start()
    return tracker, slept


async def test_a_long_outage_drops_nothing_and_keeps_order() -> None:
    store = FlakyStore(outage=40)  # far more than the old six attempts
    tracker, slept = await _tracker(store)
    tracker._queue.put_nowait(("effects", [started("1")]))
    tracker.note("1", "flow", step="menu")
    tracker._queue.put_nowait(("effects", [CallEnded("1", T0, "completed", 16, "Normal Clearing")]))
    await tracker.flush()
    assert [type(e).__name__ for e in store.written] == ["CallStarted", "CallEnded"]
    assert store.notes == [("1", "flow")]
    assert len(slept) == 40 and max(slept) == RETRY_MAX_S  # backoff capped, never given up
    assert tracker.outages and tracker.outages[0][1] == 40 and tracker.dropped == 0
    await tracker.stop()


async def test_one_bad_call_does_not_spoil_the_others() -> None:
    store = FlakyStore()
    tracker, _ = await _tracker(store)
    tracker._queue.put_nowait(("effects", [started("1"), started("bad"), started("2")]))
    tracker._queue.put_nowait(("effects", [CallEnded("bad", T0, "completed", 16, None),
                                           CallEnded("1", T0, "completed", 16, None)]))
    await tracker.flush()
    assert sorted((e.linkedid, type(e).__name__) for e in store.written) == [
        ("1", "CallEnded"), ("1", "CallStarted"), ("2", "CallStarted")]
    assert tracker.dropped == 2  # the bad call's two effects, each logged
    await tracker.stop()


class Reply(dict):  # type: ignore[type-arg]
    pass


def test_pbx_start_from_core_status() -> None:
    """CoreStatus as Asterisk 22 sends it (the PBX runs in UTC): no current time, no zone."""
    now = datetime(2026, 12, 2, 12, 0, 0, 400000, tzinfo=UTC)
    reply = Reply(Response="Success", CoreStartupDate="2026-12-02", CoreStartupTime="11:59:50",
                  CoreReloadDate="2026-12-02", CoreReloadTime="11:59:50", CoreCurrentCalls="0")
    assert startup_from_status(reply, now) == datetime(2026, 12, 2, 11, 59, 50, tzinfo=UTC)
    # A PBX three hours ahead (Moscow time) would claim a start in the future: unknown.
    moscow = Reply(CoreStartupDate="2026-12-02", CoreStartupTime="14:59:50")
    assert startup_from_status(moscow, now) is None
    assert startup_from_status(Reply(Response="Error"), now) is None


class ImportingStore(FlakyStore):
    """Its import is refused for good all at once, and works call by call (`careful`)."""

    def __init__(self) -> None:
        super().__init__()
        self.imports: list[bool] = []

    def import_cel(self, read: Any, live: Any, pbx_started_at: Any, now: Any, careful: bool = False) -> Any:
        self.imports.append(careful)
        if not careful:
            raise DataError("INSERT", {}, ValueError("value too long"))
        from calls.service import ImportResult

        return ImportResult(4, 0, 0, 0, 0, 100, refused=1)


async def test_an_import_refused_for_good_is_done_again_call_by_call() -> None:
    store = ImportingStore()
    tracker, _ = await _tracker(store)
    tracker._queue.put_nowait(("import", (frozenset(), None)))
    tracker._queue.put_nowait(("effects", [started("1")]))
    await tracker.flush()
    assert store.imports == [False, True]
    assert tracker.last_import is not None and tracker.last_import.refused == 1
    assert [e.linkedid for e in store.written] == ["1"]  # and the writer went on
    await tracker.stop()
