"""Session fixtures: the real stack (tests/harness.py), started once, cleaned between tests."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from harness import Stack, poll, test_settings  # noqa: E402

from db_fixtures import free_port  # noqa: E402

from hotline.stack import stack as stack_parts  # noqa: E402
from hotline.stack.postgres import PostgresServer  # noqa: E402


@pytest.fixture(scope="session")
def stack_postgres() -> Iterator[PostgresServer]:
    """The e2e stack's database: a private PostgreSQL, the database production uses. SQLite
    stays covered by the unit and database tiers."""
    # Not under the stack's data dir: its 0700 parent keeps the postgres OS user out.
    base_dir = Path(tempfile.mkdtemp(prefix="hotline-e2e-pg-", dir="/tmp"))
    base_dir.chmod(0o755)
    server = PostgresServer(base_dir, free_port(), durable=False)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack_settings(stack_postgres: PostgresServer) -> Iterator:
    # A short path under /tmp: it ends up in Asterisk's socket paths and sipp's folders.
    data_dir = Path(tempfile.mkdtemp(prefix="hotline-e2e-", dir="/tmp"))
    settings = test_settings(data_dir, stack_postgres.url)
    yield settings


@pytest.fixture(scope="session")
async def stack(stack_settings) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    settings = stack_settings
    stack_parts.stop_all(settings)  # a previous run killed hard may have left parts behind
    try:
        stack_parts.start_all(settings, console=False)
        harness = Stack(settings, settings.data_dir / "work")
        ami = harness.ami_client()
        task = asyncio.create_task(ami.run())
        await ami.wait_connected(timeout=30)
        harness.ami = ami
        await poll(lambda: controller_synced(harness), 30, "the controller to log in to AMI")
        yield harness
        await ami.close()
        task.cancel()
    finally:
        stack_parts.stop_all(settings)


def controller_synced(harness: Stack) -> bool:
    return harness.synced_at() is not None


@pytest.fixture
async def e2e(stack: Stack) -> AsyncIterator[Stack]:
    """The stack, with no channel left over from the previous test and default admin settings."""
    await stack.hangup_all()
    yield stack
    for key in ("hours.operators", "hours.callbacks", "queue"):
        stack.clear_config(key)
