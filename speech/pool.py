"""Recognition off the event loop: worker threads, one engine each, and a bounded queue.

A call waiting for its answer must not wait behind a pile of others: when the queue is full,
or the wait it would face is longer than `max_wait_s`, `recognize` returns None at once (or
as soon as that is known) and the flow falls back to the keypad. Work that never started is
cancelled; work that started finishes in its thread and is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from speech.engine import Engine, Expect

log = logging.getLogger("speech.pool")


@dataclass(frozen=True)
class Recognition:
    text: str
    value: str | None
    confidence: float
    alternatives: tuple[str, ...]
    zones: dict[str, str] | None
    ms: float  # from the request to the result, queue included
    engine: str
    decode_ms: float = 0.0  # the engine's own time


def _understand(transcript: Any, expect: Expect, context: Any) -> Any:
    from speech.understanding import understand

    return understand(transcript, expect, context)


class RecognitionPool:
    """`workers` threads, each with its own engine from `engine_factory()` (made lazily in
    the thread); at most `max_queue` requests waiting for a worker."""

    def __init__(
        self,
        engine_factory: Callable[[], Engine],
        workers: int = 1,
        max_queue: int = 4,
        max_wait_s: float = 2.0,
        understand: Callable[[Any, Expect, Any], Any] = _understand,
        latency: Any = None,  # base.metrics.Samples: ms from request to result
    ) -> None:
        self.engine_factory = engine_factory
        self.workers = max(1, workers)
        self.max_queue = max(0, max_queue)
        self.max_wait_s = max_wait_s
        self.understand = understand
        self.latency = latency
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="asr")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._queued = 0
        self._busy = 0
        self._avg_ms = 0.0  # moving average of one recognition's work
        self.done = 0
        self.overloaded = 0
        self._closed = False

    # -- metrics ---------------------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return self._queued

    @property
    def busy_workers(self) -> int:
        return self._busy

    def stats(self) -> dict[str, Any]:
        return {"queue_depth": self._queued, "busy_workers": self._busy, "workers": self.workers,
                "avg_ms": round(self._avg_ms, 1), "done": self.done, "overloaded": self.overloaded}

    # -- work ------------------------------------------------------------------------------

    def _engine(self) -> Engine:
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self.engine_factory()
        return engine

    def warm(self) -> None:
        """Make every worker's engine now (blocking), so the first caller does not wait."""
        barrier = threading.Barrier(self.workers)

        def make() -> None:
            self._engine()
            barrier.wait(timeout=120)

        for f in [self._executor.submit(make) for _ in range(self.workers)]:
            f.result()

    def _run(self, audio: np.ndarray, expect: Expect, context: Any, asked: float) -> Recognition:
        with self._lock:
            self._queued -= 1
            self._busy += 1
        started = time.monotonic()
        try:
            engine = self._engine()
            transcript = engine.transcribe(audio, expect)
            understood = self.understand(transcript, expect, context)
        finally:
            work_ms = (time.monotonic() - started) * 1000
            with self._lock:
                self._busy -= 1
                self._avg_ms = work_ms if not self._avg_ms else 0.8 * self._avg_ms + 0.2 * work_ms
        return Recognition(
            text=understood.text or transcript.text,
            value=understood.value,
            confidence=float(understood.confidence),
            alternatives=tuple(understood.alternatives),
            zones=dict(understood.zones) if understood.zones else None,
            ms=(time.monotonic() - asked) * 1000,
            engine=transcript.engine,
            decode_ms=float(transcript.decode_ms),
        )

    def _expected_wait_s(self) -> float:
        """The wait a new request would face before a worker takes it."""
        waiting = self._queued + self._busy - self.workers + 1
        return max(0, waiting) * self._avg_ms / 1000 / self.workers

    async def recognize(self, audio: np.ndarray, expect: Expect, context: Any = None) -> Recognition | None:
        """The recognised utterance, or None when overloaded (the caller uses the keypad)."""
        asked = time.monotonic()
        with self._lock:
            if self._closed or self._queued >= self.max_queue + max(0, self.workers - self._busy) \
                    or self._expected_wait_s() > self.max_wait_s:
                self.overloaded += 1
                log.warning("recognition refused: %s", self.stats())
                return None
            self._queued += 1
        future: Future[Recognition] = self._executor.submit(self._run, audio, expect, context, asked)
        # Not started within max_wait_s: cancelled, the caller goes on with the keypad.
        loop = asyncio.get_running_loop()
        deadline = asked + self.max_wait_s
        wrapped = asyncio.wrap_future(future, loop=loop)
        while not future.running() and not future.done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if future.cancel():
                    with self._lock:
                        self._queued -= 1
                        self.overloaded += 1
                    log.warning("recognition waited too long in the queue: %s", self.stats())
                    return None
                break
            try:
                await asyncio.wait_for(asyncio.shield(wrapped), min(remaining, 0.05))
            except TimeoutError:
                continue
        result = await wrapped
        self.done += 1
        if self.latency is not None:
            self.latency.record(result.ms)
        return result

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
