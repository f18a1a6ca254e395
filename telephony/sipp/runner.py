"""Real SIP calls with sipp (Debian's `sip-tester`): test callers and callees.

Each `SippProcess` is one sipp run in its own folder (scenario, injection file, traces), so
a failing test leaves the exact SIP messages behind. sipp exits 0 when every call followed
the scenario; anything else is a failed call.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import logging
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from telephony.sipp import scenarios
from telephony.sipp.dtmf import write_call_pcaps
from telephony.sipp.scenarios import Go, Step

log = logging.getLogger("telephony.sipp")

SIPP = "sipp"
_media_ports = itertools.count(0)


class AmiActions(Protocol):
    async def action_list(self, name: str, **fields: object) -> list: ...  # noqa: E704
    async def action(self, name: str, **fields: object): ...  # noqa: E704, ANN201


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def free_media_port(host: str = "127.0.0.1") -> int:
    """An even port with the next three free too (RTP, RTCP, and sipp's +2 for video).

    Taken from 24000-32000: below the kernel's ephemeral range (32768+), where any outgoing
    connection could take the port between this check and sipp's bind, and apart from the
    PBX's RTP ranges (10000-20000 for `hotline up`, 21000-24000 for the tests).
    """
    for _ in range(200):
        base = 24000 + (next(_media_ports) * 4 + os.getpid() * 8) % 8000
        base -= base % 2
        try:
            socks = []
            for offset in range(4):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((host, base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free media port range for sipp")


@dataclass
class SippResult:
    returncode: int
    successful: int
    failed: int
    folder: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failed == 0

    def explain(self) -> str:
        errors = "\n".join(p.read_text(errors="replace")[-3000:] for p in self.folder.glob("*_errors.log"))
        return f"sipp exit {self.returncode}, {self.successful} ok, {self.failed} failed; {self.folder}\n{errors}"


@dataclass
class SippProcess:
    scenario_xml: str
    folder: Path
    args: list[str]
    name: str = "sipp"
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        if shutil.which(SIPP) is None:
            raise RuntimeError("sipp is not installed: run `make setup` (Debian package sip-tester)")
        self.folder.mkdir(parents=True, exist_ok=True)
        scenario = self.folder / f"{self.name}.xml"
        scenario.write_text(self.scenario_xml)
        argv = [SIPP, *self.args, "-sf", str(scenario), "-nostdin", "-trace_err", "-trace_stat",
                "-trace_msg", "-trace_screen"]
        (self.folder / "argv.txt").write_text(" ".join(argv) + "\n")
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "stderr.log", "wb"),  # noqa: SIM115 - owned by the process
            start_new_session=True,
        )

    async def wait(self, timeout: float = 120.0) -> SippResult:
        assert self.proc is not None, "start() first"
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            await self.kill()
            code = -9
        return self._result(code)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def _result(self, code: int) -> SippResult:
        ok = failed = 0
        screens = sorted(self.folder.glob("*_screen.log"))
        if screens:
            text = screens[-1].read_text(errors="replace")
            m_ok = re.findall(r"Successful call\s+\|\s+\d+\s+\|\s+(\d+)", text)
            m_failed = re.findall(r"Failed call\s+\|\s+\d+\s+\|\s+(\d+)", text)
            ok = int(m_ok[-1]) if m_ok else 0
            failed = int(m_failed[-1]) if m_failed else 0
        return SippResult(code, ok, failed, self.folder)


@dataclass
class Caller:
    """One test caller: dials `number` from `caller_id` and runs `steps`.

    `await caller.go(ami)` releases the next `Go()` step; `await caller.channel(ami)` finds
    the caller's channel on the PBX (by its unique caller number).
    """

    number: str
    caller_id: str
    steps: list[Step]
    folder: Path
    pbx_host: str = "127.0.0.1"
    pbx_port: int = 5060
    local_port: int = 0
    media_port: int = 0
    process: SippProcess | None = None
    _channel: str | None = None
    _gos_sent: int = 0
    extra_args: list[str] = field(default_factory=list)
    # The caller's own address (SIP and RTP); empty: the PBX's host. Any 127.x.y.z is this
    # machine, so a loopback caller can still come from an address the PBX does not know.
    source: str = ""

    async def start(self) -> "Caller":
        local = self.source or self.pbx_host
        self.local_port = self.local_port or free_udp_port(local)
        self.media_port = self.media_port or free_media_port(local)
        self.folder.mkdir(parents=True, exist_ok=True)
        inf = self.folder / "callers.csv"
        inf.write_text(f"SEQUENTIAL\n{self.caller_id};\n")
        args = [
            f"{self.pbx_host}:{self.pbx_port}", "-s", self.number, "-inf", str(inf),
            "-i", local, "-p", str(self.local_port), "-mi", local,
            "-mp", str(self.media_port), "-m", "1", "-l", "1", "-timeout", "300s",
            "-max_recv_loops", "1000", *self.extra_args,
        ]
        pcaps = write_call_pcaps(scenarios.all_digits(self.steps), self.folder / "dtmf")
        self.process = SippProcess(scenarios.caller_scenario(self.steps, pcaps), self.folder, args, "caller")
        await self.process.start()
        return self

    async def wait(self, timeout: float = 120.0) -> SippResult:
        assert self.process is not None
        return await self.process.wait(timeout)

    async def hangup_now(self) -> None:
        if self.process is not None:
            await self.process.kill()

    async def channel(self, ami: AmiActions, timeout: float = 20.0) -> str:
        """The caller's channel name on the PBX, polled from CoreShowChannels."""
        if self._channel:
            return self._channel
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            for item in await ami.action_list("CoreShowChannels"):
                if item.get("CallerIDNum") == self.caller_id and item.get("Channel", "").startswith("PJSIP/"):
                    self._channel = item.get("Channel")
                    return self._channel  # type: ignore[return-value]
            if self.process is not None and not self.process.running:
                break
            await asyncio.sleep(0.1)
        raise TimeoutError(f"no channel on the PBX for caller {self.caller_id}")

    async def go(self, ami: AmiActions) -> None:
        """Release the caller's next `Go()` step with an in-dialog NOTIFY."""
        waits = sum(isinstance(s, Go) for s in self.steps)
        if self._gos_sent >= waits:
            raise RuntimeError(f"the caller's script has only {waits} Go() steps")
        channel = await self.channel(ami)
        await ami.action("PJSIPNotify", Channel=channel, Variable=["Event=hotline-test", "X-Hotline-Step=go"])
        self._gos_sent += 1


@dataclass
class Callee:
    """A test phone on the PBX's static contact for an endpoint (operatorN / calleeN)."""

    port: int
    mode: str = "answer"  # answer | reject | ring
    calls: int = 1
    folder: Path = Path("/tmp")
    ring_ms: int = 300
    reject_code: int = 486
    voice: Path | None = None
    hold_ms: int = 0
    host: str = "127.0.0.1"
    process: SippProcess | None = None

    async def start(self) -> "Callee":
        media = free_media_port(self.host)
        args = [
            "-i", self.host, "-p", str(self.port), "-mi", self.host, "-mp", str(media),
            "-m", str(self.calls), "-timeout", "600s",
        ]
        xml = scenarios.callee_scenario(self.mode, self.ring_ms, self.reject_code, self.voice, self.hold_ms)
        self.process = SippProcess(xml, self.folder, args, f"callee-{self.mode}")
        await self.process.start()
        return self

    async def wait(self, timeout: float = 120.0) -> SippResult:
        assert self.process is not None
        return await self.process.wait(timeout)

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.kill()
