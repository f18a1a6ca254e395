"""The live callback queue and its locks, in Redis. The database stays the truth.

- ``<prefix>:callbacks:due`` is a sorted set of scheduled order ids, scored by their due
  time (epoch seconds): what the dialers read to find work, and what a console can show.
  It is rebuilt from the database when a dialer starts, and again every few seconds, so
  orders written by other processes (the IVR) or lost with Redis come back by themselves.
- ``<prefix>:callbacks:lock:<name>`` are leases (``SET key owner NX PX ttl``): one for each
  order being dialled, one for each operator being rung. A lease expires by itself if its
  holder dies, and is refreshed or released only by its holder (compare-and-set in Lua), so
  a slow holder whose lease expired cannot delete the lease a second dialer took since.

A lease keeps two dialers from working on one order at the same time; the conditional
UPDATE in :func:`callback_queue.service.claim` keeps them from dialling it twice even when
Redis is away.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis.asyncio as aioredis

__all__ = ["CallbackQueue"]

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""

_REFRESH = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


def _score(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware value")
    return at.timestamp()


class CallbackQueue:
    def __init__(self, redis: aioredis.Redis, prefix: str = "hotline") -> None:
        self.redis = redis
        self.prefix = prefix
        self._release = redis.register_script(_RELEASE)
        self._refresh = redis.register_script(_REFRESH)

    @property
    def due_key(self) -> str:
        return f"{self.prefix}:callbacks:due"

    def lock_key(self, name: str) -> str:
        return f"{self.prefix}:callbacks:lock:{name}"

    # -- the queue -------------------------------------------------------------------------

    async def add(self, order_id: int, due_at: datetime) -> None:
        await self.redis.zadd(self.due_key, {str(order_id): _score(due_at)})

    async def remove(self, order_id: int) -> None:
        await self.redis.zrem(self.due_key, str(order_id))

    async def due(self, now: datetime, limit: int = 20) -> list[int]:
        """Ids due at ``now``, the earliest due first."""
        ids = await self.redis.zrangebyscore(self.due_key, "-inf", _score(now), start=0, num=limit)
        return [int(cast(bytes, i)) for i in ids]

    async def size(self) -> int:
        return int(await self.redis.zcard(self.due_key))

    async def rebuild(self, scheduled: Iterable[tuple[int, datetime]]) -> int:
        """Replace the queue with ``scheduled`` (id, due_at) read from the database, atomically."""
        mapping = {str(order_id): _score(due_at) for order_id, due_at in scheduled}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.due_key)
            if mapping:
                pipe.zadd(self.due_key, mapping)
            await pipe.execute()
        return len(mapping)

    # -- leases ----------------------------------------------------------------------------

    async def lock(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take the lease ``name`` for ``owner`` unless someone holds it."""
        return bool(await self.redis.set(self.lock_key(name), owner, nx=True, px=ttl_ms))

    async def refresh(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Extend the lease if ``owner`` still holds it."""
        result: Any = await self._refresh(keys=[self.lock_key(name)], args=[owner, ttl_ms])
        return bool(result)

    async def release(self, name: str, owner: str) -> bool:
        """Drop the lease if ``owner`` still holds it; False if it expired or is someone else's."""
        result: Any = await self._release(keys=[self.lock_key(name)], args=[owner])
        return bool(result)

    async def holder(self, name: str) -> str | None:
        value = await self.redis.get(self.lock_key(name))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)
