"""Fixed-window rate limits for the website's public form: in Redis, and in this process.

One counter per (scope, key, window): ``INCR`` then ``EXPIRE`` in one transaction. Simple,
and good enough against a script hammering the form: at most ``2 * limit`` requests can
pass across a window boundary. Keys built from phone numbers and addresses are HMACs with a
secret (:func:`hashed`), so neither is stored in Redis in the clear nor found again by
hashing every phone number.

:class:`MemoryLimiter` counts the same windows in this process, always: when Redis does not
answer, its counts decide, so the limits still hold (per console process) instead of
letting everyone through.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading

import redis.asyncio as aioredis

__all__ = ["FixedWindowLimiter", "MemoryLimiter", "hashed"]


def hashed(value: str, secret: str) -> str:
    """A key for ``value`` (a phone number, an address) that does not reveal it."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _retry_after(window: int, window_s: int, now: float) -> int:
    return max(1, math.ceil((window + 1) * window_s - now))


class MemoryLimiter:
    """The same fixed windows as :class:`FixedWindowLimiter`, counted in this process."""

    MAX_KEYS = 100_000  # a flood of distinct keys cannot grow it without bound

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, scope: str, key: str, limit: int, window_s: int, now: float) -> int | None:
        window = int(now // window_s)
        with self._lock:
            if len(self._counts) >= self.MAX_KEYS:
                self._prune(now)
            slot = (scope, key, window_s, window)
            count = self._counts.get(slot, 0) + 1
            self._counts[slot] = count
        return None if count <= limit else _retry_after(window, window_s, now)

    def _prune(self, now: float) -> None:
        for slot in [s for s in self._counts if s[3] < int(now // s[2])]:
            del self._counts[slot]
        if len(self._counts) >= self.MAX_KEYS:  # all current: keep the global counters only
            for slot in [s for s in self._counts if s[0] != "all"]:
                del self._counts[slot]


class FixedWindowLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str = "hotline") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, scope: str, key: str, limit: int, window_s: int, now: float) -> int | None:
        """Count one request; the seconds to wait if it is over ``limit``, else None.

        ``now`` is the epoch time in seconds (from the app's clock, so tests control it).
        """
        window = int(now // window_s)
        redis_key = f"{self.prefix}:callbacks:rate:{scope}:{key}:{window}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_s + 1)
            count, _ = await pipe.execute()
        if int(count) <= limit:
            return None
        return _retry_after(window, window_s, now)
