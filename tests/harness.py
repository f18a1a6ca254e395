"""The real stack for end-to-end tests: Asterisk, Redis, a database and the controller.

Started once per test session on its own ports and data folder (so it runs beside a
developer's `hotline up`), with the same code `hotline up` uses. Helpers here poll the
database, Redis and AMI for what a test expects; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from calls.models import Call
from base.db import make_engine, make_session_factory
from base.settings import Settings
from hotline.stack.pbx import AMI_TEST_SUFFIX, TESTER_ADDRESS
from telephony.ami import AmiClient
from telephony.sipp import Caller, Callee, Step

T = TypeVar("T")

VOICE_TEXT = "Показания счётчика двенадцать тысяч триста сорок пять"
# Reachable only from phones that authenticated (never from the trunk): the voice check and
# the hold line. Test callers dial them from the test stack's internal tester address.
DIAGNOSTICS_NUMBERS = ("8801", "8802")


def test_settings(data_dir: Path, db_url: str = "") -> Settings:
    """The test stack's settings: every port moved off the developer stack's defaults.

    `HOTLINE_TEST_PORT_OFFSET` (a multiple of 100, default 0) moves them all again, so two
    test sessions (two developers' checkouts on one machine) do not collide.
    """
    o = int(os.environ.get("HOTLINE_TEST_PORT_OFFSET", "0"))
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=db_url,
        redis_port=16390 + o,
        sip_port=15060 + o,
        rtp_port_start=21000 + o * 10,
        rtp_port_end=21000 + o * 10 + 999,
        ami_port=15038 + o,
        agi_port=14573 + o,
        audiosocket_port=19092 + o,
        console_port=18080 + o,
        test_endpoint_port_base=15070 + o,
        pbx_node=f"testpbx{o // 100}" if o else "testpbx",
        ami_backoff_initial=0.2,
        ami_backoff_max=1.0,
        config_cache_seconds=0.2,
        queue_callback_offer_s=5,  # the queue's "press 1 for a callback", soon enough to test
    )


async def poll(
    probe: Callable[[], Awaitable[T | None]] | Callable[[], T | None],
    timeout: float = 20.0,
    what: str = "a condition",
    interval: float = 0.1,
) -> T:
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        last = value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)


_caller_numbers = itertools.count(1)


@dataclass
class Stack:
    settings: Settings
    workdir: Path
    sessions: sessionmaker[Session] = field(init=False)
    ami: AmiClient | None = None
    _first_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = make_session_factory(make_engine(self.settings.db_url))

    # -- callers and callees -----------------------------------------------------------------

    def new_caller_id(self) -> str:
        """A unique Russian mobile number per caller, so its channel and record are found."""
        return f"7999{os.getpid() % 1000:03d}{next(_caller_numbers):04d}"

    async def call(self, number: str, steps: list[Step], caller_id: str | None = None,
                   source: str | None = None) -> Caller:
        """A sipp caller dialling `number`, from the trunk's address by default.

        The diagnostics numbers answer only internal phones, so they are dialled from the test
        stack's internal tester address; `source` names any other address to call from.
        """
        caller_id = caller_id or self.new_caller_id()
        folder = self.workdir / "sipp" / f"{caller_id}-{number}"
        if source is None:
            source = TESTER_ADDRESS if number in DIAGNOSTICS_NUMBERS else ""
        caller = Caller(number, caller_id, list(steps), folder, self.settings.public_bind_address,
                        self.settings.sip_port, source=source)
        # Calls from this number before now belong to earlier tests: never match them.
        self._first_id[caller_id] = self._max_call_id() + 1
        return await caller.start()

    def _max_call_id(self) -> int:
        from sqlalchemy import func

        with self.sessions() as s:
            return int(s.scalar(select(func.max(Call.id))) or 0)

    async def callee(self, endpoint: str, mode: str = "answer", **kw: Any) -> Callee:
        """A sipp UAS on the static contact of `operatorN` or `calleeN`."""
        kind, n = endpoint.rstrip("0123456789"), int(endpoint[len(endpoint.rstrip("0123456789")):])
        base = self.settings.test_endpoint_port_base
        port = base + n if kind == "operator" else base + 20 + n
        folder = self.workdir / "sipp" / f"{endpoint}-{mode}-{next(_caller_numbers)}"
        return await Callee(port=port, mode=mode, folder=folder, host=self.settings.public_bind_address,
                            **kw).start()

    # -- the database ------------------------------------------------------------------------

    def call_record(self, caller_id: str) -> Call | None:
        """The latest call from `caller_id` placed by this session's `call()`."""
        with self.sessions() as s:
            return s.scalar(
                select(Call).options(selectinload(Call.events))
                .where(Call.caller_number == caller_id, Call.id >= self._first_id.get(caller_id, 0))
                .order_by(Call.id.desc()).limit(1)
            )

    async def wait_call(self, caller_id: str, what: str = "recorded", timeout: float = 30.0,
                        check: Callable[[Call], bool] | None = None) -> Call:
        def probe() -> Call | None:
            record = self.call_record(caller_id)
            if record is None:
                return None
            return record if (check is None or check(record)) else None

        return await poll(probe, timeout, f"the call from {caller_id} to be {what}")

    async def wait_ended(self, caller_id: str, timeout: float = 30.0) -> Call:
        return await self.wait_call(caller_id, "ended", timeout, lambda c: c.ended_at is not None)

    async def wait_event(self, caller_id: str, kind: str, timeout: float = 30.0, **match: Any) -> Call:
        def has(c: Call) -> bool:
            return any(e.kind == kind and all(e.data.get(k) == v for k, v in match.items()) for e in c.events)

        return await self.wait_call(caller_id, f"noted {kind} {match}", timeout, has)

    # -- admin documents (hours, queue) -------------------------------------------------------

    def set_config(self, key: str, value: dict[str, Any]) -> None:
        from base.config_store import write

        with self.sessions.begin() as s:
            write(s, key, value, actor="tests")

    def clear_config(self, key: str) -> None:
        from base.config_store import ConfigEntry

        with self.sessions.begin() as s:
            entry = s.get(ConfigEntry, key)
            if entry is not None:
                s.delete(entry)

    # -- the controller ----------------------------------------------------------------------

    def synced_at(self) -> str | None:
        """When the controller last resynchronised with the PBX after an AMI login."""
        import redis

        client = redis.Redis.from_url(self.settings.redis_dsn, decode_responses=True)
        try:
            return client.hget(f"{self.settings.redis_prefix}:state", "ami_synced_at")
        finally:
            client.close()

    # -- the PBX -----------------------------------------------------------------------------

    def ami_client(self, name: str = "ami:tests") -> AmiClient:
        """An AMI client as the test harness's own user (test stacks only), not the controller's."""
        s = self.settings
        return AmiClient(s.internal_bind_address, s.ami_port, s.ami_username + AMI_TEST_SUFFIX, s.ami_secret,
                         backoff_initial=0.2, backoff_max=1.0, name=name)

    async def channels(self) -> list[Any]:
        assert self.ami is not None
        return await self.ami.action_list("CoreShowChannels")

    async def hangup_all(self) -> None:
        """Leftover channels from a previous test are hung up, and gone, before the next."""
        assert self.ami is not None
        for ch in await self.channels():
            try:
                await self.ami.action("Hangup", Channel=ch.get("Channel"))
            except Exception:  # noqa: BLE001 - it may have gone by itself meanwhile
                pass
        await poll(lambda: self._no_channels(), 15, "no channels left on the PBX")

    async def _no_channels(self) -> bool:
        return not await self.channels()


def operators_schedule(open_all_week: bool) -> dict[str, Any]:
    """An operators' schedule open around the clock, or never open (no holidays applied)."""
    from hours.service import OPERATOR_HOURS, WEEKDAY_KEYS, to_json

    doc = to_json(OPERATOR_HOURS)
    doc["weekly"] = {key: (["00:00-24:00"] if open_all_week else []) for key in WEEKDAY_KEYS}
    doc["observe_public_holidays"] = False
    doc["shorten_pre_holiday"] = False
    return doc


def recording_stats(path: Path) -> dict[str, float]:
    out = subprocess.run(["sox", str(path), "-n", "stats"], capture_output=True, text=True).stderr
    stats = {}
    for line in out.splitlines():
        parts = line.rsplit(None, 1)
        if len(parts) == 2:
            try:
                stats[parts[0].strip()] = float(parts[1])
            except ValueError:
                stats[parts[0].strip()] = float("-inf") if parts[1] == "-inf" else float("nan")
    return stats


def make_voice(cache_dir: Path, text: str = VOICE_TEXT) -> Path:
    """The caller's voice: Festival's Russian speech, as µ-law 8 kHz for sipp."""
    from ivr.prompts import render
    from telephony.sipp.audio import to_ulaw

    return to_ulaw(render(text, cache_dir), cache_dir)


@dataclass
class Script:
    """Drives one caller through a flow: wait for a step, then release the next key press."""

    stack: Stack
    caller: Caller
    seen: int = -1  # index of the last flow event already matched

    async def reach(self, step: str, timeout: float = 40.0, flow: str | None = None) -> None:
        """Wait until the flow enters `step` (a new occurrence, after the ones already seen)."""

        def probe() -> int | None:
            record = self.stack.call_record(self.caller.caller_id)
            if record is None:
                return None
            for i, e in enumerate(record.events):
                if i > self.seen and e.kind == "flow" and e.data.get("step") == step and (
                    flow is None or e.data.get("flow") == flow
                ):
                    return i + 1  # truthy even for index 0
            return None

        self.seen = await poll(probe, timeout, f"step {step!r} for caller {self.caller.caller_id}") - 1

    async def press(self) -> None:
        assert self.stack.ami is not None
        await self.caller.go(self.stack.ami)

    async def at(self, step: str, timeout: float = 40.0) -> None:
        """Wait for `step`, then press the caller's next keys."""
        await self.reach(step, timeout)
        await self.press()

    def events(self, kind: str) -> list[dict[str, Any]]:
        record = self.stack.call_record(self.caller.caller_id)
        return [] if record is None else [e.data for e in record.events if e.kind == kind]

    def steps(self) -> list[str]:
        return [d.get("step", "") for d in self.events("flow")]


# -- what the caller hears -------------------------------------------------------------------


def identification(stack: Stack, caller_id: str) -> list[tuple[str, str]]:
    """How a caller whose number is on an account identifies, the way the flow asks:
    each flow step that asks, with the keys the caller presses there. The one place to change
    when identification changes; tests that identify a caller read it from here."""
    from accounts.service import find_by_phone

    with stack.sessions() as s:
        accounts = find_by_phone(s, caller_id)
    assert len(accounts) == 1, f"one account on {caller_id}, not {len(accounts)}"
    # The caller proves the account: its last four digits (nothing is read out to them first).
    return [("enter_tail", accounts[0].number[-4:] + "#")]


def prompt_folders(settings: Settings) -> dict[str, Path]:
    """Where the prompts the PBX plays are, as `audio_match.load_prompts` takes them: ours as
    `hotline:<name>` (the instance's sounds folder) and the Russian pack's as `digits/<n>` (in
    the PBX root filesystem, behind Debian's alternatives symlinks)."""
    from hotline.stack.pbx import rootfs_path

    root = rootfs_path(settings)
    pack = Path("/usr/share/asterisk/sounds/ru")
    for _ in range(10):  # the alternatives' links are absolute paths inside the root
        on_host = root / pack.relative_to("/")
        if not on_host.is_symlink():
            break
        target = Path(os.readlink(on_host))
        pack = target if target.is_absolute() else pack.parent / target
    return {"hotline:": settings.pbx_instance_dir / "sounds", "": root / pack.relative_to("/")}
