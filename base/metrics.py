"""Latency samples from the flows, shipped to Redis in batches for benchmarks and the console.

`record` is called on the hot path (after a caller's key press): it only appends to a list.
The controller flushes the list to `<prefix>:metrics:<name>` once a second.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("base.metrics")

KEEP = 200_000


class Samples:
    def __init__(self, name: str) -> None:
        self.name = name
        self._pending: list[float] = []

    def record(self, ms: float) -> None:
        self._pending.append(round(ms, 2))

    def drain(self) -> list[float]:
        pending, self._pending = self._pending, []
        return pending


async def flush_forever(samples: list[Samples], redis: object, prefix: str, every: float = 1.0) -> None:
    while True:
        await asyncio.sleep(every)
        for s in samples:
            batch = s.drain()
            if not batch:
                continue
            key = f"{prefix}:metrics:{s.name}"
            try:
                await redis.rpush(key, *batch)  # type: ignore[attr-defined]
                await redis.ltrim(key, -KEEP, -1)  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - metrics are best effort
                log.debug("metrics flush failed: %s", exc)
