"""The operators' hours told to the PBX, so it routes calls by them when the controller is down.

The controller sets the PBX's global variable ``HOTLINE_OPEN_WINDOWS`` over AMI (``Setvar``,
class ``call``) at each login and every minute: the open spans of the next days as epoch
seconds, ``start-end/start-end/...`` (the dialplan's [hotline-fallback] reads it with CUT and
FIELDQTY). The PBX keeps it only while it runs: after a restart with the controller down it
has none, and the dialplan takes that as closed (fail closed). An empty value means closed
for the whole horizon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from base.clock import Clock
from hours.service import HoursError, Schedule, open_windows

log = logging.getLogger("hours.handlers")

__all__ = ["WINDOWS_VARIABLE", "OpenWindowsPublisher", "format_windows"]

WINDOWS_VARIABLE = "HOTLINE_OPEN_WINDOWS"
PUBLISH_DAYS = 7  # a controller down longer than this leaves the PBX closed, not guessing
REPUBLISH_EVERY_S = 60.0


def format_windows(spans: Sequence[tuple[datetime, datetime]]) -> str:
    """``start-end/start-end`` in whole epoch seconds (start rounded up, end down)."""
    parts = []
    for begin, end in spans:
        start = int(begin.timestamp()) + (begin.microsecond > 0)
        finish = int(end.timestamp())
        if finish > start:
            parts.append(f"{start}-{finish}")
    return "/".join(parts)


class Ami(Protocol):
    async def action(self, name: str, **fields: Any) -> Any: ...  # noqa: E704


@dataclass
class OpenWindowsPublisher:
    schedule: Any  # () -> Schedule: the operators' hours as the admin last set them
    tz: str
    clock: Clock
    days: int = PUBLISH_DAYS
    every_s: float = REPUBLISH_EVERY_S

    def value(self) -> str:
        """What the PBX is told now: the windows, or '' (closed) when the hours are unknown."""
        try:
            schedule: Schedule = self.schedule()
            return format_windows(open_windows(schedule, self.clock.now(), self.tz, self.days))
        except (HoursError, ValueError, LookupError) as error:
            log.error("operators' hours unknown, the PBX is told closed: %s", error)
            return ""

    async def publish(self, ami: Ami) -> None:
        await ami.action("Setvar", Variable=WINDOWS_VARIABLE, Value=self.value())

    async def run(self, ami: Ami) -> None:
        """Publish every `every_s` (hours change, the horizon moves on); failures are logged
        and retried next time (the login callback publishes after a reconnect anyway)."""
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.publish(ami)
            except Exception as error:  # noqa: BLE001 - not connected now: the next round or login
                log.debug("open windows not published: %s", error)
