"""The live queue and leases, against a real Redis server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from harness import poll

from callback_queue.queue import CallbackQueue

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


@pytest.fixture
def queue(aredis: aioredis.Redis) -> CallbackQueue:
    return CallbackQueue(aredis, "t")


async def test_due_ids_earliest_first(queue: CallbackQueue) -> None:
    await queue.add(3, NOW - timedelta(minutes=1))
    await queue.add(1, NOW - timedelta(minutes=5))
    await queue.add(2, NOW + timedelta(minutes=5))
    assert await queue.due(NOW) == [1, 3]
    assert await queue.due(NOW + timedelta(minutes=5)) == [1, 3, 2]
    assert await queue.due(NOW, limit=1) == [1]
    await queue.remove(1)
    assert await queue.due(NOW) == [3]


async def test_rebuild_replaces_the_queue(queue: CallbackQueue) -> None:
    await queue.add(9, NOW)
    assert await queue.rebuild([(1, NOW), (2, NOW + timedelta(hours=1))]) == 2
    assert await queue.due(NOW + timedelta(hours=2)) == [1, 2]
    assert await queue.rebuild([]) == 0
    assert await queue.size() == 0


async def test_of_two_claimers_only_one_gets_the_lease(aredis: aioredis.Redis) -> None:
    one, two = CallbackQueue(aredis, "t"), CallbackQueue(aredis, "t")  # two controllers
    results = [await one.lock("order:5", "pbx1:a", 10_000), await two.lock("order:5", "pbx2:b", 10_000)]
    assert results == [True, False]
    assert await two.holder("order:5") == "pbx1:a"


async def test_only_the_owner_releases_or_refreshes(queue: CallbackQueue) -> None:
    assert await queue.lock("order:5", "pbx1:a", 10_000)
    assert not await queue.release("order:5", "pbx2:b")
    assert not await queue.refresh("order:5", "pbx2:b", 10_000)
    assert await queue.holder("order:5") == "pbx1:a"
    assert await queue.refresh("order:5", "pbx1:a", 20_000)
    assert await queue.release("order:5", "pbx1:a")
    assert await queue.holder("order:5") is None


async def test_an_expired_lease_is_not_released_by_its_old_owner(queue: CallbackQueue) -> None:
    assert await queue.lock("order:5", "pbx1:a", 50)
    await poll(lambda: _gone(queue), 5, "the lease to expire", interval=0.02)
    assert await queue.lock("order:5", "pbx2:b", 10_000)  # taken over by another dialer
    assert not await queue.release("order:5", "pbx1:a")  # the slow first holder
    assert await queue.holder("order:5") == "pbx2:b"


async def _gone(queue: CallbackQueue) -> bool:
    return await queue.holder("order:5") is None
