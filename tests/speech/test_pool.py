"""The recognition pool: worker threads off the event loop, a bounded queue, None when overloaded."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from speech.engine import Expect, Hypothesis, Transcript
from speech.pool import RecognitionPool


@dataclass
class Understood:
    value: str | None
    confidence: float
    text: str
    alternatives: tuple[str, ...] = ()
    zones: dict | None = None


def understand(transcript, expect, context):  # type: ignore[no-untyped-def]
    text = transcript.text
    digits = "".join(ch for ch in text if ch.isdigit())
    return Understood(digits or None, 0.9, text, ("x",))


class SlowEngine:
    name = "slow"
    made: ClassVar[list[int]] = []

    def __init__(self, seconds: float, gate: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.gate = gate
        SlowEngine.made.append(threading.get_ident())

    def transcribe(self, audio, expect):  # type: ignore[no-untyped-def]
        if self.gate is not None:
            self.gate.wait(5)
        time.sleep(self.seconds)
        return Transcript((Hypothesis(f"{len(audio)}", 0.8),), self.name, len(audio) // 16, self.seconds * 1000)


async def test_recognises_off_the_loop_with_one_engine_per_worker() -> None:
    SlowEngine.made = []
    pool = RecognitionPool(lambda: SlowEngine(0.2), workers=2, max_queue=2, understand=understand)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    results = await asyncio.gather(*(pool.recognize(np.zeros(16000 + i, np.float32), Expect.NUMBER)
                                     for i in range(3)))
    t.cancel()
    pool.close()
    assert [r.value for r in results] == ["16000", "16001", "16002"]
    assert all(r.engine == "slow" and r.ms >= 200 for r in results)
    assert ticks >= 20  # the loop kept running while the engines worked
    assert len(set(SlowEngine.made)) == 2  # one engine per worker thread
    assert pool.done == 3 and pool.queue_depth == 0 and pool.busy_workers == 0


async def test_full_queue_returns_none_at_once() -> None:
    gate = threading.Event()
    pool = RecognitionPool(lambda: SlowEngine(0.0, gate), workers=1, max_queue=1, max_wait_s=10,
                           understand=understand)
    audio = np.zeros(1600, np.float32)
    first = asyncio.create_task(pool.recognize(audio, Expect.NUMBER))
    second = asyncio.create_task(pool.recognize(audio, Expect.NUMBER))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    assert await pool.recognize(audio, Expect.NUMBER) is None  # worker busy, queue full
    assert time.monotonic() - started < 0.05
    assert pool.overloaded == 1 and pool.queue_depth == 1 and pool.busy_workers == 1
    gate.set()
    assert (await first) is not None and (await second) is not None
    pool.close()


async def test_waiting_longer_than_the_bound_returns_none() -> None:
    gate = threading.Event()
    pool = RecognitionPool(lambda: SlowEngine(0.0, gate), workers=1, max_queue=5, max_wait_s=0.3,
                           understand=understand)
    audio = np.zeros(1600, np.float32)
    busy = asyncio.create_task(pool.recognize(audio, Expect.NUMBER))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    assert await pool.recognize(audio, Expect.NUMBER) is None
    waited = time.monotonic() - started
    assert 0.25 < waited < 0.6, waited
    assert pool.queue_depth == 0
    gate.set()
    assert (await busy) is not None
    pool.close()


async def test_expected_wait_refuses_early() -> None:
    pool = RecognitionPool(lambda: SlowEngine(0.3), workers=1, max_queue=10, max_wait_s=0.5,
                           understand=understand)
    audio = np.zeros(1600, np.float32)
    assert await pool.recognize(audio, Expect.NUMBER) is not None  # learns ~300 ms a job
    tasks = [asyncio.create_task(pool.recognize(audio, Expect.NUMBER)) for _ in range(2)]
    await asyncio.sleep(0.02)
    started = time.monotonic()
    assert await pool.recognize(audio, Expect.NUMBER) is None  # ~600 ms ahead: refused now
    assert time.monotonic() - started < 0.05
    assert all(r is not None for r in await asyncio.gather(*tasks))
    pool.close()
