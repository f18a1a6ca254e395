"""Fixed-window rate limits in Redis, for the website's public form.

One counter per (scope, key, window): ``INCR`` then ``EXPIRE`` in one transaction. Simple,
and good enough against a script hammering the form: at most ``2 * limit`` requests can
pass across a window boundary. Keys built from phone numbers are hashed, so no number is
stored in Redis in the clear.
"""

from __future__ import annotations

import hashlib
import math

import redis.asyncio as aioredis

__all__ = ["FixedWindowLimiter", "hashed"]


def hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


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
        return max(1, math.ceil((window + 1) * window_s - now))
