"""The commands a person runs against the real stack: `hotline up` run again, `hotline call`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import Stack, poll

from base.privacy import mask_phone
from hotline.stack import stack as parts
from hotline.stack.stack import settings_env
from telephony.sipp import Go, Hangup

pytestmark = pytest.mark.stack


async def hotline(e2e: Stack, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run the `hotline` command against the test stack (its settings as HOTLINE_* variables)."""
    exe = str(Path(sys.executable).with_name("hotline"))
    env = {**os.environ, **settings_env(e2e.settings)}
    return await asyncio.to_thread(
        subprocess.run, [exe, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


async def controller_back(e2e: Stack, before: str | None) -> None:
    await poll(lambda: e2e.synced_at() not in (None, before), 30, "the controller to log in again")


async def test_up_again_starts_what_is_missing_and_leaves_the_rest_alone(e2e: Stack) -> None:
    s = e2e.settings
    before = parts.running(s)
    assert before["asterisk"] and before["redis"] and before["controller"], before
    prompt = s.pbx_instance_dir / "sounds" / "disclosure.wav"
    prompt_stamp = prompt.stat().st_mtime_ns
    synced = e2e.synced_at()

    parts.stop_controller(s, kill=True)  # a crash
    assert parts.running(s)["controller"] is None

    started = await asyncio.to_thread(parts.start_all, s, False)

    after = parts.running(s)
    assert started.started == ["controller"], started
    assert started.running == ["redis", "asterisk"], started
    assert after["asterisk"] == before["asterisk"] and after["redis"] == before["redis"]
    assert after["controller"] not in (None, before["controller"])
    # Asterisk's prompts were not rewritten under it (a call may be playing them).
    assert prompt.stat().st_mtime_ns == prompt_stamp
    await controller_back(e2e, synced)

    # The controller that came back serves calls.
    caller = await e2e.call(s.hotline_number, [Go(), Hangup()])
    call = await e2e.wait_event(caller.caller_id, "flow")
    assert call.disclosure_at is not None
    await caller.go(e2e.ami)
    assert (await caller.wait(30)).ok


async def test_call_shows_the_record_of_the_call_it_made(e2e: Stack) -> None:
    number = e2e.new_caller_id()
    done = await hotline(e2e, "call", s_number(e2e), "--from", number, "--seconds", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    record = await e2e.wait_ended(number)
    line = done.stdout.strip().splitlines()[-1]
    assert mask_phone(number) in line and f"{record.started_at:%Y-%m-%d %H:%M:%S}" in line, done.stdout


async def test_call_says_no_record_was_written_when_none_was(e2e: Stack) -> None:
    """With the controller down no record is written: the command says so, instead of showing
    the record of this number's previous call."""
    number = e2e.new_caller_id()
    first = await hotline(e2e, "call", s_number(e2e), "--from", number, "--seconds", "1")
    assert first.returncode == 0, first.stdout + first.stderr
    previous = await e2e.wait_ended(number)

    synced = e2e.synced_at()
    parts.stop_controller(e2e.settings)
    try:
        done = await hotline(e2e, "call", s_number(e2e), "--from", number, "--seconds", "1")
    finally:
        await asyncio.to_thread(parts.start_controller, e2e.settings)
        await controller_back(e2e, synced)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no call record was written for this call" in done.stderr
    assert f"{previous.started_at:%Y-%m-%d %H:%M:%S}" not in done.stdout
    assert "call completed" in done.stdout  # the call itself went through: only its record is missing


def s_number(e2e: Stack) -> str:
    return e2e.settings.hotline_number
