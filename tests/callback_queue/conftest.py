"""Fixtures of the callback tests: the shared database fixtures, and a real Redis server.

The Redis server is Debian's ``redis-server``, started once per session on a free loopback
port in a folder of its own, and flushed before each test that uses it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from db_fixtures import *  # noqa: E402,F401,F403
from db_fixtures import free_port  # noqa: E402


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from base.settings import Settings
    from hotline.stack import redis as redis_stack

    folder = Path(tempfile.mkdtemp(prefix="hotline-redis-", dir="/tmp"))
    settings = Settings(env="test", data_dir=folder, redis_port=free_port())
    try:
        redis_stack.start(settings)  # the project's own start: waits until it answers PING
    except (redis_stack.RedisError, TimeoutError) as error:
        pytest.fail(f"redis-server did not start: {error}")
    try:
        yield settings.redis_dsn
    finally:
        redis_stack.stop(settings)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def aredis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()
