"""Live state and events in Redis: what the console and the tests watch.

The database is the truth; this is what is happening now. `publish` sends one JSON object
on the `<prefix>:events` channel; live calls are kept in the `<prefix>:calls:live` hash
(rebuilt from the database and AMI after a restart). Redis being away never stops a call:
failures are logged (at most once a minute) and dropped.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger("base.events")


class EventBus:
    def __init__(self, client: aioredis.Redis | None, prefix: str = "hotline") -> None:
        self.client = client
        self.prefix = prefix
        self._last_warning = 0.0

    @property
    def channel(self) -> str:
        return f"{self.prefix}:events"

    @property
    def live_key(self) -> str:
        return f"{self.prefix}:calls:live"

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._last_warning > 60:
            self._last_warning = time.monotonic()
            log.warning("Redis unavailable, live events dropped: %s", exc)

    async def publish(self, kind: str, **data: Any) -> None:
        if self.client is None:
            return
        try:
            await self.client.publish(self.channel, json.dumps({"kind": kind, **data}, default=str))
        except Exception as exc:  # noqa: BLE001 - live events are best effort
            self._warn(exc)

    async def mark(self, name: str, value: str) -> None:
        """A named fact about the controller (`<prefix>:state` hash), e.g. when AMI last synced."""
        if self.client is None:
            return
        try:
            await self.client.hset(f"{self.prefix}:state", name, value)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    async def has_mark(self, name: str) -> bool | None:
        """Is the named fact in `<prefix>:state`? None when Redis does not answer. A Redis that
        answers without the controller's marks has restarted empty: its live state is gone."""
        if self.client is None:
            return None
        try:
            return bool(await self.client.hexists(f"{self.prefix}:state", name))
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)
            return None

    async def set_live(self, linkedid: str, state: dict[str, Any] | None) -> None:
        if self.client is None:
            return
        try:
            if state is None:
                await self.client.hdel(self.live_key, linkedid)
            else:
                await self.client.hset(self.live_key, linkedid, json.dumps(state, default=str))
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    async def replace_live(self, states: dict[str, dict[str, Any]]) -> None:
        if self.client is None:
            return
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(self.live_key)
                if states:
                    pipe.hset(self.live_key, mapping={k: json.dumps(v, default=str) for k, v in states.items()})
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)
