"""The controller: one asyncio service per PBX node.

It keeps the AMI session (reconnecting with backoff and resynchronising calls after each
login), serves FastAGI flows and AudioSocket audio, and writes call records. The parts are
built and wired together in `hotline.wiring`; this class only starts and stops them.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("hotline.controller")


@dataclass
class Controller:
    ami: Any
    agi: Any
    audio: Any
    tracker: Any
    redis: Any = None
    background: list[Any] = field(default_factory=list)  # coroutine factories run while up
    closers: list[Any] = field(default_factory=list)  # sync or async callables run at stop
    _ami_task: asyncio.Task[None] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.tracker.start()
        await self.agi.start()
        await self.audio.start()
        self._ami_task = asyncio.create_task(self.ami.run(), name="ami")
        self._tasks = [asyncio.create_task(factory()) for factory in self.background]
        log.info("controller started: FastAGI on port %s, AudioSocket on port %s",
                 self.agi.port, self.audio.port)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for close in self.closers:
            result = close()
            if asyncio.iscoroutine(result):
                await result
        await self.ami.close()
        if self._ami_task is not None:
            self._ami_task.cancel()
            await asyncio.gather(self._ami_task, return_exceptions=True)
        await self.agi.stop()
        await self.audio.stop()
        await self.tracker.stop()
        if self.redis is not None:
            await self.redis.aclose()
        log.info("controller stopped")

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
